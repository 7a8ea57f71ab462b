// The map: an offline basemap (GeoJSON served by the node, nothing from outside) and the
// vessels drawn as arrows turned to their heading (dots when it is unknown), coloured by
// ship type (types.js), named at zoom 7 and closer.
import maplibregl from "maplibre-gl";
import { ALL_CLASSES, colourExpression } from "./types.js";

/** The labels' font: Noto Sans SemiBold (npm @fontsource/noto-sans, OFL-1.1), served by the
 * node (assets/fonts, declared in style.css). The style has no ``glyphs`` URL, so MapLibre
 * draws each glyph in the page with this font (TinySDF): no glyph server, nothing fetched
 * from outside. */
export const LABEL_FONT = "Noto Sans SemiBold";
export const LABEL_MIN_ZOOM = 7;

const BASEMAP = "/assets/basemap";
export const VESSELS = "vessels";
export const TRACK = "track";
export const AREAS = "areas";
export const DRAFT = "draft";
export const REPLAY_EVENTS = "replay-events";

function style() {
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: `${BASEMAP}/land.geojson` },
      borders: { type: "geojson", data: `${BASEMAP}/borders.geojson` },
      maritime: { type: "geojson", data: `${BASEMAP}/maritime.geojson` },
      // points: a small tile buffer (the largest mark is an 11 px arrow) and no tiles past
      // zoom 12 (overzoomed beyond) keep the worker's tiling of many vessels cheap
      [VESSELS]: { type: "geojson", data: { type: "FeatureCollection", features: [] }, buffer: 16, maxzoom: 12 },
      [TRACK]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [AREAS]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [DRAFT]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [REPLAY_EVENTS]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#b9d3e6" } },
      { id: "land", type: "fill", source: "land", paint: { "fill-color": "#efeee6" } },
      { id: "coastline", type: "line", source: "land", paint: { "line-color": "#6c8aa0", "line-width": 0.8 } },
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: { "line-color": "#9a8c98", "line-width": 0.8, "line-dasharray": [3, 2] },
      },
      {
        // maritime boundaries (territorial sea, OSM): a fine dotted blue line at sea
        id: "maritime",
        type: "line",
        source: "maritime",
        paint: { "line-color": "#5b7fa6", "line-width": 0.7, "line-dasharray": [1, 2], "line-opacity": 0.8 },
      },
      { id: "areas-fill", type: "fill", source: AREAS, paint: { "fill-color": "#f4a261", "fill-opacity": 0.15 } },
      { id: "areas-line", type: "line", source: AREAS, paint: { "line-color": "#e76f51", "line-width": 1.5 } },
      {
        id: "draft-line",
        type: "line",
        source: DRAFT,
        filter: ["==", ["geometry-type"], "LineString"],
        paint: { "line-color": "#2a9d8f", "line-width": 2, "line-dasharray": [2, 1] },
      },
      {
        id: "draft-points",
        type: "circle",
        source: DRAFT,
        filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-radius": 4, "circle-color": "#2a9d8f" },
      },
      {
        id: "track",
        type: "line",
        source: TRACK,
        paint: { "line-color": "#e76f51", "line-width": 2 },
      },
      {
        id: "replay-events",
        type: "circle",
        source: REPLAY_EVENTS,
        paint: {
          "circle-radius": 9,
          "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": "#e63946",
          "circle-stroke-width": 2.5,
          "circle-stroke-opacity": ["case", ["get", "open"], 1, 0.4],
        },
      },
      {
        id: "replay-events-label",
        type: "symbol",
        source: REPLAY_EVENTS,
        layout: {
          "text-field": ["get", "event_type"],
          "text-font": [LABEL_FONT],
          "text-size": 10,
          "text-anchor": "bottom",
          "text-offset": [0, -1.1],
          "text-optional": true,
        },
        paint: { "text-color": "#9d0208", "text-halo-color": "#ffffff", "text-halo-width": 1.5 },
      },
      {
        id: "vessels-arrow",
        type: "symbol",
        source: VESSELS,
        filter: ["==", ["get", "moving"], true],
        layout: {
          "icon-image": ["concat", "arrow-", ["get", "kind"]],
          "icon-rotate": ["get", "heading"],
          "icon-rotation-alignment": "map",
          "icon-allow-overlap": true,
          "icon-ignore-placement": true,
        },
      },
      {
        id: "vessels-dot",
        type: "circle",
        source: VESSELS,
        filter: ["==", ["get", "moving"], false],
        paint: {
          // lean dots (``dense``: no heading property) are smaller and unstroked
          "circle-radius": ["case", ["has", "heading"], 4, 2.5],
          "circle-color": colourExpression(),
          "circle-stroke-color": "#fff",
          "circle-stroke-width": ["case", ["has", "heading"], 1, 0],
        },
      },
      {
        id: "vessels-label",
        type: "symbol",
        source: VESSELS,
        minzoom: LABEL_MIN_ZOOM,
        filter: ["!=", ["get", "name"], ""],
        layout: {
          "text-field": ["get", "name"],
          "text-font": [LABEL_FONT],
          "text-size": 11,
          "text-anchor": "top",
          "text-offset": [0, 0.9],
          "text-optional": true,
        },
        paint: { "text-color": "#1d2733", "text-halo-color": "#ffffff", "text-halo-width": 1.5 },
      },
    ],
  };
}

/** A vessel arrow pointing north in ``colour``, drawn here (no sprite to fetch). */
function arrow(colour, size = 22) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = colour;
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(size / 2, 2);
  ctx.lineTo(size - 5, size - 3);
  ctx.lineTo(size / 2, size - 7);
  ctx.lineTo(5, size - 3);
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
  return ctx.getImageData(0, 0, size, size);
}

export const VESSEL_LAYERS = ["vessels-arrow", "vessels-dot"];

/** The map in ``container``; resolves once its style and basemap are loaded (and the
 * labels' font, so no glyph is drawn with a fallback). */
export async function createMap(container, { center = [84, 14], zoom = 4 } = {}) {
  await document.fonts.load(`600 24px "${LABEL_FONT}"`);
  const map = new maplibregl.Map({
    container,
    style: style(),
    center,
    zoom,
    maxZoom: 14,
    renderWorldCopies: false,
    attributionControl: { compact: true, customAttribution: "Natural Earth (public domain)" },
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");
  return new Promise((resolve) => {
    map.on("load", () => {
      for (const c of ALL_CLASSES) map.addImage(`arrow-${c.key}`, arrow(c.colour));
      resolve(map);
    });
  });
}
