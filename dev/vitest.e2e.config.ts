// `npm run test:e2e`: the browser test of the example page on the local engine
// (real Chromium through playwright-core). Kept out of `npm test`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["dev/**/*.e2e.ts"],
    environment: "node",
    // One file at a time: each starts an engine and a Chromium, and both may rebuild example/dist.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
