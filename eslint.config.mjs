// ESLint over the pages' own scripts (web/static/*.js; not the vendored libraries), run by
// tools/run-tests (`make test`) with the eslint of package-lock.json.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["web/static/vendor/**", "node_modules/**", "build/**", "dist/**", ".venv/**"] },
  js.configs.recommended,
  {
    files: ["web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, io: "readonly", Hls: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-shadow": "error",
      curly: ["error", "multi-line"],
    },
  },
];
