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

test("the panel's history, port calls, events and origins", async () => {
  const { identityRows, otherEvents, originRows, portCalls } = await import("../src/panel.js");
  const p = {
    identities: [{ name: "SEA", callsign: "AB1", imo: 9123456, ship_type: 70, first_seen: "2025-01-01T00:00:00Z", last_seen: "2025-01-02T10:30:00Z", label: "S" }],
    events: [
      { event_type: "port_visit", details: '{"port_name": "Chennai"}', start_ts: "2025-01-01T00:00:00Z", end_ts: null, label: "C" },
      { event_type: "gap", details: "{}", start_ts: "2025-01-02T00:00:00Z", end_ts: "2025-01-02T03:00:00Z", label: "S" },
      { event_type: "port_visit", details: "not json", start_ts: "2025-01-03T00:00:00Z", end_ts: null, label: "C" },
    ],
    origins: [{ marking: "S", originator: "IND", derived: false, records: 1200, nodes: ["local"] }, { marking: "C", originator: "USA", derived: false, records: 3, nodes: [] }],
  };
  assert.deepEqual(identityRows(p), [{ text: "SEA · AB1 · IMO 9123456 · Cargo (70)", when: "2025-01-01 00:00 – 2025-01-02 10:30", label: "S" }]);
  assert.deepEqual(portCalls(p).map((r) => r.text), ["unnamed port", "Chennai"]);
  assert.equal(portCalls(p)[1].when, "2025-01-01 00:00 – …");
  assert.deepEqual(otherEvents(p).map((r) => r.text), ["gap"]);
  assert.deepEqual(originRows(p).map((r) => [r.text, r.when]), [
    ["IND · node local", "1,200 records"],
    ["USA · node not known", "3 records"],
  ]);
});
