// rebuildRollups against the brute-force oracle (oracle.testlib.ts): while a
// rebuild runs, reports equal the oracle of what the live worker has counted,
// in the old timezone; once it has switched, every report equals the oracle of
// every raw event in the new one, however ingest, the live worker, compaction,
// crashed rebuild steps and the rebuild's own steps interleave. Each event is
// counted exactly once across the switch; running it again changes nothing; the
// old generation is deleted; every step stays inside the transaction budget.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { AnalyticsEvent } from "../shared.js";
import { DST_DAY, STREAM_FROM, STREAM_TO, ZONES, arbScenario } from "./oracle.streams.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  compactAll,
  createSite,
  drainAll,
  expectReportsMatch,
  ingest,
  processedEvents,
  settle,
  type T,
} from "./oracle.harness.testlib.js";
import { buildModel, oracleBreakdown, oracleOverview } from "./oracle.testlib.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR, alignRange, hourPhase } from "./time.js";
import { MAX_REBUILD_ATTEMPTS } from "./rebuilds.js";
import {
  STEP_BUDGET_BYTES,
  crashStep,
  finishRebuild,
  generationDocs,
  interleaved,
  manyBatches,
  rebuildDoc,
  step,
  worstBytes,
} from "./rebuilds.testlib.js";
import { convexTest } from "convex-test";
import { indexEveryDatabase } from "../../dev/indexedStore.js";

// Stock convex-test scans a whole table on every query, which makes these multi-step
// rebuilds (thousands of rollup documents) take minutes; the project's indexed store
// answers the same (dev/indexedStore.test.ts proves results and metrics identical).
await indexEveryDatabase(convexTest);

/** REBUILD_RUNS explores further; ORACLE_SEED picks the seed. */
const RUNS = Number(process.env.REBUILD_RUNS ?? 3);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** The overview and one session-derived breakdown over the whole stream equal the oracle of `events`. */
async function expectStreamMatches(
  t: T,
  siteId: string,
  events: AnalyticsEvent[],
  tz: string,
  label: string,
) {
  const model = buildModel(events);
  const { from, to } = alignRange(STREAM_FROM, STREAM_TO, HOUR, hourPhase(tz));
  expect(
    await t.query(api.reports.getOverview, { siteId, from, to }),
    `${label}: overview`,
  ).toEqual(oracleOverview(model, from, to));
  expect(
    await t.query(api.reports.getBreakdown, { siteId, from, to, dimension: "exitPage" }),
    `${label}: exitPage`,
  ).toEqual(oracleBreakdown(model, from, to, "exitPage", 10));
}

const arbOp = fc.oneof(
  { weight: 4, arbitrary: fc.constant("step" as const) },
  { weight: 1, arbitrary: fc.constant("crashStep" as const) },
  { weight: 3, arbitrary: fc.constant("ingest" as const) },
  { weight: 2, arbitrary: fc.constant("drain" as const) },
  { weight: 1, arbitrary: fc.constant("compactSteps" as const) },
  { weight: 1, arbitrary: fc.constant("check" as const) },
);

const arbRebuild = fc.record({
  scenario: arbScenario,
  /** Asia/Kolkata is the half-hour zone every run may meet; the others as they come. */
  timezone: fc.constantFrom(...ZONES),
  /** How many batches are sent before the rebuild starts, as a share of all of them. */
  before: fc.double({ min: 0, max: 1, noNaN: true }),
  compactedBefore: fc.boolean(),
  ops: fc.array(arbOp, { maxLength: 30 }),
});

