// The incidents list: the situation's ranked incidents of the view (GET /api/v1/situation)
// beside the map; choosing one flies to it and shows its evidence.

const HOUR_MS = 3600 * 1000;
const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");

/** What shows an incident: the tracks of its vessel (and the other vessel of an encounter)
 * from an hour before it starts to an hour after it ends (a gap's segment before and after).
 * ``period``: the API ``datetime`` window. */
export function evidence(inc) {
  const mmsis = [inc.vessel.mmsi];
  if (inc.other && inc.other.mmsi !== inc.vessel.mmsi) mmsis.push(inc.other.mmsi);
  const start = Date.parse(inc.start ?? inc.end);
  const end = Date.parse(inc.end ?? inc.start);
  if (Number.isNaN(start)) return { mmsis, period: ".." };
  return { mmsis, period: `${iso(start - HOUR_MS)}/${iso(end + HOUR_MS)}` };
}

/** One line of the list: rank, kind (``shared_mmsi``, an event type, ...), what, who, where
 * and how sure (the incident's confidence, docs/events.md "Incidents"). */
export function describe(inc) {
  const who = (v) => `${v.name ?? `MMSI ${v.mmsi}`}${v.flag ? ` (${v.flag})` : ""}`;
  const vessels = inc.other ? `${who(inc.vessel)} and ${who(inc.other)}` : who(inc.vessel);
  const sure = typeof inc.confidence === "number" ? ` · confidence ${inc.confidence.toFixed(2)}` : "";
  return {
    title: `${inc.rank}. ${inc.incident ?? inc.event_type}: ${inc.what}`,
    detail: `${vessels} · ${inc.place}${sure}`,
  };
}

/** Fill ``aside`` with ``notable`` (text only); ``onPick(incident)`` on a click. */
export function showIncidents(aside, notable, onPick) {
  const list = document.createElement("ol");
  for (const inc of notable) {
    const { title, detail } = describe(inc);
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.rank = String(inc.rank);
    const strong = document.createElement("strong");
    strong.textContent = title;
    const small = document.createElement("small");
    small.textContent = detail;
    button.append(strong, small);
    button.addEventListener("click", () => onPick(inc));
    li.append(button);
    list.append(li);
  }
  const head = document.createElement("h2");
  head.textContent = `Incidents in view: ${notable.length}`;
  aside.replaceChildren(head, list);
  aside.dataset.count = String(notable.length);
}
