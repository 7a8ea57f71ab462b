// Areas and alert rules: draw a polygon on the map, name it, attach a rule; both made
// through the API (POST /api/v1/areas, POST /api/v1/alert-rules). The areas the reader
// may read are drawn (GET /api/v1/areas) and their markings join the banner's.

export const RULE_KINDS = ["zone_entry", "zone_exit", "gap", "encounter", "loitering"];

/** A closed GeoJSON polygon from the clicked vertices ([lon, lat], at least 3). */
export function polygonOf(vertices) {
  if (vertices.length < 3) throw new Error("an area needs at least 3 points");
  const ring = vertices.map(([lon, lat]) => [Math.round(lon * 1e6) / 1e6, Math.round(lat * 1e6) / 1e6]);
  return { type: "Polygon", coordinates: [[...ring, ring[0]]] };
}

/** The rule made for an area: its kind, the area as its zone, optional flags. */
export function ruleOf(name, kind, zoneId, flagsText) {
  if (!RULE_KINDS.includes(kind)) throw new Error(`unknown rule kind ${kind}`);
  const flags = (flagsText || "")
    .split(/[\s,]+/)
    .map((f) => f.trim().toUpperCase())
    .filter(Boolean);
  return { name: `${name}: ${kind.replace("_", " ")}`, kind, zone_id: zoneId, ...(flags.length ? { flags } : {}) };
}

/** The draft being drawn, as GeoJSON (the outline so far and its vertices). */
export function draftOf(vertices) {
  const features = vertices.map((c) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: c } }));
  if (vertices.length >= 2) {
    const ring = vertices.length >= 3 ? [...vertices, vertices[0]] : vertices;
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: ring } });
  }
  return { type: "FeatureCollection", features };
}

/** A WKT POLYGON or MULTIPOLYGON (as the API lists areas) as a GeoJSON geometry. */
export function wktToGeoJSON(wkt) {
  const m = /^\s*(MULTIPOLYGON|POLYGON)\s*(\(.*\))\s*$/i.exec(wkt || "");
  if (!m) return null;
  const nested = JSON.parse(
    m[2]
      .replace(/\(/g, "[")
      .replace(/\)/g, "]")
      .replace(/(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)/g, "[$1,$2]"),
  );
  return { type: m[1].toUpperCase() === "POLYGON" ? "Polygon" : "MultiPolygon", coordinates: nested };
}

/** Stored areas (items of GET /api/v1/areas) as GeoJSON features. */
export function areasOf(items) {
  return {
    type: "FeatureCollection",
    features: items
      .map((a) => ({
        type: "Feature",
        properties: { zone_id: a.zone_id, name: a.name, label: a.label },
        geometry: wktToGeoJSON(a.geometry_wkt),
      }))
      .filter((f) => f.geometry),
  };
}
