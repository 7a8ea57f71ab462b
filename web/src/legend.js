// The legend: each ship type class's colour (types.js) and how many vessels of it are drawn.
import { ALL_CLASSES } from "./types.js";

/** Fill ``el`` with the classes and the count of ``features`` (GeoJSON points with a
 * ``kind``) in each; classes with none drawn are listed too, greyed. */
export function showLegend(el, features) {
  const counts = new Map();
  for (const f of features) counts.set(f.properties.kind, (counts.get(f.properties.kind) ?? 0) + 1);
  const ul = document.createElement("ul");
  for (const c of ALL_CLASSES) {
    const li = document.createElement("li");
    li.dataset.kind = c.key;
    li.dataset.count = String(counts.get(c.key) ?? 0);
    if (!counts.get(c.key)) li.style.opacity = "0.45";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = c.colour;
    li.append(swatch, `${c.label} (${(counts.get(c.key) ?? 0).toLocaleString("en")})`);
    ul.append(li);
  }
  el.replaceChildren(ul);
}
