// The offline basemap: Natural Earth (world-atlas TopoJSON) as GeoJSON layers MapLibre
// reads from the node: land (polygons, one feature per polygon so every tile at every
// zoom holds only what it covers; its outlines are the coastlines) and country borders
// (land borders between countries, drawn once); and maritime boundaries (OpenStreetMap's
// national boundaries with their territorial sea, from npm @osm_borders/maritime_10000m,
// ODbL: one outline feature per polygon, named by the country's ISO 3166 alpha-3 code).
import { feature, mesh } from "topojson-client";

const round = (coords) =>
  Array.isArray(coords[0]) ? coords.map(round) : coords.map((v) => Math.round(v * 1e4) / 1e4);

/** Split (Multi)Polygon features into one Polygon feature each. */
export function polygons(fc) {
  const out = [];
  for (const f of fc.features) {
    const g = f.geometry;
    const parts = g.type === "MultiPolygon" ? g.coordinates : [g.coordinates];
    for (const p of parts) {
      out.push({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: round(p) } });
    }
  }
  return { type: "FeatureCollection", features: out };
}

/** The basemap's layers from world-atlas's land and countries topologies. */
export function basemap(landTopo, countriesTopo) {
  const land = polygons(feature(landTopo, landTopo.objects.land));
  const inner = mesh(countriesTopo, countriesTopo.objects.countries, (a, b) => a !== b);
  const lines = inner.type === "MultiLineString" ? inner.coordinates : [inner.coordinates];
  const borders = {
    type: "FeatureCollection",
    features: lines.map((c) => ({
      type: "Feature",
      properties: {},
      geometry: { type: "LineString", coordinates: round(c) },
    })),
  };
  return { land, borders };
}

/** Maritime boundaries from @osm_borders' GeoJSON (a feature per country whose geometry is a
 * GeometryCollection of (Multi)Polygons): one Polygon feature per part, ``iso`` its country
 * (alpha-3), coordinates to 1e-4°. MapLibre draws their outlines. */
export function maritime(fc) {
  const out = [];
  for (const f of fc.features) {
    const iso = f.properties.isoA3 ?? "";
    const geoms = f.geometry.type === "GeometryCollection" ? f.geometry.geometries : [f.geometry];
    for (const g of geoms) {
      if (g.type !== "Polygon" && g.type !== "MultiPolygon") continue;
      const parts = g.type === "MultiPolygon" ? g.coordinates : [g.coordinates];
      for (const p of parts) {
        out.push({ type: "Feature", properties: { iso }, geometry: { type: "Polygon", coordinates: round(p) } });
      }
    }
  }
  return { type: "FeatureCollection", features: out };
}
