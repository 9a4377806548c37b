// `npm run bench`: the cost benchmark (bench/**/*.bench.test.ts), kept out of
// `npm test`. Same aliases and runtime as vitest.config.ts; one file at a time
// in one worker, with timeouts sized for 100,000-event workloads.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: "convex-event-analytics/convex.config.js", replacement: src("component/convex.config.ts") },
      { find: /^convex-event-analytics$/, replacement: src("client/index.ts") },
    ],
  },
  test: {
    environment: "edge-runtime",
    include: ["bench/**/*.bench.test.ts"],
    // Also matches the deep path convex-test/dist/index.fast.js.
    server: { deps: { inline: ["convex-test"] } },
    testTimeout: 60 * 60_000,
    hookTimeout: 60 * 60_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
