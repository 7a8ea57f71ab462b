// eslint for the map's sources, build script and tests (`make test`, `npm run lint`).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ["build.mjs", "test/**/*.js", "eslint.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
  { rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_" }], eqeqeq: ["error", "smart"] } },
];
