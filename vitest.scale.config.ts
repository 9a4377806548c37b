// `npm run bench:scale` and `npm run bench:live`: the scale benchmark
// (bench/**/*.scale.test.ts) and the live cost model (bench/**/*.live.test.ts), kept
// out of `npm test` and `npm run bench` (today's storage makes them slow). The aliases of
// vitest.config.ts; one file at a time in one worker, no timeout worth the name (full scale
// is under an hour). For speed only, none of which changes a measured figure (the same
// documents, bytes and calls at SCALE=0.01 as under the test config):
// - Node's environment rather than edge-runtime, whose context proxies every global;
// - convex inlined, so that bench/scale/nativeCodecs.ts can swap its base64 codec for Node's;
// - a larger young generation (the real day allocates hundreds of GB of short-lived values), and a
//   heap of up to 16 GiB (the full-scale run died without a word near its end at the default).
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";
import { nativeBase64 } from "./bench/scale/nativeCodecs.js";

export default mergeConfig(
  { ...base, test: { ...base.test, include: [] } },
  defineConfig({
    plugins: [nativeBase64()],
    test: {
      include: ["bench/**/*.scale.test.ts", "bench/**/*.live.test.ts"],
      environment: "node",
      server: { deps: { inline: ["convex"] } },
      // The full-scale run holds a day of raw batches and a year of pages in memory: past the default heap.
      execArgv: ["--max-semi-space-size=64", "--max-old-space-size=16384"],
      testTimeout: 6 * 60 * 60_000,
      hookTimeout: 6 * 60 * 60_000,
      fileParallelism: false,
      maxWorkers: 1,
    },
  }),
);
