import assert from "node:assert/strict";
import { test } from "node:test";
import { describe as describeIncident, evidence } from "../src/incidents.js";

const gap = {
  rank: 1,
  event_type: "gap",
  what: "dark for 3 h",
  vessel: { mmsi: 419000001, name: "GANGA", flag: "India" },
  other: null,
  start: "2025-06-01T02:00:00Z",
  end: "2025-06-01T05:00:00Z",
  place: "40 km S of Chennai",
};

test("evidence: the vessel's track an hour either side of the incident", () => {
  assert.deepEqual(evidence(gap), {
    mmsis: [419000001],
    period: "2025-06-01T01:00:00Z/2025-06-01T06:00:00Z",
  });
});

test("evidence of an encounter: both vessels; an open end uses the other end", () => {
  const enc = { ...gap, other: { mmsi: 538000002, name: null, flag: null }, end: null };
  assert.deepEqual(evidence(enc), {
    mmsis: [419000001, 538000002],
    period: "2025-06-01T01:00:00Z/2025-06-01T03:00:00Z",
  });
});

test("describe: rank, type, what, who and where", () => {
  assert.deepEqual(describeIncident(gap), {
    title: "1. gap: dark for 3 h",
    detail: "GANGA (India) · 40 km S of Chennai",
  });
  const enc = { ...gap, other: { mmsi: 538000002, name: null, flag: null } };
  assert.equal(describeIncident(enc).detail, "GANGA (India) and MMSI 538000002 · 40 km S of Chennai");
});

test("describe: an incident's kind and confidence (a shared MMSI)", () => {
  const shared = { ...gap, event_type: "spoofing", incident: "shared_mmsi", confidence: 0.5 };
  assert.deepEqual(describeIncident(shared), {
    title: "1. shared_mmsi: dark for 3 h",
    detail: "GANGA (India) · 40 km S of Chennai · confidence 0.50",
  });
});
