import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The example app imports the package by name; tests run it from source.
    alias: [
      {
        find: "convex-event-analytics/convex.config.js",
        replacement: src("component/convex.config.ts"),
      },
      { find: "convex-event-analytics/test", replacement: src("test.ts") },
      { find: /^convex-event-analytics$/, replacement: src("client/index.ts") },
    ],
  },
  test: {
    environment: "edge-runtime",
    // dev/: the local engine's integration test (its browser test runs apart, npm run test:e2e).
    // example/: the host app's own test, as the README shows it.
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "dev/**/*.test.ts", "example/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    testTimeout: 120_000,
  },
});
