import assert from "node:assert/strict";
import { test } from "node:test";
import { Identities } from "../src/identities.js";
import { TYPE_CLASSES, UNKNOWN, colourExpression, typeClass } from "../src/types.js";
import { Vessels } from "../src/vessels.js";

test("typeClass: ITU codes to classes, unknown for none, 0 or out of range", () => {
  assert.equal(typeClass(70), "cargo");
  assert.equal(typeClass(84), "tanker");
  assert.equal(typeClass(30), "fishing");
  assert.equal(typeClass(52), "service");
  assert.equal(typeClass(55), "official");
  assert.equal(typeClass(37), "leisure");
  assert.equal(typeClass(99), "other");
  for (const code of [null, 0, 100, 255]) assert.equal(typeClass(code), UNKNOWN.key);
});

test("the type table: every code 1-99 in at most one class, colours distinct", () => {
  for (let code = 1; code < 100; code++) {
    const hits = TYPE_CLASSES.filter((c) => c.codes.some(([lo, hi]) => code >= lo && code <= hi));
    assert.ok(hits.length <= 1, `code ${code} in ${hits.length} classes`);
  }
  const colours = [...TYPE_CLASSES, UNKNOWN].map((c) => c.colour);
  assert.equal(new Set(colours).size, colours.length);
  const expr = colourExpression();
  assert.equal(expr.at(-1), UNKNOWN.colour);
  assert.equal(expr.length, 3 + 2 * TYPE_CLASSES.length);
});

test("Identities: name from the naming report, type from the typed one, both markings", () => {
  const ids = new Identities();
  ids.load([
    { mmsi: 1, name: "ALPHA", callsign: "AB12", ship_type: null, label: "CONFIDENTIAL" },
    { mmsi: 1, name: null, callsign: "AB12", ship_type: 30, label: "SECRET" },
    { mmsi: 2, name: null, callsign: "ZZ9", ship_type: 80, label: "SECRET" },
  ]);
  assert.deepEqual(ids.props(1), { name: "ALPHA", kind: "fishing" });
  assert.deepEqual(ids.props(2), { name: "ZZ9", kind: "tanker" });
  assert.deepEqual(ids.props(3), { name: "", kind: "unknown" });
  assert.deepEqual(ids.labels([1]).sort(), ["CONFIDENTIAL", "SECRET"]);
  assert.deepEqual(ids.labels([3]), []);
  const v = new Vessels();
  v.apply([{ mmsi: 1, ts: "2025-01-01T00:00:00Z", lon: 1, lat: 1, label: "C" }]);
  const f = v.features(null, null, ids).features[0];
  assert.equal(f.properties.name, "ALPHA");
  assert.equal(f.properties.kind, "fishing");
});

test("Identities.merge replaces the vessels it names, markLookedUp remembers the rest", () => {
  const ids = new Identities();
  ids.load([{ mmsi: 1, name: "A", callsign: null, ship_type: 70, label: "S" }]);
  ids.merge([{ mmsi: 2, name: "B", callsign: null, ship_type: 80, label: "C" }]);
  assert.deepEqual(ids.props(1), { name: "A", kind: "cargo" });
  assert.deepEqual(ids.props(2), { name: "B", kind: "tanker" });
  ids.merge([{ mmsi: 1, name: "A2", callsign: null, ship_type: null, label: "S" }]);
  assert.deepEqual(ids.props(1), { name: "A2", kind: "unknown" });
  ids.markLookedUp([2, 3]);
  assert.ok(ids.has(3));
  assert.deepEqual(ids.props(3), { name: "", kind: "unknown" });
  assert.deepEqual(ids.props(2), { name: "B", kind: "tanker" });
  assert.deepEqual(ids.labels([3]), []);
});
