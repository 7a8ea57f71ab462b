// The areas' controls: "Draw area" (click the corners on the map), then name it, choose a
// rule and Save: the area and its rule are made through the API, then the stored areas are
// drawn again. Everything shown comes back from the API (never the draft alone).
import { allPages, api } from "./api.js";
import { RULE_KINDS, areasOf, draftOf, polygonOf, ruleOf } from "./areas.js";
import { AREAS, DRAFT } from "./map.js";

const $ = (id) => document.getElementById(id);

/** Wire the area controls to ``map``; ``onMarkings(markings)`` when the drawn areas change.
 * Returns ``{reload, drawing}``: reload the stored areas; is a draft being drawn. */
export function setupAreas(map, onMarkings) {
  let vertices = null; // the draft's corners while drawing, else null
  const kind = $("area-kind");
  for (const k of RULE_KINDS) {
    const opt = document.createElement("option");
    opt.value = k;
    opt.textContent = k.replace("_", " ");
    kind.append(opt);
  }

  const showDraft = () => map.getSource(DRAFT).setData(draftOf(vertices || []));
  const stop = () => {
    vertices = null;
    showDraft();
    $("area-form").hidden = true;
    map.getCanvas().style.cursor = "";
  };

  async function reload() {
    const items = await allPages("/api/v1/areas?limit=10000");
    map.getSource(AREAS).setData(areasOf(items));
    await onMarkings([...new Set(items.map((a) => a.label))]);
  }

  async function save() {
    const name = $("area-name").value.trim();
    if (!name) throw new Error("give the area a name");
    const made = await api("/api/v1/areas", {
      method: "POST",
      body: { name, geometry: polygonOf(vertices || []) },
    });
    const zoneId = made.item.zone_id;
    const rule = await api("/api/v1/alert-rules", {
      method: "POST",
      body: ruleOf(name, kind.value, zoneId, $("area-flags").value),
    });
    stop();
    await reload();
    $("area-message").textContent = `saved ${zoneId}, rule ${rule.item.rule_id}`;
    $("area-message").dataset.rule = rule.item.rule_id;
  }

  $("area-draw").addEventListener("click", () => {
    vertices = [];
    showDraft();
    $("area-form").hidden = false;
    $("area-message").textContent = "click the area's corners on the map";
    map.getCanvas().style.cursor = "crosshair";
  });
  map.on("click", (e) => {
    if (vertices === null) return;
    vertices.push([e.lngLat.lng, e.lngLat.lat]);
    showDraft();
  });
  $("area-cancel").addEventListener("click", stop);
  $("area-form").addEventListener("submit", (e) => {
    e.preventDefault();
    save().catch((err) => ($("area-message").textContent = err.message));
  });
  return { reload, drawing: () => vertices !== null };
}
