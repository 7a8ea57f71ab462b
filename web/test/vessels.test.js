import assert from "node:assert/strict";
import { test } from "node:test";
import { Vessels, headingOf, inBox, parseFilter, trackLine, viewBox } from "../src/vessels.js";

const pos = (mmsi, ts, lon, lat, extra = {}) => ({ mmsi, ts, lon, lat, label: "SECRET", ...extra });

test("inBox: plain and antimeridian-crossing boxes", () => {
  assert.ok(inBox(10, 5, [0, 0, 20, 10]));
  assert.ok(!inBox(21, 5, [0, 0, 20, 10]));
  assert.ok(!inBox(10, 11, [0, 0, 20, 10]));
  assert.ok(inBox(179, 0, [170, -10, -170, 10]));
  assert.ok(inBox(-175, 0, [170, -10, -170, 10]));
  assert.ok(!inBox(0, 0, [170, -10, -170, 10]));
});

test("viewBox wraps longitudes, clamps latitudes, takes the world when wider", () => {
  assert.deepEqual(viewBox(70, 5, 90, 20), [70, 5, 90, 20]);
  assert.deepEqual(viewBox(170, -5, 190, 5), [170, -5, -170, 5]);
  assert.deepEqual(viewBox(-200, -95, 200, 95), [-180, -90, 180, 90]);
  assert.deepEqual(viewBox(0, 0, 180, 10), [0, 0, 180, 10]);
});

test("headingOf: heading, else course, else none (511/360 are 'not available')", () => {
  assert.equal(headingOf({ heading_deg: 10, course_deg: 20 }), 10);
  assert.equal(headingOf({ heading_deg: 511, course_deg: 20 }), 20);
  assert.equal(headingOf({ heading_deg: null, course_deg: 360 }), null);
});

test("Vessels keeps the newest position of each vessel", () => {
  const v = new Vessels();
  assert.equal(v.apply([pos(1, "2025-01-01T00:00:10Z", 1, 1), pos(2, "2025-01-01T00:00:00Z", 2, 2)]), 2);
  assert.equal(v.apply([pos(1, "2025-01-01T00:00:05Z", 9, 9)]), 0); // older: ignored
  assert.equal(v.get(1).lon, 1);
  assert.equal(v.apply([pos(1, "2025-01-01T00:00:20Z", 3, 3), { mmsi: 3, ts: "x", lat: null, lon: 1 }]), 1);
  assert.equal(v.get(1).lon, 3);
  assert.equal(v.size, 2);
});

test("Vessels in a view: features, count and distinct markings", () => {
  const v = new Vessels();
  v.apply([
    pos(1, "t", 1, 1, { heading_deg: 90, label: "SECRET//NOFORN" }),
    pos(2, "t", 2, 2, { label: "CONFIDENTIAL" }),
    pos(3, "t", 50, 2, { label: "TOP SECRET" }),
  ]);
  const box = [0, 0, 10, 10];
  const fc = v.features(box);
  assert.equal(fc.features.length, 2);
  assert.deepEqual(fc.features[0].properties, { mmsi: 1, heading: 90, moving: true, label: "SECRET//NOFORN", name: "", kind: "unknown" });
  assert.equal(fc.features[1].properties.moving, false);
  assert.deepEqual(v.labels(box), ["CONFIDENTIAL", "SECRET//NOFORN"]);
  assert.equal(v.inView().length, 3);
});

test("a filter's set narrows what is shown, counted and marked", () => {
  const v = new Vessels();
  v.apply([pos(1, "t", 1, 1, { label: "A" }), pos(2, "t", 2, 2, { label: "B" })]);
  const only = new Set([2]);
  assert.deepEqual(v.inView([0, 0, 10, 10], only).map((x) => x.mmsi), [2]);
  assert.equal(v.features(null, only).features.length, 1);
  assert.deepEqual(v.labels(null, only), ["B"]);
});

test("trackLine: a line through the positions, none for fewer than two", () => {
  assert.deepEqual(trackLine([{ lon: 1, lat: 2 }]).features, []);
  const fc = trackLine([{ lon: 1, lat: 2 }, { lon: null, lat: 3 }, { lon: 3, lat: 4 }]);
  assert.deepEqual(fc.features[0].geometry.coordinates, [[1, 2], [3, 4]]);
});

test("parseFilter: nine digits an MMSI, other text a search", () => {
  assert.deepEqual(parseFilter(" 419000001 "), { mmsi: 419000001 });
  assert.deepEqual(parseFilter("GANGA"), { q: "GANGA" });
  assert.deepEqual(parseFilter("9123456"), { q: "9123456" });
  assert.equal(parseFilter("  "), null);
});

test("dense: lean dots keep the MMSI and type class, lose heading, name and marking", async () => {
  const { DENSE_AT, dense } = await import("../src/vessels.js");
  assert.ok(DENSE_AT >= 10_000);
  const v = new Vessels();
  v.apply([pos(1, "2025-01-01T00:00:00Z", 1, 2, { heading_deg: 90 })]);
  const fc = dense(v.features(null));
  assert.deepEqual(fc.features[0].properties, { mmsi: 1, kind: "unknown", moving: false, name: "" });
  assert.deepEqual(fc.features[0].geometry.coordinates, [1, 2]);
  assert.equal(fc.features[0].id, 1);
});
