import assert from "node:assert/strict";
import { test } from "node:test";
import { Replay, endFromInput, endInputValue, replayWindow } from "../src/replay.js";

const p = (mmsi, ts, lon, extra = {}) => ({ mmsi, ts, lon, lat: 10, label: "SECRET", ...extra });

test("each vessel at its last report at or before the time", () => {
  const r = new Replay([
    p(1, "2025-06-01T00:02:00Z", 2),
    p(1, "2025-06-01T00:00:00Z", 0),
    p(1, "2025-06-01T00:01:00Z", 1, { course_deg: 90 }),
    p(2, "2025-06-01T00:01:30Z", 5),
  ]);
  assert.equal(r.size, 2);
  assert.equal(r.first, Date.parse("2025-06-01T00:00:00Z"));
  assert.equal(r.last, Date.parse("2025-06-01T00:02:00Z"));
  const at = (iso) => r.at(Date.parse(iso)).map((x) => [x.mmsi, x.lon]);
  assert.deepEqual(at("2025-06-01T00:00:30Z"), [[1, 0]]);
  assert.deepEqual(at("2025-06-01T00:01:00Z"), [[1, 1]]);
  assert.deepEqual(at("2025-06-01T00:01:45Z"), [[1, 1], [2, 5]]);
  assert.deepEqual(at("2025-06-01T01:00:00Z"), [[1, 2], [2, 5]]);
  const fc = r.features(Date.parse("2025-06-01T00:01:10Z"));
  assert.deepEqual(fc.features[0].properties, { mmsi: 1, heading: 90, moving: true, label: "SECRET", name: "", kind: "unknown" });
});

test("the end field shows and reads UTC to the minute", () => {
  assert.equal(endInputValue("2025-06-01T03:04:59Z"), "2025-06-01T03:04");
  assert.equal(endInputValue("2025-06-01T05:04:00+02:00"), "2025-06-01T03:04");
  assert.equal(endInputValue(""), "");
  assert.equal(endFromInput("2025-06-01T03:04"), "2025-06-01T03:04:00Z");
  assert.equal(endFromInput(""), null);
  assert.equal(endFromInput("junk"), null);
  assert.equal(endFromInput(endInputValue("2025-12-31T23:59:00Z")), "2025-12-31T23:59:00Z");
});

test("replayWindow: hours up to the end", () => {
  assert.equal(replayWindow("2025-06-01T03:00:00Z", 2), "2025-06-01T01:00:00Z/2025-06-01T03:00:00Z");
});

test("events appear at their start and stay, open until they end", () => {
  const ev = (id, start, end, lon = 1) => ({ event_id: id, event_type: "gap", mmsi: 1, start_ts: start, end_ts: end, lon, lat: 2, label: "SECRET" });
  const r = new Replay([], [
    ev("b", "2025-06-01T00:10:00Z", null),
    ev("a", "2025-06-01T00:05:00Z", "2025-06-01T00:07:00Z"),
    ev("c", "2025-06-01T00:01:00Z", null, null), // no place: not drawn
  ]);
  const ids = (iso) => r.eventsAt(Date.parse(iso)).map((e) => e.event_id);
  assert.deepEqual(ids("2025-06-01T00:04:59Z"), []);
  assert.deepEqual(ids("2025-06-01T00:05:00Z"), ["a"]);
  assert.deepEqual(ids("2025-06-01T00:12:00Z"), ["a", "b"]);
  const open = (iso) => r.eventFeatures(Date.parse(iso)).features.map((f) => [f.properties.event_id, f.properties.open]);
  assert.deepEqual(open("2025-06-01T00:06:00Z"), [["a", true]]);
  assert.deepEqual(open("2025-06-01T00:12:00Z"), [["a", false], ["b", true]]);
});
