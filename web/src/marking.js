// The marking banner: the combined marking of what is on screen, computed by the node
// (GET /api/v1/marking, the node's policy), and the banner's colour by classification
// (the usual colours of classification banners). Pure helpers are unit-tested.

const COLOURS = [
  ["TOP SECRET", "ts"],
  ["SECRET", "s"],
  ["CONFIDENTIAL", "c"],
  ["RESTRICTED", "r"],
  ["UNCLASSIFIED", "u"],
];

/** The banner's class for a marking: its classification's colour ("other" if unknown). */
export function bannerClass(marking) {
  const level = (marking || "").split("//")[0].trim().toUpperCase();
  for (const [name, cls] of COLOURS) if (level === name) return `banner-${cls}`;
  return "banner-other";
}

/** The query string asking the node to combine ``markings`` (repeated ``of``). */
export function markingQuery(markings) {
  const q = new URLSearchParams();
  for (const m of [...new Set(markings)].sort()) q.append("of", m);
  return q.toString();
}