describe("rebuildRollups", () => {
  test(
    "during a rebuild reports equal the live rollups; after it every report equals the oracle of every raw event in the new timezone, ingest meanwhile counted once",
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          arbRebuild,
          async ({ scenario, timezone, before, compactedBefore, ops }) => {
            vi.clearAllTimers();
            vi.setSystemTime(STREAM_FROM - DAY);
            const t = initConvexTest();
            const oldTz = scenario.timezone;
            const siteId = await createSite(t, oldTz);
            const pending = interleaved(scenario);
            const send = async () => {
              const batch = pending.shift();
              if (batch) await ingest(t, siteId, batch);
            };
            for (let n = Math.floor(before * pending.length); n > 0; n--) await send();
            await drainAll(t, siteId);
            if (compactedBefore) await compactAll(t);

            const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, {
              siteId,
              timezone,
            });
            for (const op of ops) {
              switch (op) {
                case "step":
                  await step(t, rebuildId);
                  break;
                case "crashStep":
                  await crashStep(t, rebuildId);
                  break;
                case "ingest":
                  await send();
                  break;
                case "drain":
                  await settle(t);
                  await t.mutation(internal.worker.drainSite, { siteId: siteId as Id<"sites"> });
                  break;
                case "compactSteps":
                  for (let i = 0; i < 3; i++) await t.mutation(internal.compaction.compactStep, {});
                  break;
                case "check": {
                  // Before the switch the live generation, in the old zone; after it the new one.
                  const switched = (await rebuildDoc(t, rebuildId)).switchedAt !== undefined;
                  await expectStreamMatches(
                    t,
                    siteId,
                    await processedEvents(t),
                    switched ? timezone : oldTz,
                    switched ? "after the switch" : "during the rebuild",
                  );
                  break;
                }
              }
            }
            while (pending.length > 0) await send();
            await finishRebuild(t, siteId, rebuildId);

            const site = await t.query(api.sites.getSite, { siteId });
            expect(site!.timezone).toBe(timezone);
            const model = buildModel(await processedEvents(t));
            expect(model.events.length).toBe(
              interleaved(scenario).reduce(
                (n, b) => n + b.events.filter((e) => e.type !== "identify").length,
                0,
              ),
            );
            const ranges = [{ from: STREAM_FROM, to: STREAM_TO }, DST_DAY, ...scenario.ranges];
            for (const { from, to } of ranges)
              await expectReportsMatch(t, siteId, model, from, to, "rebuilt", timezone);
            await compactAll(t);
            for (const { from, to } of ranges)
              await expectReportsMatch(t, siteId, model, from, to, "rebuilt, compacted", timezone);
            expect(await generationDocs(t, siteId, 0)).toEqual({
              rollupDeltas: 0,
              rollupStaging: 0,
              rollups: 0,
              sessions: 0,
            });
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
  );

  test("a second rebuild is idempotent, a call while one runs returns it, and another timezone is refused until it is done", async () => {
    vi.setSystemTime(STREAM_FROM - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const [scenario] = fc.sample(arbScenario, { numRuns: 1, seed: SEED });
    for (const batch of interleaved(scenario!)) await ingest(t, siteId, batch);
    await drainAll(t, siteId);
    const first = await t.mutation(api.rebuilds.rebuildRollups, {
      siteId,
      timezone: "Asia/Kolkata",
    });
    expect(first).toMatchObject({ status: "running", timezone: "Asia/Kolkata", batches: 0 });
    const again = await t.mutation(api.rebuilds.rebuildRollups, {
      siteId,
      timezone: "Asia/Kolkata",
    });
    expect(again.rebuildId).toBe(first.rebuildId);
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, timezone: "Europe/Berlin" }),
    ).rejects.toThrow('A rebuild to timezone "Asia/Kolkata" is in progress');
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, timezone: "Mars/Olympus" }),
    ).rejects.toThrow();
    await finishRebuild(t, siteId, first.rebuildId);
    const events = await processedEvents(t);
    await expectStreamMatches(t, siteId, events, "Asia/Kolkata", "first rebuild");

    const second = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
    expect(second.rebuildId).not.toBe(first.rebuildId);
    expect(second.timezone).toBe("Asia/Kolkata");
    await finishRebuild(t, siteId, second.rebuildId);
    await expectStreamMatches(t, siteId, events, "Asia/Kolkata", "second rebuild");
    const progress = await t.query(api.rebuilds.getRebuild, {
      siteId,
      rebuildId: second.rebuildId,
    });
    expect(progress).toMatchObject({
      status: "done",
      batches: interleaved(scenario!).length,
      events: events.length,
      error: null,
    });
    expect(progress!.switchedAt).not.toBeNull();
    expect(progress!.deleted).toBeGreaterThan(0);
    // Another site's id does not show this site's rebuild.
    const otherId = await t.mutation(api.sites.createSite, { slug: "other", name: "Other" });
    expect(
      await t.query(api.rebuilds.getRebuild, {
        siteId: otherId.siteId,
        rebuildId: second.rebuildId,
      }),
    ).toBeNull();
    expect(await generationDocs(t, siteId, 1)).toEqual({
      rollupDeltas: 0,
      rollupStaging: 0,
      rollups: 0,
      sessions: 0,
    });
  });

  test(
    "a step that throws is retried by its chain, the rebuild stops as failed after MAX_REBUILD_ATTEMPTS, and rebuildRollups resumes it where it was",
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      vi.setSystemTime(STREAM_FROM - DAY);
      const t = initConvexTest();
      const siteId = await createSite(t, "UTC");
      for (const batch of manyBatches(12, SEED + 1)) await ingest(t, siteId, batch);
      await drainAll(t, siteId);
      const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
      await step(t, rebuildId);
      const progressed = await rebuildDoc(t, rebuildId);
      expect(progressed).toMatchObject({ status: "running", steps: 1 });
      expect(progressed.batches).toBeGreaterThan(0);
      for (let i = 1; i <= MAX_REBUILD_ATTEMPTS; i++) {
        await t.mutation(internal.rebuilds.stepFailed, {
          rebuildId: rebuildId as Id<"rebuilds">,
          chainId: progressed.chainId,
          error: "boom",
        });
        expect((await rebuildDoc(t, rebuildId)).status).toBe(
          i < MAX_REBUILD_ATTEMPTS ? "running" : "failed",
        );
      }
      expect(await t.query(api.rebuilds.getRebuild, { siteId, rebuildId })).toMatchObject({
        status: "failed",
        error: "boom",
        batches: progressed.batches,
      });
      // Reports still serve the live rollups.
      await expectStreamMatches(t, siteId, await processedEvents(t), "UTC", "failed rebuild");
      const resumed = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
      expect(resumed).toMatchObject({ rebuildId, status: "running", batches: progressed.batches });
      // The old chain's steps stop; the new chain goes on from the cursor it had.
      expect((await rebuildDoc(t, rebuildId)).chainId).not.toBe(progressed.chainId);
      await finishRebuild(t, siteId, rebuildId);
      await expectStreamMatches(t, siteId, await processedEvents(t), "UTC", "resumed rebuild");
    },
  );

  test(
    "the scheduled chain runs the rebuild to the end by itself, and every step stays inside the 4 MiB budget with document limits enforced",
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      vi.setSystemTime(STREAM_FROM - DAY);
      const t = initConvexTest();
      const siteId = await createSite(t, "America/New_York");
      const batches = manyBatches(12, SEED + 2);
      for (const batch of batches) await ingest(t, siteId, batch);
      await drainAll(t, siteId);
      await compactAll(t);
      const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, {
        siteId,
        timezone: "Asia/Kolkata",
      });
      // Steps one at a time, measured, while the chain's own scheduled steps wait.
      const steps = await finishRebuild(t, siteId, rebuildId);
      expect(steps.length).toBeGreaterThan(2);
      expect(Math.max(...steps.map(worstBytes))).toBeLessThanOrEqual(STEP_BUDGET_BYTES);
      await expectStreamMatches(t, siteId, await processedEvents(t), "Asia/Kolkata", "stepped");

      // A second rebuild driven only by its scheduled chain (and the compaction it schedules).
      const { rebuildId: chained } = await t.mutation(api.rebuilds.rebuildRollups, {
        siteId,
        timezone: "Australia/Adelaide",
      });
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      expect(await t.query(api.rebuilds.getRebuild, { siteId, rebuildId: chained })).toMatchObject({
        status: "done",
        error: null,
      });
      await expectStreamMatches(
        t,
        siteId,
        await processedEvents(t),
        "Australia/Adelaide",
        "chained",
      );
    },
  );
});
