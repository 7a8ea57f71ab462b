// The analyst's map: sign in (an API token, or a one-time link's code), then the live
// vessels of the view with their count, a vessel panel on click, and the marking of what
// is on screen in a banner at the top and bottom.
import { ApiError, allPages, api } from "./api.js";
import { TRACK, VESSELS, VESSEL_LAYERS, createMap } from "./map.js";
import { bannerClass, markingQuery } from "./marking.js";
import { showAlerts } from "./alerts.js";
import { setupAreas } from "./areas_ui.js";
import { evidence, showIncidents } from "./incidents.js";
import { showPanel, trackWindow } from "./panel.js";
import { replayEventLabels, setupReplay } from "./replay_ui.js";
import { DENSE_AT, Vessels, dense, parseFilter, trackLine, viewBox } from "./vessels.js";
import { Identities } from "./identities.js";
import { showLegend } from "./legend.js";
import { ALL_CLASSES } from "./types.js";

const $ = (id) => document.getElementById(id);
const vessels = new Vessels();
const identities = new Identities();
const state = {
  map: null,
  box: null,
  only: null, // the filter's vessels (a Set of MMSIs), or null: all
  panelMarkings: [], // the open panel's profile and track markings
  areaMarkings: [], // the drawn areas'
  alertMarkings: [], // the listed alerts'
  areas: null, // the area controls (areas_ui.js)
  incidentsMarking: null, // the incidents list's
  socket: null,
  loads: 0,
  seq: 0,
};
window.seawatch = { vessels, identities, state, classes: ALL_CLASSES }; // for the tests and the curious

function setStatus(s) {
  document.body.dataset.state = s;
}

async function signInWith(body) {
  $("signin-error").textContent = "";
  try {
    await api("/api/v1/session", { method: "POST", body });
    return true;
  } catch (err) {
    $("signin-error").textContent = `Sign-in failed: ${err.message}`;
    return false;
  }
}

function showSignIn() {
  $("signin").hidden = false;
  $("app").hidden = true;
  setStatus("signed-out");
}

async function updateBanner() {
  const markings = [...shownLabels(), ...state.panelMarkings, ...state.areaMarkings];
  markings.push(...state.alertMarkings);
  if (state.incidentsMarking) markings.push(state.incidentsMarking);
  const { marking } = await api(`/api/v1/marking?${markingQuery(markings)}`);
  for (const el of document.querySelectorAll(".banner")) {
    el.textContent = marking;
    el.className = `banner ${bannerClass(marking)}`;
    el.hidden = false;
  }
  document.body.dataset.marking = marking;
}

