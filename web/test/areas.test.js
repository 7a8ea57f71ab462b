import assert from "node:assert/strict";
import { test } from "node:test";
import { areasOf, draftOf, polygonOf, ruleOf, wktToGeoJSON } from "../src/areas.js";

test("polygonOf closes the ring; fewer than 3 points is refused", () => {
  assert.deepEqual(polygonOf([[79, 9], [80, 9], [80.1234567, 10]]), {
    type: "Polygon",
    coordinates: [[[79, 9], [80, 9], [80.123457, 10], [79, 9]]],
  });
  assert.throws(() => polygonOf([[1, 1], [2, 2]]), /at least 3/);
});

test("ruleOf: kind, zone and flags", () => {
  assert.deepEqual(ruleOf("Palk", "zone_entry", "area-1", "chn, PRK"), {
    name: "Palk: zone entry",
    kind: "zone_entry",
    zone_id: "area-1",
    flags: ["CHN", "PRK"],
  });
  assert.deepEqual(ruleOf("Palk", "gap", "area-1", ""), { name: "Palk: gap", kind: "gap", zone_id: "area-1" });
  assert.throws(() => ruleOf("x", "nope", "z", ""), /unknown rule kind/);
});

test("draftOf: vertices, then the outline closing once there are 3", () => {
  assert.equal(draftOf([[1, 1]]).features.length, 1);
  const fc = draftOf([[1, 1], [2, 2], [3, 1]]);
  assert.deepEqual(fc.features[3].geometry.coordinates, [[1, 1], [2, 2], [3, 1], [1, 1]]);
});

test("wktToGeoJSON and areasOf read the API's areas", () => {
  assert.deepEqual(wktToGeoJSON("POLYGON ((79 9, 80 9, 80 10.5, 79 9))"), {
    type: "Polygon",
    coordinates: [[[79, 9], [80, 9], [80, 10.5], [79, 9]]],
  });
  assert.deepEqual(wktToGeoJSON("MULTIPOLYGON (((1 2, 3 4, 5 -6, 1 2)))").coordinates, [[[[1, 2], [3, 4], [5, -6], [1, 2]]]]);
  assert.equal(wktToGeoJSON("POINT (1 2)"), null);
  const fc = areasOf([{ zone_id: "a", name: "n", label: "U", geometry_wkt: "POLYGON ((0 0, 1 0, 1 1, 0 0))" }]);
  assert.equal(fc.features[0].properties.zone_id, "a");
});
