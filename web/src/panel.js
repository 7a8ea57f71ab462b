// The vessel panel: identity, identity history, latest report, port calls, events and the
// records' origins from GET /api/v1/vessels/{mmsi}, with the profile's marking and each
// record's own.
import { ALL_CLASSES, typeClass } from "./types.js";

const day = (ts) => (ts ? ts.slice(0, 16).replace("T", " ") : "…");
const typeName = (code) =>
  code == null ? "—" : `${ALL_CLASSES.find((c) => c.key === typeClass(code)).label} (${code})`;

/** The newest non-empty value of ``key`` among a profile's identity records. */
export function latestValue(identities, key) {
  let best = null;
  for (const rec of identities || []) {
    if (rec[key] == null || rec[key] === "") continue;
    if (best === null || (rec.last_seen || "") >= (best.last_seen || "")) best = rec;
  }
  return best ? best[key] : null;
}

/** The rows (label, value) the panel shows for a profile. */
export function panelRows(profile) {
  const ids = profile.identities;
  const last = profile.latest || {};
  const fix = (v, d) => (v == null ? "—" : Number(v).toFixed(d));
  return [
    ["MMSI", String(profile.mmsi)],
    ["IMO", latestValue(ids, "imo") ?? "—"],
    ["Call sign", latestValue(ids, "callsign") ?? "—"],
    ["Flag", profile.flag ?? "—"],
    ["Ship type", typeName(latestValue(ids, "ship_type"))],
    ["Last report", last.ts ?? "—"],
    ["Received by", last.station ?? "—"],
    ["Position", last.lat == null ? "—" : `${fix(last.lat, 4)}, ${fix(last.lon, 4)}`],
    ["Speed / course", `${fix(last.speed_kn, 1)} kn / ${fix(last.course_deg, 0)}°`],
    ["Events", String((profile.events || []).length)],
  ];
}

const text = (tag, value, cls) => {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
};

/** The identity history (newest first): one row per identity, with its period and marking. */
export function identityRows(profile) {
  return (profile.identities || []).map((r) => ({
    text: [r.name || "—", r.callsign || "—", r.imo ? `IMO ${r.imo}` : "—", typeName(r.ship_type)].join(" · "),
    when: `${day(r.first_seen)} – ${day(r.last_seen)}`,
    label: r.label,
  }));
}

/** The port calls (``port_visit`` events), newest first: port, period and marking. */
export function portCalls(profile) {
  return (profile.events || [])
    .filter((e) => e.event_type === "port_visit")
    .map((e) => {
      let port = null;
      try {
        port = JSON.parse(e.details || "{}").port_name ?? null;
      } catch {
        /* details not JSON: no port name */
      }
      return { text: port ?? "unnamed port", when: `${day(e.start_ts)} – ${day(e.end_ts)}`, label: e.label };
    })
    .reverse();
}

/** The other events, newest first: type, period and marking. */
export function otherEvents(profile) {
  return (profile.events || [])
    .filter((e) => e.event_type !== "port_visit")
    .map((e) => ({ text: e.event_type, when: `${day(e.start_ts)} – ${day(e.end_ts)}`, label: e.label }))
    .reverse();
}

/** Where the records came from: originating nation, the nodes of it this node knows,
 * how many records, under which marking. */
export function originRows(profile) {
  return (profile.origins || []).map((o) => ({
    text: `${o.originator}${o.derived ? " (derived)" : ""} · node ${o.nodes.length ? o.nodes.join(", ") : "not known"}`,
    when: `${o.records.toLocaleString("en")} records`,
    label: o.marking,
  }));
}

/** A titled list of rows (text, when, label) in ``panel``; ``cls`` names it. */
function section(panel, title, rows, cls, max = 20) {
  const box = document.createElement("section");
  box.className = cls;
  box.dataset.count = String(rows.length);
  box.append(text("h3", `${title} (${rows.length})`));
  const ul = document.createElement("ul");
  for (const r of rows.slice(0, max)) {
    const li = document.createElement("li");
    li.append(text("span", r.text), text("small", r.when), text("small", r.label, "record-marking"));
    ul.append(li);
  }
  if (rows.length > max) ul.append(text("li", `… ${rows.length - max} more`));
  box.append(ul);
  panel.append(box);
}

/** Track periods the panel offers: label and hours. */
export const PERIODS = [
  ["1 h", 1],
  ["6 h", 6],
  ["24 h", 24],
  ["7 days", 168],
];

/** The API ``datetime`` of a track of ``hours`` up to ``latestTs``: ``start/..``. */
export function trackWindow(latestTs, hours) {
  const end = new Date(latestTs);
  const start = new Date(end.getTime() - hours * 3600 * 1000);
  return `${start.toISOString().replace(".000Z", "Z")}/..`;
}

/** Fill ``panel`` with ``profile`` (text only: nothing from the data is parsed as HTML);
 * ``onPeriod(hours)`` when a track period is chosen; ``around``: the track shown first is
 * an incident's (its label), not the last 24 h. */
export function showPanel(panel, profile, onClose, onPeriod, around = null) {
  panel.replaceChildren();
  const close = text("button", "×", "close");
  close.title = "Close";
  close.addEventListener("click", onClose);
  panel.append(close, text("div", profile.marking, "record-marking"));
  panel.append(text("h2", latestValue(profile.identities, "name") ?? `MMSI ${profile.mmsi}`, "vessel-name"));
  const dl = document.createElement("dl");
  for (const [k, v] of panelRows(profile)) dl.append(text("dt", k), text("dd", String(v)));
  panel.append(dl);
  const period = document.createElement("select");
  period.id = "track-period";
  for (const [label, hours] of PERIODS) {
    const opt = text("option", `track: last ${label}`);
    opt.value = String(hours);
    period.append(opt);
  }
  if (around) {
    const opt = text("option", `track: ${around}`);
    opt.value = "";
    period.prepend(opt);
  }
  period.value = around ? "" : "24";
  period.addEventListener("change", () => period.value && onPeriod(Number(period.value)));
  panel.append(period, text("div", "", "track-info"));
  section(panel, "Identity history", identityRows(profile), "identities");
  section(panel, "Port calls", portCalls(profile), "port-calls");
  section(panel, "Events", otherEvents(profile), "events");
  section(panel, "Origin", originRows(profile), "origins");
  panel.dataset.mmsi = String(profile.mmsi);
  panel.hidden = false;
}