let drawing = null;
let dirty = false;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The vessels to draw now (live, or the replay's at its time), as GeoJSON points; past
 * ``DENSE_AT`` of them, lean dots (``dense``). */
function viewFeatures() {
  const r = state.replay;
  const fc = r ? r.replay.features(r.t, identities) : vessels.features(state.box, state.only, identities);
  if (r && state.only) fc.features = fc.features.filter((f) => state.only.has(f.properties.mmsi));
  return fc.features.length > DENSE_AT ? dense(fc) : fc;
}
window.seawatch.viewFeatures = viewFeatures; // what bench/web.py draws
window.seawatch.denseAt = DENSE_AT;

function draw() {
  const r = state.replay;
  const fc = viewFeatures();
  state.map.getSource(VESSELS).setData(fc);
  showLegend($("legend"), fc.features);
  const when = r ? ` at ${new Date(r.t).toISOString().replace(".000Z", "Z")}` : " in view";
  $("count").textContent = `${fc.features.length.toLocaleString("en")} vessels${when}`;
  $("count").dataset.count = String(fc.features.length);
}

/** The markings of the vessels drawn now (live, or the replay's at its time), and of the
 * reports that name and colour them. */
function shownLabels() {
  const r = state.replay;
  const at = r
    ? r.replay.at(r.t).filter((p) => !state.only || state.only.has(p.mmsi))
    : vessels.inView(state.box, state.only);
  const events = replayEventLabels(r);
  return [...new Set(at.map((p) => p.label)), ...identities.labels(at.map((p) => p.mmsi)), ...events];
}

/** Who every vessel the reader may read says it is (names, ship types). */
async function loadIdentities() {
  identities.load(await allPages("/api/v1/identities?limit=10000"));
}

const waiting = new Set(); // MMSIs from the live stream not named yet, to look up
let pending = null;

/** Look up, 2 s later and 500 at a time, the vessels of live ``items`` not named yet
 * (each once: one with no static report stays unnamed until the next sign-in). */
function identifyNewcomers(items) {
  for (const it of items) if (!identities.has(it.mmsi)) waiting.add(it.mmsi);
  if (pending || waiting.size === 0) return;
  pending = sleep(2000).then(async () => {
    const wanted = [...waiting];
    waiting.clear();
    for (let i = 0; i < wanted.length; i += 500) {
      const chunk = wanted.slice(i, i + 500);
      identities.merge(await allPages(`/api/v1/identities?limit=10000&mmsi=${chunk.join(",")}`));
      identities.markLookedUp(chunk);
    }
    pending = null;
    await redraw();
  });
  pending.catch(fail);
}

/** Redraw the vessels in view, their count and the banner, at most once a second. */
function redraw() {
  dirty = true;
  drawing ??= (async () => {
    try {
      while (dirty) {
        dirty = false;
        draw();
        await updateBanner();
        await sleep(1000);
      }
    } finally {
      drawing = null;
    }
  })();
  return drawing;
}

function subscribe() {
  const s = state.socket;
  if (s && state.box && s.readyState === WebSocket.OPEN) {
    s.send(JSON.stringify({ bbox: [state.box], types: ["positions", "alerts"] }));
  }
}

function connectLive() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/live`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    $("live").textContent = "live";
    subscribe();
  });
  socket.addEventListener("message", (msg) => {
    const frame = JSON.parse(msg.data);
    if (frame.type === "alerts") {
      $("alerts").classList.add("flash");
      setTimeout(() => $("alerts").classList.remove("flash"), 3000);
      loadAlerts().catch(fail);
    }
    if (frame.type === "positions" && vessels.apply(frame.items) && !state.replay) {
      identifyNewcomers(frame.items);
      redraw().catch(fail);
    }
  });
  socket.addEventListener("close", () => {
    $("live").textContent = "live: reconnecting";
    setTimeout(connectLive, 5000);
  });
}

async function loadView() {
  const seq = ++state.seq;
  const b = state.map.getBounds();
  const box = viewBox(b.getWest(), b.getSouth(), b.getEast(), b.getNorth());
  setStatus("loading");
  const items = await allPages(`/api/v1/latest?limit=10000&bbox=${box.join(",")}`);
  if (seq !== state.seq) return; // a newer view is loading
  await loadIncidents(box);
  if (state.replay) await replay.load(box);
  if (seq !== state.seq) return;
  state.box = box;
  setExports(box);
  vessels.clear();
  vessels.apply(items);
  subscribe();
  await redraw();
  if (seq !== state.seq) return;
  state.loads += 1;
  setStatus("ready");
}

/** Draw the tracks of ``mmsis`` over the API ``datetime`` window ``period``; their
 * markings join the banner's. */
async function showTracks(mmsis, period) {
  const tracks = await Promise.all(
    mmsis.map((m) => allPages(`/api/v1/vessels/${m}/track?limit=10000&datetime=${period}`)),
  );
  const lines = tracks.flatMap((items) => trackLine(items).features);
  state.map.getSource(TRACK).setData({ type: "FeatureCollection", features: lines });
  const labels = tracks.flatMap((items) => items.map((p) => p.label));
  state.panelMarkings = [state.panelMarkings[0], ...new Set(labels)];
  const count = tracks.reduce((n, items) => n + items.length, 0);
  const info = $("panel").querySelector(".track-info");
  info.textContent = `${count.toLocaleString("en")} positions`;
  info.dataset.count = String(count);
  await updateBanner();
}

function closePanel() {
  $("panel").hidden = true;
  state.panelMarkings = [];
  state.map.getSource(TRACK).setData(trackLine([]));
  updateBanner().catch(fail);
}

/** Open the panel of vessel ``mmsi`` with its track over the last 24 h of its latest
 * report, or with ``evidence``: the tracks of an incident's vessels over its window. */
async function openPanel(mmsi, evidence = null) {
  const profile = await api(`/api/v1/vessels/${mmsi}`);
  state.panelMarkings = [profile.marking];
  const latestTs = profile.latest ? profile.latest.ts : null;
  const track = (hours) =>
    latestTs ? showTracks([mmsi], trackWindow(latestTs, hours)) : updateBanner();
  const around = evidence ? "around the incident" : null;
  showPanel($("panel"), profile, closePanel, (hours) => track(hours).catch(fail), around);
  await (evidence ? showTracks(evidence.mmsis, evidence.period) : track(24));
}

/** The export links: the view's vessels (their latest positions) through the API in each
 * format, marked as the API marks files; the session cookie authorises the download. */
function setExports(box) {
  for (const f of ["geojson", "kml", "csv"]) {
    $(`export-${f}`).href = `/api/v1/latest?limit=10000&bbox=${box.join(",")}&f=${f}`;
  }
}

/** The unacknowledged alerts the reader may read (the newest 100). */
async function loadAlerts() {
  const page = await api("/api/v1/alerts?acked=false&limit=100");
  state.alertMarkings = [...new Set(page.items.map((a) => a.label))];
  const ack = async (a) => {
    await api(`/api/v1/alerts/${encodeURIComponent(a.alert_id)}/ack`, { method: "POST" });
    await loadAlerts();
  };
  showAlerts($("alerts"), page.items, (a) => ack(a).catch(fail));
  await updateBanner();
}

/** The ranked incidents of the view (GET /api/v1/situation), listed beside the map. */
async function loadIncidents(box) {
  const situation = await api(`/api/v1/situation?bbox=${box.join(",")}`);
  state.incidentsMarking = situation.notable.length ? situation.marking : null;
  showIncidents($("incidents"), situation.notable, (inc) => goToIncident(inc).catch(fail));
}

async function goToIncident(inc) {
  const ev = evidence(inc);
  if (inc.lon != null && inc.lat != null) {
    const before = state.loads;
    state.map.jumpTo({ center: [inc.lon, inc.lat], zoom: Math.max(state.map.getZoom(), 7) });
    await waitFor(() => state.loads > before);
  }
  await openPanel(inc.vessel.mmsi, ev);
  $("panel").dataset.incident = String(inc.rank);
}

const waitFor = async (ok) => {
  while (!ok()) await sleep(50);
};

/** Show only the vessels matching the filter box (MMSI, or a name / call sign / IMO
 * searched through the API). */
async function applyFilter(text) {
  const f = parseFilter(text);
  if (f === null) state.only = null;
  else if (f.mmsi) state.only = new Set([f.mmsi]);
  else {
    const found = await allPages(`/api/v1/vessels?limit=10000&q=${encodeURIComponent(f.q)}`);
    state.only = new Set(found.map((v) => v.mmsi));
  }
  await redraw();
  $("filter").dataset.applied = text;
}

async function start(me) {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").textContent = `${me.user} · ${me.nation} · ${me.clearance}${me.caveats.length ? ` · ${me.caveats.join(", ")}` : ""}`;
  $("who").dataset.nation = me.nation;
  $("who").dataset.clearance = me.clearance;
  state.map = await createMap($("map"));
  window.seawatch.map = state.map;
  state.map.on("moveend", () => loadView().catch(fail));
  for (const layer of VESSEL_LAYERS) {
    state.map.on("click", layer, (e) => {
      if (!state.areas.drawing()) openPanel(e.features[0].properties.mmsi).catch(fail);
    });
    state.map.on("mouseenter", layer, () => (state.map.getCanvas().style.cursor = "pointer"));
    state.map.on("mouseleave", layer, () => (state.map.getCanvas().style.cursor = ""));
  }
  state.areas = setupAreas(state.map, async (markings) => {
    state.areaMarkings = markings;
    await updateBanner();
  });
  connectLive();
  await loadIdentities();
  await state.areas.reload();
  await loadAlerts();
  await loadView();
}

function fail(err) {
  if (err instanceof ApiError && err.status === 401) return showSignIn();
  $("error").textContent = err.message;
  $("error").hidden = false;
  setStatus("error");
}

async function boot() {
  const code = location.hash.startsWith("#signin=") ? location.hash.slice(8) : null;
  if (code) {
    history.replaceState(null, "", location.pathname); // the code leaves the URL at once
    await signInWith({ link: decodeURIComponent(code) });
  }
  try {
    await start(await api("/api/v1/me"));
  } catch (err) {
    fail(err);
  }
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  if (token && (await signInWith({ token }))) boot();
});
$("filter-form").addEventListener("submit", (e) => {
  e.preventDefault();
  applyFilter($("filter").value).catch(fail);
});
$("signout").addEventListener("click", async () => {
  await api("/api/v1/session", { method: "DELETE" });
  location.reload();
});
const replay = setupReplay({ state, vessels, redraw, fail });
window.seawatch.redraw = redraw;
boot();
