// The raw-event scan behind filtered reports, beyond its numbers (filters.test.ts
// checks those against the oracle): a scan whose chain dies is resumed by the
// kick, a repeat view reads the cached scan until new data makes it stale, and
// the refusals (a range past raw retention, minute points, a breakdown by total);
// goal filters: their scan is keyed by the goal's definition, and their refusals.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { AnalyticsEvent, Filter } from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { SEED, createSite, drainAll, ingest } from "./oracle.harness.testlib.js";
import { arbScenario } from "./oracle.streams.testlib.js";
import { oracleBreakdown } from "./oracle.testlib.js";
import { filterModel } from "./oracle.filters.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { SCAN_LEASE_MS, SCAN_PARTITIONS } from "./scans.js";
import { DAY, HOUR, MINUTE, alignRange, hourPhase } from "./time.js";
import { inRange, ingestScenario, scanToEnd } from "./filters.testlib.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("filters", () => {
  test("a scan whose chain dies shows a partial answer, then the kick resumes it to the oracle's", async () => {
    const scenario = fc.sample(
      arbScenario.filter((s) => s.visitors.length >= 3),
      { seed: SEED, numRuns: 1 },
    )[0]!;
    const t = initConvexTest();
    const { siteId, model, processed } = await ingestScenario(t, scenario);
    const from = Date.parse("2026-10-10T00:00:00Z");
    const to = Date.parse("2026-12-04T00:00:00Z");
    const { from: f, to: tt } = alignRange(from, to, HOUR, hourPhase(scenario.timezone));
    const filters: Filter[] = [
      { dimension: "country", op: "isNot", value: "DE" },
      { dimension: "page", op: "contains", value: "/" },
    ];
    const args = { siteId, from, to, filters, dimension: "page" as const, limit: 1000 };
    const expected = oracleBreakdown(filterModel(model, filters), f, tt, "page", 1000);
    const { scanId } = await t.mutation(api.filters.startFilterScan, {
      report: "breakdown",
      ...args,
    });
    expect(scanId).not.toBeNull();
    for (let i = 0; i < 1 + SCAN_PARTITIONS / 2; i++)
      await t.mutation(internal.scans.scanStep, { scanId: scanId as Id<"scans"> });
    await t.run(async (ctx) => {
      for (const job of await ctx.db.system.query("_scheduled_functions").collect())
        if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
    });
    const partial = await t.query(api.reports.getBreakdown, args);
    expect(partial.complete).toBe(false);
    for (const row of partial.rows)
      expect(row.visitors).toBeLessThanOrEqual(
        expected.rows.find((r) => r.key === row.key)!.visitors,
      );
    vi.advanceTimersByTime(SCAN_LEASE_MS + 1);
    await t.mutation(api.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.query(api.reports.getBreakdown, args)).toEqual({
      ...expected,
      complete: true,
      stale: false,
      error: null,
      scannedEvents: inRange(processed, f, tt),
    });
    const left = await t.run(async (ctx) => (await ctx.db.query("scanParts").collect()).length);
    expect(left).toBe(0);
  });

  test("a repeat view reads the cached scan; new data makes it stale until a new scan replaces it", async () => {
    const T0 = Date.parse("2026-10-20T00:00:00Z");
    vi.setSystemTime(T0 - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const page = (id: string, minute: number, path: string, country: string): AnalyticsEvent => ({
      id,
      type: "pageview",
      occurredAt: T0 + minute * MINUTE,
      url: `https://shop.test${path}`,
      visitorId: id.slice(0, 2),
      country,
    });
    await ingest(t, siteId, {
      batchId: "b1",
      events: [page("v1-1", 10, "/", "US"), page("v1-2", 11, "/pricing", "US")],
    });
    await drainAll(t, siteId);
    const args = {
      siteId,
      from: T0,
      to: T0 + 2 * HOUR,
      filters: [
        { dimension: "country", op: "is", value: "US" },
        { dimension: "page", op: "is", value: "/pricing" },
      ] as Filter[],
    };
    // Before any scan: an empty, incomplete answer.
    expect(await t.query(api.reports.getOverview, args)).toMatchObject({
      visitors: 0,
      complete: false,
      scannedEvents: 0,
    });
    await scanToEnd(t, { report: "overview", ...args });
    const first = await t.query(api.reports.getOverview, args);
    expect(first).toMatchObject({ visitors: 1, pageviews: 1, complete: true, stale: false });
    // Starting again reuses the scan: no new row, nothing scheduled.
    expect(await t.mutation(api.filters.startFilterScan, { report: "overview", ...args })).toEqual(
      await t.mutation(api.filters.startFilterScan, { report: "overview", ...args }),
    );
    expect(await t.run(async (ctx) => (await ctx.db.query("scans").collect()).length)).toBe(1);
    await ingest(t, siteId, { batchId: "b2", events: [page("v2-1", 20, "/pricing", "US")] });
    await drainAll(t, siteId);
    expect(await t.query(api.reports.getOverview, args)).toEqual({ ...first, stale: true });
    await scanToEnd(t, { report: "overview", ...args });
    expect(await t.query(api.reports.getOverview, args)).toMatchObject({
      visitors: 2,
      pageviews: 2,
      complete: true,
      stale: false,
      scannedEvents: 3,
    });
    expect(await t.run(async (ctx) => (await ctx.db.query("scans").collect()).length)).toBe(1);
    // Rollup-answered and unfiltered reports start no scan.
    expect(
      await t.mutation(api.filters.startFilterScan, {
        report: "overview",
        siteId,
        from: T0,
        to: T0 + HOUR,
        filters: [{ dimension: "country", op: "is", value: "US" }],
      }),
    ).toEqual({ scanId: null });
  });

  test("refusals: a scan past the raw retention, minute points, a filtered breakdown by total", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T00:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const range = { siteId, from: Date.now() - HOUR, to: Date.now() };
    const two: Filter[] = [
      { dimension: "country", op: "is", value: "US" },
      { dimension: "page", op: "is", value: "/" },
    ];
    await expect(
      t.query(api.reports.getOverview, { ...range, from: Date.now() - 91 * DAY, filters: two }),
    ).rejects.toThrow("which are kept 90 days (rawRetentionDays)");
    await expect(
      t.query(api.reports.getOverview, { ...range, filters: two, compare: "yearOverYear" }),
    ).rejects.toThrow("which are kept 90 days (rawRetentionDays)");
    // A rollup answers one `is` filter however old the range (while its rollups are kept).
    await t.query(api.reports.getOverview, {
      ...range,
      from: Date.now() - 91 * DAY,
      filters: [two[0]!],
    });
    await expect(
      t.query(api.reports.getTimeseries, { ...range, filters: two, granularity: "minute" }),
    ).rejects.toThrow("no minute points");
    await expect(
      t.query(api.reports.getTimeseries, {
        ...range,
        filters: [two[0]!],
        granularity: "minute",
      }),
    ).rejects.toThrow("no minute points");
    await expect(
      t.query(api.reports.getBreakdown, { ...range, filters: two, dimension: "total" }),
    ).rejects.toThrow("use getOverview");
  });

  test("goal filters: the goal's conversions, a new scan when its definition changes, refusals", async () => {
    const T0 = Date.parse("2026-10-20T00:00:00Z");
    vi.setSystemTime(T0 - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const { goalId } = await t.mutation(api.goals.createGoal, {
      siteId,
      name: "Pro signup",
      match: { event: "signup", props: { plan: "pro" } },
    });
    const event = (id: string, minute: number, path: string, plan?: string): AnalyticsEvent => ({
      id,
      type: plan === undefined ? "pageview" : "track",
      ...(plan === undefined ? {} : { name: "signup", props: { plan } }),
      occurredAt: T0 + minute * MINUTE,
      url: `https://shop.test${path}`,
      visitorId: id.slice(0, 2),
    });
    await ingest(t, siteId, {
      batchId: "b1",
      events: [
        event("v1-1", 10, "/docs"),
        event("v1-2", 11, "/docs", "pro"),
        event("v2-1", 12, "/pricing"),
        event("v2-2", 13, "/pricing", "free"),
        // A session whose entry converts: it counts under the goal.
        event("v3-1", 20, "/", "pro"),
      ],
    });
    await drainAll(t, siteId);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const range = { siteId, from: T0, to: T0 + 2 * HOUR };
    const is: Filter[] = [{ dimension: "goal", op: "is", value: goalId }];
    // One goal filter is scanned: a goal row has no sessions (its durationMs is revenue).
    const { scanId } = await t.mutation(api.filters.startFilterScan, {
      report: "overview",
      ...range,
      filters: is,
    });
    expect(scanId).not.toBeNull();
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const converted = {
      visitors: 2,
      pageviews: 0,
      events: 2,
      sessions: 1,
      bounceRate: 1,
      avgSessionDurationMs: 0,
      viewsPerSession: 0,
      complete: true,
      stale: false,
      error: null,
      scannedEvents: 5,
    };
    expect(await t.query(api.reports.getOverview, { ...range, filters: is })).toEqual(converted);
    // The goal's own counts (the worker's rollup) agree: its conversions and converters.
    expect((await t.query(api.goals.getGoals, range)).goals).toMatchObject([
      { goalId, conversions: converted.events, converters: converted.visitors },
    ]);
    const isNot: Filter[] = [{ dimension: "goal", op: "isNot", value: goalId }];
    await scanToEnd(t, { report: "overview", ...range, filters: isNot });
    expect(await t.query(api.reports.getOverview, { ...range, filters: isNot })).toMatchObject({
      visitors: 2,
      pageviews: 2,
      events: 3,
      sessions: 2,
      complete: true,
    });
    // The goal's definition is in the scan's key: an edited goal is a new scan, never the old answer.
    await t.run(async (ctx) => {
      await ctx.db.patch("goals", goalId as Id<"goals">, { match: { event: "signup" } });
    });
    expect(await t.query(api.reports.getOverview, { ...range, filters: is })).toMatchObject({
      visitors: 0,
      events: 0,
      complete: false,
      scannedEvents: 0,
    });
    await scanToEnd(t, { report: "overview", ...range, filters: is });
    expect(await t.query(api.reports.getOverview, { ...range, filters: is })).toMatchObject({
      visitors: 3,
      events: 3,
      sessions: 1,
      complete: true,
    });
    // Refusals: contains, an unknown goal, a deleted one, another site's.
    await expect(
      t.query(api.reports.getOverview, {
        ...range,
        filters: [{ dimension: "goal", op: "contains", value: goalId }],
      }),
    ).rejects.toThrow("A goal filter has no `contains`");
    const none = "Unknown goal";
    for (const value of ["signup", goalId.slice(0, -1) + (goalId.endsWith("a") ? "b" : "a")])
      await expect(
        t.query(api.reports.getBreakdown, {
          ...range,
          dimension: "page",
          filters: [{ dimension: "goal", op: "is", value }],
        }),
      ).rejects.toThrow(none);
    const other = (
      await t.mutation(api.sites.createSite, { slug: "other", name: "Other", timezone: "UTC" })
    ).siteId;
    const { goalId: othersGoal } = await t.mutation(api.goals.createGoal, {
      siteId: other,
      name: "Docs",
      match: { path: "/docs" },
    });
    const theirs: Filter[] = [{ dimension: "goal", op: "is", value: othersGoal }];
    await expect(t.query(api.reports.getOverview, { ...range, filters: theirs })).rejects.toThrow(
      none,
    );
    await expect(
      t.mutation(api.filters.startFilterScan, { report: "overview", ...range, filters: theirs }),
    ).rejects.toThrow(none);
    await t.mutation(api.goals.deleteGoal, { siteId, goalId });
    await expect(
      t.query(api.reports.getTimeseries, { ...range, granularity: "hour", filters: is }),
    ).rejects.toThrow(none);
  });
});
