// The map: an offline basemap (GeoJSON served by the node, nothing from outside) and the
// vessels drawn as arrows turned to their heading (dots when it is unknown).
import maplibregl from "maplibre-gl";

const BASEMAP = "/assets/basemap";
export const VESSELS = "vessels";
export const TRACK = "track";
export const AREAS = "areas";
export const DRAFT = "draft";

function style() {
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: `${BASEMAP}/land.geojson` },
      borders: { type: "geojson", data: `${BASEMAP}/borders.geojson` },
      [VESSELS]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [TRACK]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [AREAS]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
      [DRAFT]: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
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
        id: "vessels-arrow",
        type: "symbol",
        source: VESSELS,
        filter: ["==", ["get", "moving"], true],
        layout: {
          "icon-image": "arrow",
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
        paint: { "circle-radius": 4, "circle-color": "#1d3557", "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
      },
    ],
  };
}

/** A vessel arrow pointing north, drawn here (no sprite to fetch). */
function arrow(size = 22) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#1d3557";
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

/** The map in ``container``; resolves once its style and basemap are loaded. */
export function createMap(container, { center = [84, 14], zoom = 4 } = {}) {
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
      map.addImage("arrow", arrow());
      resolve(map);
    });
  });
}
