// A report with a compared period reads each document its two halves share
// once (issue 10): the site, its retention horizons, its goals, and for a
// filtered report answered by scans, the site's cursor. So it reads at most
// what the report and a second call over the compared period read, less those;
// over an empty compared period, exactly what the report alone reads. getGoals
// reads a range's delta documents once for its totals and its goal rows. Counts
// are convex-test's documentsRead, in the report's own transaction.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { QueryCtx } from "./_generated/server.js";
import type { Compare, Filter } from "../shared.js";
import {
  getBreakdownHandler,
  getOverviewHandler,
  getPropertyBreakdownHandler,
  getTimeseriesHandler,
} from "./reports.js";
import { getGoalsHandler } from "./goals.js";
import { compactAll, initConvexTest, runWorkers } from "./test.setup.js";
import { DAY, HOUR } from "./time.js";

const NOW = Date.parse("2026-12-02T12:34:00Z");
const TODAY = Date.parse("2026-12-02T00:00:00Z");
const START = TODAY - 21 * DAY;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

type T = ReturnType<typeof initConvexTest>;
type Range = { from: number; to: number; compare?: Compare; filters?: Filter[] };
type Report = (ctx: QueryCtx, siteId: string, r: Range) => Promise<unknown>;

const REPORTS: Record<string, Report> = {
  getOverview: (ctx, siteId, r) => getOverviewHandler(ctx, { siteId, ...r }),
  getTimeseries: (ctx, siteId, r) => getTimeseriesHandler(ctx, { siteId, ...r }),
  "getBreakdown(page)": (ctx, siteId, r) =>
    getBreakdownHandler(ctx, { siteId, ...r, dimension: "page" }),
  "getPropertyBreakdown(signup.plan)": (ctx, siteId, r) =>
    getPropertyBreakdownHandler(ctx, { siteId, ...r, event: "signup", property: "plan" }),
  getGoals: (ctx, siteId, r) => getGoalsHandler(ctx, { siteId, ...r }),
};

/** One report's result and the documents its transaction read. */
async function measured(t: T, siteId: string, report: Report, r: Range) {
  return await t.run(async (ctx) => {
    const result = (await report(ctx, siteId, r)) as { comparison?: { from: number; to: number } };
    return { result, documents: (await ctx.meta.getTransactionMetrics()).documentsRead.used };
  });
}

/**
 * Three weeks of traffic (a pageview every 5 hours on two pages, every other one
 * with a signup, the last in the open hour), a goal, compacted but for the open hour, and retention run with
 * hours kept 2 days: the site has a horizons document, and the last hour is deltas.
 */
async function siteWithHistory(t: T): Promise<{ siteId: string; openHourDeltas: number }> {
  vi.setSystemTime(START - HOUR);
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug: "compare",
    name: "Compare",
    timezone: "UTC",
    settings: { hourlyRollupRetentionDays: 2, rawRetentionDays: 30 },
  });
  await t.mutation(api.goals.createGoal, { siteId, name: "a", match: { path: "/a" } });
  await runWorkers(t);
  // The last one in the open hour, which compaction leaves as deltas.
  const times = [...Array.from({ length: 100 }, (_, i) => START + i * 5 * HOUR), NOW - 60_000];
  for (const [i, at] of times.entries()) {
    vi.setSystemTime(at + 1_000);
    const visitorId = `v${i % 7}`;
    const url = `https://ex.com/${i % 2 ? "a" : "b"}`;
    const sent = await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: `b${i}`,
      events: [
        { id: `p${i}`, type: "pageview", occurredAt: at, url, visitorId },
        ...(i % 2
          ? [
              {
                id: `s${i}`,
                type: "track" as const,
                name: "signup",
                occurredAt: at + 1,
                url,
                visitorId,
                props: { plan: i % 4 === 1 ? "pro" : "free" },
              },
            ]
          : []),
      ],
    });
    expect(sent, `batch ${i}`).toMatchObject({ accepted: i % 2 ? 2 : 1 });
  }
  vi.setSystemTime(NOW);
  await runWorkers(t);
  await compactAll(t);
  await t.mutation(api.maintenance.applyRetention, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const state = await t.run(async (ctx) => ({
    horizons: await ctx.db.query("rollupHorizons").collect(),
    deltas: (await ctx.db.query("rollupDeltas").collect()).filter((d) => d.interval === "hour"),
  }));
  expect(state.horizons.map((h) => h.hour)).toEqual([Math.floor((NOW - 2 * DAY) / HOUR) * HOUR]);
  // Every closed hour is compacted: what is left is the open hour's.
  expect(state.deltas.map((d) => d.bucketStart)).toEqual(
    state.deltas.map(() => Math.floor(NOW / HOUR) * HOUR),
  );
  expect(state.deltas.length).toBeGreaterThan(0);
  return { siteId, openHourDeltas: state.deltas.length };
}

