import assert from "node:assert/strict";
import { test } from "node:test";
import { alertText } from "../src/alerts.js";

test("alertText: rule, kind, vessels, time", () => {
  const a = { alert_id: "x", rule_id: "r1", rule_name: "Palk", kind: "zone_entry", mmsi: 1, ts: "T" };
  assert.equal(alertText(a), "Palk · zone entry · MMSI 1 · T");
  assert.equal(alertText({ ...a, rule_name: null, kind: "encounter", other_mmsi: 2 }), "r1 · encounter · MMSI 1 and 2 · T");
});
