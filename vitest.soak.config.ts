// `npm run soak`: the oracle property over 10,000 small generated streams with a fresh
// seed (bench/soak/), kept out of `npm test`, which runs the same property on a few
// fixed-seed streams. The aliases and runtime of vitest.config.ts; the shards run in
// parallel, one per core, and soakSetup.ts prints the run's PASS/FAIL line. No timeout
// worth the name.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export default mergeConfig(
  { ...base, test: { ...base.test, include: [] } },
  defineConfig({
    test: {
      include: ["bench/soak/*.soak.test.ts"],
      globalSetup: ["bench/soak/soakSetup.ts"],
      testTimeout: 6 * 60 * 60_000,
      fileParallelism: true,
      maxWorkers: 2,
    },
  }),
);
