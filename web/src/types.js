// Vessel colours by ship type (ITU-R M.1371 type codes), declared once: the map's paint,
// the legend and the browser tests all read this table. Pure (unit-tested).

/** Each class: its key, legend text, colour and the type codes (inclusive ranges). */
export const TYPE_CLASSES = [
  { key: "cargo", label: "Cargo", colour: "#2b9348", codes: [[70, 79]] },
  { key: "tanker", label: "Tanker", colour: "#d62828", codes: [[80, 89]] },
  { key: "passenger", label: "Passenger", colour: "#1f6feb", codes: [[60, 69]] },
  { key: "fishing", label: "Fishing", colour: "#f77f00", codes: [[30, 30]] },
  { key: "highspeed", label: "High-speed craft", colour: "#c9a000", codes: [[40, 49]] },
  { key: "service", label: "Tug, pilot, SAR, port", colour: "#0a9396", codes: [[31, 34], [50, 54], [56, 59]] },
  { key: "official", label: "Military, law enforcement", colour: "#6a1b9a", codes: [[35, 35], [55, 55]] },
  { key: "leisure", label: "Sailing, pleasure", colour: "#e5619c", codes: [[36, 37]] },
  { key: "other", label: "Other type", colour: "#495057", codes: [[1, 29], [38, 39], [90, 99]] },
];

/** Vessels that gave no ship type (or 0, "not available"). */
export const UNKNOWN = { key: "unknown", label: "Type unknown", colour: "#9aa5b1", codes: [] };

export const ALL_CLASSES = [...TYPE_CLASSES, UNKNOWN];

/** The class key of an ITU ship type code (``UNKNOWN`` for null, 0 or out of range). */
export function typeClass(code) {
  if (code == null) return UNKNOWN.key;
  for (const c of TYPE_CLASSES) {
    if (c.codes.some(([lo, hi]) => code >= lo && code <= hi)) return c.key;
  }
  return UNKNOWN.key;
}

/** A MapLibre expression: the colour of a feature's ``kind`` property. */
export function colourExpression() {
  return ["match", ["get", "kind"], ...TYPE_CLASSES.flatMap((c) => [c.key, c.colour]), UNKNOWN.colour];
}
