// Builds the map into the Python package (src/seawatch/serve/web_dist, served at / by
// `seawatch serve`): the bundled app, MapLibre's stylesheet, the labels' font (Noto Sans
// SemiBold, Latin, from @fontsource/noto-sans, with its OFL-1.1 licence) and the offline
// basemap (Natural Earth 1:50m from world-atlas, as GeoJSON; maritime boundaries from
// @osm_borders/maritime_10000m, ODbL, with its attribution). Nothing is fetched at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { basemap, maritime } from "./src/basemap.js";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "seawatch", "serve", "web_dist");
const assets = join(out, "assets");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(assets, "basemap"), { recursive: true });
mkdirSync(join(assets, "fonts"), { recursive: true });

await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2022",
  outfile: join(assets, "app.js"),
  legalComments: "linked",
  logLevel: "warning",
});
cpSync(join(here, "node_modules", "maplibre-gl", "dist", "maplibre-gl.css"), join(assets, "maplibre-gl.css"));
cpSync(join(here, "src", "style.css"), join(assets, "style.css"));
cpSync(join(here, "src", "index.html"), join(out, "index.html"));
const noto = join(here, "node_modules", "@fontsource", "noto-sans");
cpSync(join(noto, "files", "noto-sans-latin-600-normal.woff2"), join(assets, "fonts", "noto-sans-latin-600-normal.woff2"));
cpSync(join(noto, "LICENSE"), join(assets, "fonts", "OFL.txt"));

const atlas = (name) =>
  JSON.parse(readFileSync(join(here, "node_modules", "world-atlas", name), "utf8"));
const osm = join(here, "node_modules", "@osm_borders", "maritime_10000m");
const layers = {
  ...basemap(atlas("land-50m.json"), atlas("countries-50m.json")),
  maritime: maritime(JSON.parse(readFileSync(join(osm, "borders.geo.json"), "utf8"))),
};
cpSync(join(osm, "README.md"), join(assets, "basemap", "MARITIME-ODbL.md"));
const sizes = {};
for (const [name, fc] of Object.entries(layers)) {
  const file = join(assets, "basemap", `${name}.geojson`);
  writeFileSync(file, JSON.stringify(fc));
  sizes[name] = { features: fc.features.length, bytes: statSync(file).size };
}
writeFileSync(join(assets, "basemap", "manifest.json"), JSON.stringify(sizes, null, 2));
console.log(`web: built ${out}`, sizes);
