// Who each vessel says it is: name and ship type from GET /api/v1/identities (a vessel's
// naming report and, for a Class B vessel, its typed report), with the markings of the
// reports used. Pure: no DOM, no map (unit-tested).
import { typeClass } from "./types.js";

export class Identities {
  constructor() {
    this.byMmsi = new Map();
  }

  /** Replace what is known with ``items`` (rows of /api/v1/identities, newest first per
   * vessel): the name from the first row naming it, the type from the first typed row. */
  load(items) {
    this.byMmsi.clear();
    this.merge(items);
  }

  /** Add ``items`` (rows as ``load``'s): the vessels they name replace what was known of
   * them, the others stay. */
  merge(items) {
    for (const m of new Set(items.map((it) => it.mmsi))) this.byMmsi.delete(m);
    for (const it of items) {
      const had = this.byMmsi.get(it.mmsi) ?? { name: null, callsign: null, ship_type: null, labels: [] };
      const name = it.name || it.callsign || null;
      if (had.name === null && name) {
        had.name = name;
        had.labels.push(it.label);
      }
      if (had.ship_type === null && it.ship_type != null) {
        had.ship_type = it.ship_type;
        if (!had.labels.includes(it.label)) had.labels.push(it.label);
      }
      this.byMmsi.set(it.mmsi, had);
    }
  }

  /** Remember ``mmsis`` as looked up: those no row named stay known, unnamed. */
  markLookedUp(mmsis) {
    for (const m of mmsis) {
      if (!this.byMmsi.has(m)) this.byMmsi.set(m, { name: null, callsign: null, ship_type: null, labels: [] });
    }
  }

  has(mmsi) {
    return this.byMmsi.has(mmsi);
  }

  /** The feature properties a vessel's identity adds: ``name`` ("" when unknown) and the
   * type class ``kind``. */
  props(mmsi) {
    const id = this.byMmsi.get(mmsi);
    return { name: id?.name ?? "", kind: typeClass(id?.ship_type ?? null) };
  }

  /** The markings of the identities of ``mmsis`` (what their names and colours show). */
  labels(mmsis) {
    const out = new Set();
    for (const m of mmsis) for (const l of this.byMmsi.get(m)?.labels ?? []) out.add(l);
    return [...out];
  }
}
