// Lint every script of the extension with ESLint's recommended rules.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.webextensions },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "always"],
      "no-implied-eval": "error",
      "no-eval": "error",
    },
  },
  {
    files: ["src/background.js"],
    languageOptions: { globals: { ...globals.serviceworker, ...globals.webextensions } },
  },
  {
    // The content-script loader is a classic script (content scripts cannot be modules).
    files: ["src/content_loader.js"],
    languageOptions: { sourceType: "script" },
  },
];
