import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { basemap, maritime } from "../src/basemap.js";

const atlas = (name) =>
  JSON.parse(readFileSync(new URL(`../node_modules/world-atlas/${name}`, import.meta.url), "utf8"));

test("the basemap: land as one polygon per feature, borders as lines", () => {
  const { land, borders } = basemap(atlas("land-110m.json"), atlas("countries-110m.json"));
  assert.ok(land.features.length > 100);
  for (const f of land.features) assert.equal(f.geometry.type, "Polygon");
  assert.ok(borders.features.length > 50);
  for (const f of borders.features) assert.equal(f.geometry.type, "LineString");
  const [lon, lat] = land.features[0].geometry.coordinates[0][0];
  assert.ok(Math.abs(lon) <= 180 && Math.abs(lat) <= 90);
});

test("maritime boundaries: one polygon per part, named by country", () => {
  const src = JSON.parse(
    readFileSync(new URL("../node_modules/@osm_borders/maritime_10000m/borders.geo.json", import.meta.url), "utf8"),
  );
  const fc = maritime(src);
  assert.ok(fc.features.length >= src.features.length);
  for (const f of fc.features) assert.equal(f.geometry.type, "Polygon");
  const ind = fc.features.filter((f) => f.properties.iso === "IND");
  assert.ok(ind.length >= 1, "India's maritime boundary is there");
  const lons = ind.flatMap((f) => f.geometry.coordinates[0].map(([lon]) => lon));
  assert.ok(Math.min(...lons) < 70 && Math.max(...lons) > 92, "from the Arabian Sea to the Andamans");
  const made = maritime({
    type: "FeatureCollection",
    features: [{ type: "Feature", properties: { isoA3: "XXX" }, geometry: { type: "GeometryCollection", geometries: [
      { type: "MultiPolygon", coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3.123456], [2, 2]]]] },
      { type: "LineString", coordinates: [[0, 0], [1, 1]] },
    ] } }],
  });
  assert.equal(made.features.length, 2);
  assert.deepEqual(made.features[1].geometry.coordinates[0][2], [3, 3.1235]);
});
