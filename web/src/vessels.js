// The vessels the map shows: the latest position of each, from /api/v1/latest and the
// /live stream, with each record's marking. Pure: no DOM, no map (unit-tested).

/** Is (lon, lat) inside [west, south, east, north]? A box with west > east crosses the
 * antimeridian (as the API's bbox). */
export function inBox(lon, lat, [w, s, e, n]) {
  if (lat < s || lat > n) return false;
  return w <= e ? lon >= w && lon <= e : lon >= w || lon <= e;
}

const wrap = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;
const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
const r5 = (v) => Math.round(v * 1e5) / 1e5;

/** The API bbox [west, south, east, north] of a map view's bounds (longitudes wrapped
 * into [-180, 180]; a view wider than the world is the whole world). */
export function viewBox(west, south, east, north) {
  const s = r5(clampLat(south));
  const n = r5(clampLat(north));
  if (east - west >= 360) return [-180, s, 180, n];
  const w = r5(wrap(west));
  let e = r5(wrap(east));
  if (e === -180 && east > west) e = 180;
  return [w, s, e, n];
}

/** The heading a vessel is drawn with: true heading, else course over ground, else none. */
export function headingOf(item) {
  if (item.heading_deg != null && item.heading_deg >= 0 && item.heading_deg < 360) {
    return item.heading_deg;
  }
  if (item.course_deg != null && item.course_deg >= 0 && item.course_deg < 360) {
    return item.course_deg;
  }
  return null;
}

export class Vessels {
  constructor() {
    this.byMmsi = new Map();
  }

  clear() {
    this.byMmsi.clear();
  }

  get size() {
    return this.byMmsi.size;
  }

  /** Keep each vessel's newest position; returns how many vessels changed. */
  apply(items) {
    let changed = 0;
    for (const it of items) {
      if (it.mmsi == null || it.lat == null || it.lon == null) continue;
      const had = this.byMmsi.get(it.mmsi);
      if (had && had.ts > it.ts) continue;
      this.byMmsi.set(it.mmsi, it);
      changed += 1;
    }
    return changed;
  }

  get(mmsi) {
    return this.byMmsi.get(mmsi);
  }

  /** The vessels inside ``box`` (all when none), only those in the set ``only`` if given. */
  inView(box, only = null) {
    let all = [...this.byMmsi.values()];
    if (only) all = all.filter((v) => only.has(v.mmsi));
    return box ? all.filter((v) => inBox(v.lon, v.lat, box)) : all;
  }

  /** The distinct markings of the vessels shown (as ``inView``), sorted. */
  labels(box, only = null) {
    return [...new Set(this.inView(box, only).map((v) => v.label))].sort();
  }

  /** The vessels shown (as ``inView``) as GeoJSON points (``pointFeature``). */
  features(box, only = null, identities = null) {
    return {
      type: "FeatureCollection",
      features: this.inView(box, only).map((v) => pointFeature(v, identities)),
    };
  }
}

/** A position as a GeoJSON point; properties: mmsi, heading, moving, label, and from
 * ``identities`` (an Identities) the vessel's name and type class ``kind``. */
export function pointFeature(p, identities = null) {
  const heading = headingOf(p);
  const id = identities ? identities.props(p.mmsi) : { name: "", kind: "unknown" };
  return {
    type: "Feature",
    id: p.mmsi,
    properties: { mmsi: p.mmsi, heading: heading ?? 0, moving: heading != null, label: p.label, ...id },
    geometry: { type: "Point", coordinates: [p.lon, p.lat] },
  };
}

/** A track's positions (by time) as one GeoJSON line (none for fewer than two). */
export function trackLine(items) {
  const coords = items.filter((p) => p.lon != null && p.lat != null).map((p) => [p.lon, p.lat]);
  return {
    type: "FeatureCollection",
    features:
      coords.length < 2
        ? []
        : [{ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: coords } }],
  };
}

/** What a filter text asks for: ``{mmsi}`` for nine digits, ``{q}`` for a search of the
 * API (name, call sign, IMO), ``null`` for nothing. */
export function parseFilter(text) {
  const t = (text || "").trim();
  if (!t) return null;
  if (/^\d{9}$/.test(t)) return { mmsi: Number(t) };
  return { q: t };
}

/** Past this many vessels drawn, each is a dot coloured by type, without heading or name:
 * circles need no symbol layout or placement, and lean properties less copying and tiling
 * (bench/web.py; docs/map.md). */
export const DENSE_AT = 20_000;

/** ``fc``'s vessels as lean dots: properties mmsi, kind, moving (false: the dot layer),
 * name ("": no label). */
export function dense(fc) {
  return {
    type: "FeatureCollection",
    features: fc.features.map((f) => ({
      type: "Feature",
      id: f.id,
      properties: { mmsi: f.properties.mmsi, kind: f.properties.kind, moving: false, name: "" },
      geometry: f.geometry,
    })),
  };
}
