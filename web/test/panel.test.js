import assert from "node:assert/strict";
import { test } from "node:test";
import { PERIODS, latestValue, panelRows, trackWindow } from "../src/panel.js";

const profile = {
  mmsi: 419000001,
  flag: "IND",
  marking: "SECRET",
  identities: [
    { name: "OLD NAME", imo: null, last_seen: "2025-01-01T00:00:00Z" },
    { name: "NEW NAME", callsign: "AB12", last_seen: "2025-01-02T00:00:00Z" },
    { name: null, imo: 9123456, last_seen: "2025-01-03T00:00:00Z" },
  ],
  latest: { ts: "2025-01-03T00:00:00Z", lat: 15.1234567, lon: 84.5, speed_kn: 12.34, course_deg: 181 },
  events: [{}, {}],
};

test("latestValue takes the newest non-empty value", () => {
  assert.equal(latestValue(profile.identities, "name"), "NEW NAME");
  assert.equal(latestValue(profile.identities, "imo"), 9123456);
  assert.equal(latestValue(profile.identities, "ship_type"), null);
  assert.equal(latestValue(undefined, "name"), null);
});

test("panelRows shows identity and the latest report", () => {
  const rows = Object.fromEntries(panelRows(profile));
  assert.equal(rows.MMSI, "419000001");
  assert.equal(rows["Call sign"], "AB12");
  assert.equal(rows.Position, "15.1235, 84.5000");
  assert.equal(rows["Speed / course"], "12.3 kn / 181°");
  assert.equal(rows.Events, "2");
  assert.equal(rows["Ship type"], "—");
});

test("trackWindow: the period up to the latest report, open-ended", () => {
  assert.equal(trackWindow("2025-06-01T12:00:00Z", 6), "2025-06-01T06:00:00Z/..");
  assert.equal(trackWindow("2025-06-01T00:30:00Z", 24), "2025-05-31T00:30:00Z/..");
  assert.deepEqual(PERIODS.map(([, h]) => h), [1, 6, 24, 168]);
});
