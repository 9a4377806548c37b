// `npm run bench`: the cost benchmark (bench/**/*.bench.test.ts), kept out of
// `npm test`. The aliases and runtime of vitest.config.ts; one file at a time
// in one worker, with timeouts sized for 100,000-event workloads.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export default mergeConfig(
  { ...base, test: { ...base.test, include: [] } },
  defineConfig({
    test: {
      include: ["bench/**/*.bench.test.ts"],
      testTimeout: 60 * 60_000,
      hookTimeout: 60 * 60_000,
      fileParallelism: false,
      maxWorkers: 1,
    },
  }),
);
