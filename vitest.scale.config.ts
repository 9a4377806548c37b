// `npm run bench:scale` and `npm run bench:live`: the scale benchmark
// (bench/**/*.scale.test.ts) and the live cost model (bench/**/*.live.test.ts), kept
// out of `npm test` and `npm run bench` (today's storage makes them slow). The aliases and runtime of vitest.config.ts; one
// file at a time in one worker, no timeout worth the name (full scale is under an hour).
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export default mergeConfig(
  { ...base, test: { ...base.test, include: [] } },
  defineConfig({
    test: {
      include: ["bench/**/*.scale.test.ts", "bench/**/*.live.test.ts"],
      testTimeout: 6 * 60 * 60_000,
      hookTimeout: 6 * 60 * 60_000,
      fileParallelism: false,
      maxWorkers: 1,
    },
  }),
);
