// The replay bar: the view's positions and events over a window (GET /api/v1/positions and
// /api/v1/events, every page), the slider and Play. The vessels are drawn as they were at
// the chosen time; each event appears on the map and in the count at its start.
import { allPages } from "./api.js";
import { REPLAY_EVENTS } from "./map.js";
import { Replay, SPEEDS, endFromInput, endInputValue, replayWindow } from "./replay.js";

const $ = (id) => document.getElementById(id);
const iso = (t) => new Date(t).toISOString().replace(".000Z", "Z");

/** Wire the replay bar. ``ctx``: the app's ``state`` (``state.replay`` is set while
 * replaying), ``vessels``, ``redraw()`` and ``fail(err)``. Returns ``load(box)``, which
 * loads the window again for a new view. */
export function setupReplay({ state, vessels, redraw, fail }) {
  let playing = null;

  /** The window ends at the newest report in view, or at the time chosen in the end field
   * (kept while the view moves). */
  async function load(box) {
    const hours = Number($("replay-hours").value);
    const newest = vessels.inView(box).reduce((m, v) => (v.ts > m ? v.ts : m), "");
    const end = state.replay?.endTs ?? newest;
    if (!end) {
      state.replay = { replay: new Replay([]), t: 0, endTs: null };
      return;
    }
    const window = replayWindow(end, hours);
    const where = `limit=10000&bbox=${box.join(",")}&datetime=${window}`;
    const [items, events] = await Promise.all([
      allPages(`/api/v1/positions?${where}`),
      allPages(`/api/v1/events?${where}`),
    ]);
    const replay = new Replay(items, events);
    const [from, to] = window.split("/").map((t) => Date.parse(t));
    const t = state.replay && state.replay.t >= from && state.replay.t <= to ? state.replay.t : from;
    state.replay = { replay, t, endTs: end };
    $("replay-end").value = endInputValue(end);
    const slider = $("replay-slider");
    slider.min = String(from);
    slider.max = String(to);
    slider.value = String(t);
  }

  async function to(t) {
    state.replay.t = t;
    $("replay-slider").value = String(t);
    $("replay-time").textContent = iso(t);
    showEvents(state.map, state.replay.replay, t);
    await redraw();
    $("replay-time").dataset.t = String(t);
  }

  function playPause() {
    if (playing) {
      clearInterval(playing);
      playing = null;
      $("replay-play").textContent = "Play";
      return;
    }
    $("replay-play").textContent = "Pause";
    playing = setInterval(() => {
      const next = state.replay.t + 250 * Number($("replay-speed").value);
      const max = Number($("replay-slider").max);
      if (next >= max) playPause();
      to(Math.min(next, max)).catch(fail);
    }, 250);
  }

  async function toggle() {
    if (state.replay) {
      if (playing) playPause();
      state.replay = null;
      showEvents(state.map, null, 0);
      $("replay-controls").hidden = true;
      $("replay-toggle").textContent = "Replay";
      await redraw();
      return;
    }
    $("replay-controls").hidden = false;
    $("replay-toggle").textContent = "Live";
    await load(state.box);
    await to(state.replay.t);
  }

  for (const x of SPEEDS) {
    const opt = document.createElement("option");
    opt.value = String(x);
    opt.textContent = `${x}×`;
    $("replay-speed").append(opt);
  }
  $("replay-speed").value = "60";
  $("replay-toggle").addEventListener("click", () => toggle().catch(fail));
  $("replay-play").addEventListener("click", playPause);
  $("replay-slider").addEventListener("input", (e) => to(Number(e.target.value)).catch(fail));
  $("replay-hours").addEventListener("change", () => reload(state.replay.endTs).catch(fail));
  $("replay-end").addEventListener("change", (e) => {
    const end = endFromInput(e.target.value);
    if (end) reload(end).catch(fail);
  });

  /** Load the window again ending at ``end`` (null: the newest report in view). */
  async function reload(end) {
    if (playing) playPause();
    state.replay.endTs = end;
    await load(state.box);
    await to(state.replay.t);
  }
  return { load, to };
}

/** Draw the events of ``replay`` started by ``t`` (none when ``replay`` is null) and count
 * them in the replay bar. */
function showEvents(map, replay, t) {
  const fc = replay ? replay.eventFeatures(t) : { type: "FeatureCollection", features: [] };
  map.getSource(REPLAY_EVENTS).setData(fc);
  const n = fc.features.length;
  $("replay-events").textContent = replay ? `${n.toLocaleString("en")} events by then` : "";
  $("replay-events").dataset.count = String(n);
}

/** The markings of the events shown at the replay's time (for the banner). */
export function replayEventLabels(r) {
  return r ? [...new Set(r.replay.eventsAt(r.t).map((e) => e.label))] : [];
}
