// Replay: the positions of the view over a window (GET /api/v1/positions, every page),
// shown as they were at a chosen time: each vessel at its last report at or before it.
// Pure: no DOM, no map (unit-tested).
import { pointFeature } from "./vessels.js";

export const SPEEDS = [1, 10, 60, 600];

export class Replay {
  /** ``items``: positions (any order) with mmsi, ts, lon, lat, label; ``events``: the
   * events of the window (GET /api/v1/events), each shown from its start on. */
  constructor(items, events = []) {
    this.events = events
      .filter((e) => e.lon != null && e.lat != null)
      .map((e) => ({ ...e, t: Date.parse(e.start_ts), until: e.end_ts ? Date.parse(e.end_ts) : Infinity }))
      .sort((a, b) => a.t - b.t);
    this.tracks = new Map();
    for (const p of items) {
      if (p.mmsi == null || p.lat == null || p.lon == null) continue;
      const t = Date.parse(p.ts);
      if (!this.tracks.has(p.mmsi)) this.tracks.set(p.mmsi, []);
      this.tracks.get(p.mmsi).push({ ...p, t });
    }
    let first = Infinity;
    let last = -Infinity;
    for (const track of this.tracks.values()) {
      track.sort((a, b) => a.t - b.t);
      first = Math.min(first, track[0].t);
      last = Math.max(last, track[track.length - 1].t);
    }
    this.first = first;
    this.last = last;
  }

  get size() {
    return this.tracks.size;
  }

  /** Each vessel's last position at or before ``t`` (ms), for those reported by then. */
  at(t) {
    const out = [];
    for (const track of this.tracks.values()) {
      if (track[0].t > t) continue;
      let lo = 0;
      let hi = track.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (track[mid].t <= t) lo = mid;
        else hi = mid - 1;
      }
      out.push(track[lo]);
    }
    return out;
  }

  /** The events started at or before ``t`` (ms), by start. */
  eventsAt(t) {
    let n = 0;
    while (n < this.events.length && this.events[n].t <= t) n += 1;
    return this.events.slice(0, n);
  }

  /** ``eventsAt(t)`` as GeoJSON points (properties: event_id, event_type, mmsi, label,
   * and ``open``: not yet ended at ``t``). */
  eventFeatures(t) {
    return {
      type: "FeatureCollection",
      features: this.eventsAt(t).map((e) => ({
        type: "Feature",
        properties: { event_id: e.event_id, event_type: e.event_type, mmsi: e.mmsi, label: e.label, open: e.until >= t },
        geometry: { type: "Point", coordinates: [e.lon, e.lat] },
      })),
    };
  }

  /** ``at(t)`` as GeoJSON points (properties as the live vessels'). */
  features(t, identities = null) {
    return { type: "FeatureCollection", features: this.at(t).map((p) => pointFeature(p, identities)) };
  }
}

/** The value of a ``datetime-local`` input showing ``endTs`` (ISO, any zone) in UTC, to the
 * minute ("" for no time). */
export function endInputValue(endTs) {
  const ms = Date.parse(endTs);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString().slice(0, 16);
}

/** The ISO time (UTC) a ``datetime-local`` input's value names, read as UTC; null when it
 * names no time. */
export function endFromInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return null;
  const ms = Date.parse(`${value}:00Z`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace(".000Z", "Z");
}

/** The API ``datetime`` of a replay window ending at ``endTs`` (ISO) and ``hours`` long. */
export function replayWindow(endTs, hours) {
  const end = Date.parse(endTs);
  const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
  return `${iso(end - hours * 3600 * 1000)}/${iso(end)}`;
}
