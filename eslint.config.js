// ESLint flat config.
//
// TypeScript is pinned to 5.9.x rather than TypeScript 7 (the native tsc, about 5x
// faster to typecheck): typescript-eslint 8.x only supports TypeScript < 6.1, and
// type-aware linting (the rules below that need a type checker, and the
// @convex-dev rules that use types to avoid false positives) is worth more to us
// than the faster typecheck. Revisit when typescript-eslint supports TS 7.
//
// Type-aware linting uses the project service: each file is checked in the
// program of its nearest tsconfig.json (the root one for src/, test/, bench/ and
// the vitest configs; example/convex/, example/ and dev/ have their own). A full
// `eslint .` takes about 15 s on an idle 2-core machine (about 25 s of CPU); if
// it stops being fast, drop the type-aware block before dropping anything else.
import js from "@eslint/js";
import convexPlugin from "@convex-dev/eslint-plugin";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

const TS_FILES = ["**/*.{ts,tsx,mts,cts}"];
// Test code only: src/test.ts ships to hosts and is linted as product code.
const TEST_FILES = [
  "**/*.test.{ts,tsx}",
  "**/*.testlib.ts",
  "**/test.setup.ts",
  "test/**/*.{ts,tsx}",
  "bench/**/*.{ts,tsx}",
];

// The plugin's recommended config only matches `**/convex/**/*.ts` (an app's
// convex/ directory). This package's component lives in src/component/, which is
// Convex code too, so apply the same rules there.
const convexRecommended = convexPlugin.configs.recommended;
const CONVEX_FILES = ["**/convex/**/*.ts", "src/component/**/*.ts"];

export default defineConfig(
  // Build output, generated code and test artefacts, at any depth (as .gitignore does).
  globalIgnores([
    "**/dist/",
    "**/node_modules/",
    "**/_generated/**",
    "**/test-artifacts/",
    "**/coverage/",
  ]),

  js.configs.recommended,
  tseslint.configs.recommended,

  // Type-aware rules, TypeScript files only (eslint.config.js and other JS files
  // are in no tsconfig project).
  {
    files: TS_FILES,
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A dropped promise in a mutation or action is work silently lost: the
      // transaction commits without it.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },

  ...convexRecommended.map((config) => ({ ...config, files: CONVEX_FILES })),

  {
    rules: {
      // Allow (_arg: number) => {} and const _unused = 1, for signatures that
      // must match an interface.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
    },
  },

  // Runtimes. The component runs in Convex's V8 isolate (web-worker-like, no
  // Node globals); the client is imported by both Convex functions and browsers;
  // the tracker and the dashboard run in browsers.
  { files: ["src/**/*.{ts,tsx}"], languageOptions: { globals: { ...globals.worker } } },
  {
    files: ["src/react/**/*.{ts,tsx}", "src/tracker/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
  },
  // The example's web page (everything in example/ but its convex/ functions).
  {
    files: ["example/**/*.{js,ts,tsx}"],
    ignores: ["example/convex/**"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: [
      "*.{js,mjs,cjs,ts}",
      "**/*.{mjs,cjs}",
      "**/vite*.config.*",
      "scripts/**/*",
      "test/**/*",
      "bench/**/*",
      "dev/**/*",
    ],
    languageOptions: { globals: { ...globals.node } },
  },

  // Tests drive the component through convex-test, whose ctx and fixtures are
  // loosely typed; `any` there is test scaffolding, not product code. Product
  // code keeps the full rule set.
  {
    files: TEST_FILES,
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
);
