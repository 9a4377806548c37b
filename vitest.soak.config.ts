// `npm run soak`: the oracle property over 10,000 small generated streams with a
// fresh seed (bench/**/*.soak.test.ts), kept out of `npm test`, which runs the same
// property on a few fixed-seed streams. The aliases and runtime of vitest.config.ts;
// one worker, and no timeout worth the name (the full run is sized for under 30 minutes).
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export default mergeConfig(
  { ...base, test: { ...base.test, include: [] } },
  defineConfig({
    test: {
      include: ["bench/**/*.soak.test.ts"],
      testTimeout: 6 * 60 * 60_000,
      fileParallelism: false,
      maxWorkers: 1,
    },
  }),
);
