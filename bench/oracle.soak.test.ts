// `npm run soak`: the end-to-end oracle property of src/component/oracle.test.ts
// (invariants I1 and I6: every report equals a brute-force oracle however batches are
// split, interleaved, resent, crashed and compacted) over many small generated
// streams, with a fresh seed each run. CI runs the same property on 6 full-size
// streams with a fixed seed; this explores. Each case compares the overview and, to
// keep 10,000 cases inside half an hour on 2 cores, a generated subset of the
// timeseries granularities and breakdown dimensions (every one is drawn thousands of
// times over a run).
//
// A failing case does not stop the run: it is counted, and its seed and path are
// printed so that it replays alone (SOAK_SEED=… SOAK_PATH=… npm run soak), shrunk
// by fast-check to a minimal stream.
//
// SOAK_CASES (default 10,000) sets the number of cases; SOAK_SEED a seed to repeat.
import fc from "fast-check";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { DIMENSIONS, type Granularity } from "../src/shared.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";
import { runScenario, type ReportChecks } from "../src/component/oracle.harness.testlib.js";
import { scenarioOf, type ScenarioSize } from "../src/component/oracle.streams.testlib.js";

const CASES = Number(process.env.SOAK_CASES ?? 10_000);
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PATH = process.env.SOAK_PATH;
/** Wall clock for the throughput line: fake timers replace performance.now() and Date. */
const wallNow = performance.now.bind(performance);

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

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

test(`the oracle property holds over ${PATH === undefined ? CASES : "one replayed"} generated cases`, async () => {
  if (PATH !== undefined) {
    // Replays one failing case, shrunk to a minimal stream, with the property's own error.
    await fc.assert(
      fc.asyncProperty(arbCase, async ([scenario, checks]) => {
        await runScenario(scenario, checks);
      }),
      { seed: SEED, path: PATH, numRuns: 1 },
    );
    return;
  }
  const started = wallNow();
  let cases = 0;
  let events = 0;
  const failures: { path: string; error: string }[] = [];
  await fc.assert(
    fc.asyncProperty(arbCase, async ([scenario, checks]) => {
      const index = cases++;
      try {
        events += (await runScenario(scenario, checks)).events;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failures.push({ path: String(index), error: message.split("\n").slice(0, 6).join("\n") });
      }
    }),
    { seed: SEED, numRuns: CASES },
  );
  const minutes = (wallNow() - started) / 60_000;
  for (const { path, error } of failures)
    console.error(
      `soak failure (replay: SOAK_SEED=${SEED} SOAK_PATH=${path} npm run soak):\n${error}`,
    );
  console.log(
    `${failures.length === 0 ? "PASS" : "FAIL"} soak: ${cases} cases run, ${events} events checked, ` +
      `${failures.length} failures, seed ${SEED}, ${(cases / minutes).toFixed(0)} cases/min`,
  );
  expect(failures, `seed ${SEED}`).toEqual([]);
});
