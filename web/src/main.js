// The analyst's map: sign in (an API token, or a one-time link's code), then the live
// vessels of the view with their count, a vessel panel on click, and the marking of what
// is on screen in a banner at the top and bottom.
import { ApiError, allPages, api } from "./api.js";
import { VESSELS, VESSEL_LAYERS, createMap } from "./map.js";
import { bannerClass, markingQuery } from "./marking.js";
import { showPanel } from "./panel.js";
import { Vessels, viewBox } from "./vessels.js";

const $ = (id) => document.getElementById(id);
const vessels = new Vessels();
const state = { map: null, box: null, panelMarking: null, socket: null, loads: 0 };
window.seawatch = { vessels, state }; // for the browser tests and the curious

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
  const markings = vessels.labels(state.box);
  if (state.panelMarking) markings.push(state.panelMarking);
  const { marking } = await api(`/api/v1/marking?${markingQuery(markings)}`);
  for (const el of document.querySelectorAll(".banner")) {
    el.textContent = marking;
    el.className = `banner ${bannerClass(marking)}`;
    el.hidden = false;
  }
  document.body.dataset.marking = marking;
}

let drawing = null;
function redraw() {
  // at most once a second: the map redraws the vessels in view, the count and the banner
  if (drawing) return drawing;
  drawing = new Promise((resolve) => setTimeout(resolve, 0)).then(async () => {
    const fc = vessels.features(state.box);
    state.map.getSource(VESSELS).setData(fc);
    $("count").textContent = `${fc.features.length.toLocaleString("en")} vessels in view`;
    $("count").dataset.count = String(fc.features.length);
    await updateBanner();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    drawing = null;
  });
  return drawing;
}

function subscribe() {
  const s = state.socket;
  if (s && s.readyState === WebSocket.OPEN) {
    s.send(JSON.stringify({ bbox: [state.box], types: ["positions"] }));
  }
}

function connectLive() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${proto}://${location.host}/live`);
  state.socket = socket;
  socket.addEventListener("open", subscribe);
  socket.addEventListener("message", (msg) => {
    const frame = JSON.parse(msg.data);
    if (frame.type === "positions" && vessels.apply(frame.items)) redraw();
  });
  socket.addEventListener("close", () => {
    $("live").textContent = "live: reconnecting";
    setTimeout(connectLive, 5000);
  });
  $("live").textContent = "live";
}

async function loadView() {
  const b = state.map.getBounds();
  state.box = viewBox(b.getWest(), b.getSouth(), b.getEast(), b.getNorth());
  setStatus("loading");
  const items = await allPages(`/api/v1/latest?limit=10000&bbox=${state.box.join(",")}`);
  vessels.clear();
  vessels.apply(items);
  subscribe();
  drawing = null;
  await redraw();
  state.loads += 1;
  setStatus("ready");
}

async function openPanel(mmsi) {
  const profile = await api(`/api/v1/vessels/${mmsi}`);
  state.panelMarking = profile.marking;
  showPanel($("panel"), profile, () => {
    $("panel").hidden = true;
    state.panelMarking = null;
    updateBanner();
  });
  await updateBanner();
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
    state.map.on("click", layer, (e) => openPanel(e.features[0].properties.mmsi).catch(fail));
    state.map.on("mouseenter", layer, () => (state.map.getCanvas().style.cursor = "pointer"));
    state.map.on("mouseleave", layer, () => (state.map.getCanvas().style.cursor = ""));
  }
  connectLive();
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
$("signout").addEventListener("click", async () => {
  await api("/api/v1/session", { method: "DELETE" });
  location.reload();
});
boot();
