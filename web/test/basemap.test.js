import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { basemap } from "../src/basemap.js";

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
