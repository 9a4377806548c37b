// `npm run soak`: the end-to-end oracle property of src/component/oracle.test.ts
// (invariants I1 and I6: every report equals a brute-force oracle however batches are
// split, interleaved, resent, crashed and compacted) over many small generated
// streams, with a fresh seed each run. CI runs the same property on 6 full-size
// streams with a fixed seed; this explores. Each case compares the overview and, to
// keep the run short, one range and a generated subset of the timeseries granularities
// and breakdown dimensions (every one is drawn thousands of times over a run).
//
// The cases are split over SOAK_SHARDS test files (one per core, run in parallel: each
// shard is a file that calls soakShard), each with its own seed (the run's seed plus its
// index). A failing case does not stop the run: it is counted, and its shard's seed and
// its path are printed so that it replays alone, shrunk by fast-check to a minimal
// stream (SOAK_SEED=… SOAK_PATH=… npm run soak). soakSetup.ts prints the run's line.
//
// SOAK_CASES (default 10,000) sets the number of cases; SOAK_SEED a seed to repeat.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, expect, inject, test, vi } from "vitest";
import { DIMENSIONS, type Granularity } from "../../src/shared.js";
import { enforceConvexDocumentLimits } from "../../src/component/convexLimits.testlib.js";
import { runScenario, type ReportChecks } from "../../src/component/oracle.harness.testlib.js";
import { scenarioOf, type ScenarioSize } from "../../src/component/oracle.streams.testlib.js";

export const SOAK_SHARDS = 2;

/** What one shard reports to soakSetup.ts, which adds the shards up. */
export type ShardResult = {
  shard: number;
  seed: number;
  cases: number;
  events: number;
  minutes: number;
  failures: { path: string; error: string }[];
};

/** Smaller streams than CI's: a few visitors with short sessions and a short op list. */
const SOAK_SIZE: ScenarioSize = {
  minVisitors: 1,
  maxVisitors: 2,
  maxSessions: 2,
  maxSteps: 2,
  maxOps: 8,
};

const arbChecks: fc.Arbitrary<ReportChecks> = fc.record({
  ranges: fc.constantFrom<ReportChecks["ranges"]>(["stream"], ["dstDay"], ["short"], ["long"]),
  granularities: fc.subarray<Granularity>(["hour", "day", "week", "month"], {
    minLength: 1,
    maxLength: 1,
  }),
  dimensions: fc.subarray(
    DIMENSIONS.filter((d) => d !== "total"),
    { minLength: 1, maxLength: 2 },
  ),
});
const arbCase = fc.tuple(scenarioOf(SOAK_SIZE), arbChecks);

/** Wall clock for the throughput: fake timers replace performance.now() and Date. */
const wallNow = performance.now.bind(performance);

/** Declares the shard's test: its share of the cases, or the one case SOAK_PATH replays. */
export function soakShard(shard: number): void {
  const { cases: totalCases, seed: runSeed, replayPath, resultsDir } = inject("soak");
  const replay = replayPath !== null;
  const cases = Math.floor(totalCases / SOAK_SHARDS) + (shard < totalCases % SOAK_SHARDS ? 1 : 0);
  const seed = replay ? runSeed : runSeed + shard;

  enforceConvexDocumentLimits();
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  test.skipIf(replay && shard > 0)(
    `the oracle property holds over ${replay ? "one replayed" : cases} generated cases (seed ${seed})`,
    async () => {
      if (replay) {
        // One failing case, shrunk to a minimal stream, with the property's own error.
        await fc.assert(
          fc.asyncProperty(arbCase, async ([scenario, checks]) => {
            await runScenario(scenario, checks);
          }),
          { seed, path: replayPath, numRuns: 1 },
        );
        return;
      }
      const started = wallNow();
      const result: ShardResult = { shard, seed, cases: 0, events: 0, minutes: 0, failures: [] };
      await fc.assert(
        fc.asyncProperty(arbCase, async ([scenario, checks]) => {
          const index = result.cases++;
          try {
            result.events += (await runScenario(scenario, checks)).events;
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            result.failures.push({
              path: String(index),
              error: message.split("\n").slice(0, 6).join("\n"),
            });
          }
        }),
        { seed, numRuns: cases },
      );
      result.minutes = (wallNow() - started) / 60_000;
      writeFileSync(join(resultsDir, `shard-${shard}.json`), JSON.stringify(result));
      expect(result.failures, `seed ${seed}`).toEqual([]);
    },
  );
}
