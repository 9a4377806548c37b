// Goals against the brute-force oracle (goals.testlib.ts): over random streams,
// with goals of every kind (path patterns with `*` and `**`, an event, an event
// with props, revenue), some created before the events and some after (so they
// are backfilled while more events arrive and the worker counts them live),
// getGoals' conversions, converters, conversion rate and revenue equal the
// oracle exactly, before and after compaction, and over compared periods.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { DST_DAY, STREAM_FROM, STREAM_TO, scenarioOf } from "./oracle.streams.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  compactAll,
  createSite,
  drainAll,
  ingest,
  processedEvents,
  settle,
} from "./oracle.harness.testlib.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY } from "./time.js";
import { interleaved } from "./rebuilds.testlib.js";
import { ORACLE_GOALS, createGoals, expectGoalsMatch, type GoalDef } from "./goals.testlib.js";

/** GOALS_RUNS explores further; ORACLE_SEED picks the seed. */
const RUNS = Number(process.env.GOALS_RUNS ?? 4);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const arbGoalsScenario = fc.record({
  scenario: scenarioOf({ minVisitors: 2, maxVisitors: 4, maxSessions: 3, maxSteps: 5, maxOps: 0 }),
  /** Which goals exist from the start; the others are created once `cut` of the batches are counted. */
  early: fc.array(fc.boolean(), { minLength: ORACLE_GOALS.length, maxLength: ORACLE_GOALS.length }),
  /** Tenths of the batches sent before the late goals. */
  cutTenths: fc.integer({ min: 0, max: 10 }),
  /** Worker runs and backfill steps interleaved with the batches sent after the late goals. */
  runScheduledEvery: fc.integer({ min: 1, max: 6 }),
  compactMidway: fc.boolean(),
});

const stats = { conversions: 0, revenue: 0, backfilledBatches: 0 };

describe("goals against the oracle", () => {
  test(
    "conversions, converters, conversion rate and revenue of every goal kind equal the oracle, for goals created before and after the events, compared periods included",
    async () => {
      await fc.assert(
        fc.asyncProperty(arbGoalsScenario, async (g) => {
          vi.clearAllTimers();
          vi.setSystemTime(STREAM_FROM - DAY);
          const t = initConvexTest();
          const tz = g.scenario.timezone;
          const siteId = await createSite(t, tz);
          const batches = interleaved(g.scenario);
          const cut = Math.round((g.cutTenths / 10) * batches.length);
          const early = ORACLE_GOALS.filter((_, i) => g.early[i]);
          const late: GoalDef[] = ORACLE_GOALS.filter((_, i) => !g.early[i]);
          const goals = await createGoals(t, siteId, early);
          for (const b of batches.slice(0, cut)) await ingest(t, siteId, b);
          await drainAll(t, siteId);
          if (g.compactMidway) await compactAll(t);
          goals.push(...(await createGoals(t, siteId, late)));
          for (const [i, b] of batches.slice(cut).entries()) {
            await ingest(t, siteId, b);
            if (i % g.runScheduledEvery === 0) {
              await settle(t);
              await t.finishAllScheduledFunctions(vi.runAllTimers);
            }
          }
          await drainAll(t, siteId);
          await t.finishAllScheduledFunctions(vi.runAllTimers);
          // The goals are listed in creation order, in the report as in listGoals.
          expect((await t.query(api.goals.listGoals, { siteId })).map((x) => x.goalId)).toEqual(
            goals.map((x) => x.goalId),
          );
          const processed = await processedEvents(t);
          const backfills = await t.run(
            async (ctx) => await ctx.db.query("goalBackfills").collect(),
          );
          expect(backfills.map((b) => b.status)).toEqual(goals.map(() => "done"));
          stats.backfilledBatches += backfills.reduce((n, b) => n + b.batches, 0);
          const ranges = [
            { from: STREAM_FROM, to: STREAM_TO },
            DST_DAY,
            { from: STREAM_FROM + 9 * DAY + 5 * 3_600_000, to: STREAM_FROM + 12 * DAY },
          ];
          for (const { from, to } of ranges)
            await expectGoalsMatch(
              t,
              siteId,
              goals,
              from,
              to,
              tz,
              "before compaction",
              undefined,
              processed,
            );
          await compactAll(t);
          const whole = await expectGoalsMatch(
            t,
            siteId,
            goals,
            STREAM_FROM,
            STREAM_TO,
            tz,
            "compacted",
          );
          for (const goal of whole.goals) stats.conversions += goal.conversions;
          stats.revenue += whole.goals.reduce((n, goal) => n + (goal.revenue ?? 0), 0);
          for (const [i, { from, to }] of ranges.entries()) {
            const other = ranges[(i + 1) % ranges.length]!;
            for (const compare of [undefined, "previous", "yearOverYear", other] as const)
              await expectGoalsMatch(
                t,
                siteId,
                goals,
                from,
                to,
                tz,
                "compacted",
                compare,
                processed,
              );
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Not vacuous: the runs converted, earned revenue and backfilled batches the worker had counted.
      expect(stats.conversions).toBeGreaterThan(0);
      expect(stats.revenue).toBeGreaterThan(0);
      expect(stats.backfilledBatches).toBeGreaterThan(0);
      console.log("goals oracle:", stats);
    },
    PROPERTY_TIMEOUT_MS,
  );

  test("a site's goals are counted only in its own report: another site's events convert nothing", async () => {
    vi.setSystemTime(Date.parse("2026-11-10T12:00:00Z"));
    const t = initConvexTest();
    const a = await createSite(t, "UTC");
    const { siteId: b } = await t.mutation(api.sites.createSite, { slug: "b", name: "B" });
    const [goal] = await createGoals(t, a, [{ name: "Docs", match: { path: "/docs/**" } }]);
    const now = Date.now();
    const event = (id: string) => ({
      id,
      type: "pageview" as const,
      occurredAt: now - 60_000,
      url: "https://example.com/docs/a",
      visitorId: id,
    });
    await ingest(t, a, { batchId: "a1", events: [event("x")] });
    await ingest(t, b, { batchId: "b1", events: [event("y")] });
    await drainAll(t, a);
    await drainAll(t, b);
    const report = await t.query(api.goals.getGoals, {
      siteId: a,
      from: now - DAY,
      to: now + 3_600_000,
    });
    expect(report.goals).toEqual([
      expect.objectContaining({
        goalId: goal!.goalId,
        conversions: 1,
        converters: 1,
        conversionRate: 1,
      }),
    ]);
    const other = await t.query(api.goals.getGoals, {
      siteId: b,
      from: now - DAY,
      to: now + 3_600_000,
    });
    expect(other.goals).toEqual([]);
  });
});
