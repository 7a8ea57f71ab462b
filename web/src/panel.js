// The vessel panel: identity and latest report from GET /api/v1/vessels/{mmsi}, with the
// profile's marking (and each identity record's own).

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
    ["Ship type", latestValue(ids, "ship_type") ?? "—"],
    ["Last report", last.ts ?? "—"],
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
  panel.dataset.mmsi = String(profile.mmsi);
  panel.hidden = false;
}
