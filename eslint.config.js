// ESLint flat config: recommended rules over the site's own JavaScript and its tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  {ignores: ["site/assets/vendor/**", "node_modules/**", "_site/**", ".shlepa/**"]},
  js.configs.recommended,
  {
    files: ["site/assets/js/**/*.js"],
    languageOptions: {ecmaVersion: 2022, sourceType: "module", globals: {...globals.browser}},
  },
  {
    // Material for MkDocs' snippets: classic scripts whose top-level names are the theme's globals.
    files: ["site/assets/js/material/*.js"],
    languageOptions: {sourceType: "script"},
  },
  {
    files: ["tests/js/**/*.mjs", "eslint.config.js"],
    languageOptions: {ecmaVersion: 2022, sourceType: "module", globals: {...globals.node}},
  },
];