describe("a compared report reads each shared document once", () => {
  test("every report, every compare mode: at most the report plus the compared period alone, less the site and its horizons; over an empty period, just the report's reads", async () => {
    const t = initConvexTest();
    const { siteId } = await siteWithHistory(t);
    const lastHour = Math.ceil(NOW / HOUR) * HOUR;
    const week = { from: TODAY - 7 * DAY, to: TODAY };
    const day = { from: lastHour - DAY, to: lastHour };
    // Year over year over whole days: a year ago holds nothing (and only days, which are kept).
    const cases: { range: { from: number; to: number }; compare: Compare; empty: boolean }[] = [
      { range: week, compare: "previous", empty: false },
      { range: week, compare: "yearOverYear", empty: true },
      {
        range: week,
        compare: { from: week.from - 10 * DAY, to: week.to - 10 * DAY },
        empty: false,
      },
      { range: day, compare: "previous", empty: false },
      { range: day, compare: { from: day.from - 12 * HOUR, to: day.to - 12 * HOUR }, empty: false },
    ];
    for (const [name, report] of Object.entries(REPORTS)) {
      for (const { range, compare, empty } of cases) {
        const label = `${name} ${JSON.stringify(range)} ${JSON.stringify(compare)}`;
        const base = await measured(t, siteId, report, range);
        const both = await measured(t, siteId, report, { ...range, compare });
        const period = both.result.comparison!;
        const alone = await measured(t, siteId, report, { from: period.from, to: period.to });
        // The site and its horizons document, read by the report and again by the second call.
        expect(both.documents, label).toBeLessThanOrEqual(base.documents + alone.documents - 2);
        if (empty) expect(both.documents, label).toBe(base.documents);
        else expect(alone.documents, label).toBeGreaterThan(2);
      }
    }
  }, 120_000);

  test("getGoals reads the uncompacted hours' delta documents once for its totals and its goal rows", async () => {
    const t = initConvexTest();
    const { siteId, openHourDeltas } = await siteWithHistory(t);
    const openHour = Math.floor(NOW / HOUR) * HOUR;
    // An hour after the data: the site, its horizons, its goals and their backfills only.
    const empty = await measured(t, siteId, REPORTS.getGoals!, {
      from: openHour + HOUR,
      to: openHour + 2 * HOUR,
    });
    // The open hour: no canonical page yet, only its delta documents.
    const open = await measured(t, siteId, REPORTS.getGoals!, {
      from: openHour,
      to: openHour + HOUR,
    });
    expect(open.result).toMatchObject({ visitors: 1 });
    expect(open.documents).toBe(empty.documents + openHourDeltas);
  }, 120_000);

  test("a filtered report answered by scans reads the site's cursor once for both periods", async () => {
    const t = initConvexTest();
    const { siteId } = await siteWithHistory(t);
    // `contains` is never answered from a rollup row: both periods are raw-event scans.
    const filters: Filter[] = [{ dimension: "page", op: "contains", value: "a" }];
    const range = { from: TODAY - 7 * DAY, to: TODAY, filters };
    const compare: Compare = "previous";
    for (const report of ["overview", "timeseries", "breakdown"] as const) {
      const args = {
        siteId,
        report,
        ...range,
        ...(report === "breakdown" ? { dimension: "page" as const } : {}),
      };
      await t.mutation(api.filters.startFilterScan, { ...args, compare });
    }
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    for (const [name, report] of Object.entries(REPORTS).slice(0, 3)) {
      const base = await measured(t, siteId, report, range);
      const both = await measured(t, siteId, report, { ...range, compare });
      const period = both.result.comparison!;
      const alone = await measured(t, siteId, report, { ...range, ...period });
      expect(both.result, name).toMatchObject({ complete: true, stale: false });
      // The site and its cursor, read by the report and again by the second call.
      expect(both.documents, name).toBeLessThanOrEqual(base.documents + alone.documents - 2);
    }
  }, 120_000);
});
