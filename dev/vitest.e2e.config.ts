// `npm run test:e2e`: the browser test of the example page on the local engine
// (real Chromium through playwright-core). Kept out of `npm test`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["dev/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
