// Every range the API allows (up to 400 days, any IANA zone, any granularity it
// accepts for that range) answers within Convex's limits: transactionLimits
// enforces them (reads, bytes, index ranges), so a plan that needed one index
// range per piece would fail here on "last 400 days" in Asia/Kolkata.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { GRANULARITIES, type Granularity } from "../shared.js";
import { MAX_HOUR_GRANULARITY_MS } from "./reports.js";
import { getGoalsHandler } from "./goals.js";
import { MAX_GOALS_PER_SITE } from "./goalMath.js";
import { compactAll, initConvexTest, runWorkers } from "./test.setup.js";
import { DAY, HOUR, MAX_RANGE_MS, MINUTE } from "./time.js";

const ZONES = [
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
];
const NOW = Date.parse("2026-12-02T12:34:00Z");

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("report limits", () => {
  test("overview, every granularity the API allows, a breakdown and 50 goals answer any range up to 400 days in any zone without hitting a Convex limit", async () => {
    vi.setSystemTime(NOW - 401 * DAY);
    const t = initConvexTest();
    const sites = new Map<string, string>();
    for (const [i, timezone] of ZONES.entries()) {
      sites.set(
        timezone,
        (await t.mutation(api.sites.createSite, { slug: `z${i}`, name: timezone, timezone }))
          .siteId,
      );
    }
    // The most goals a site may have, each converting every pageview: a goal row per goal in every bucket.
    for (const siteId of sites.values())
      for (let g = 0; g < MAX_GOALS_PER_SITE; g++)
        await t.mutation(api.goals.createGoal, { siteId, name: `g${g}`, match: { path: "/**" } });
    // A pageview every 19 days for 400 days in every zone, compacted: canonical hours, days and months exist.
    for (let at = NOW - 400 * DAY; at < NOW; at += 19 * DAY) {
      vi.setSystemTime(at + 1_000);
      for (const siteId of sites.values()) {
        await t.mutation(api.ingest.ingestBatch, {
          siteId,
          batchId: `b${at}`,
          events: [
            {
              id: `e${at}`,
              type: "pageview",
              occurredAt: at,
              url: "https://ex.com/",
              visitorId: `v${at}`,
            },
          ],
        });
      }
    }
    await runWorkers(t);
    await compactAll(t);
    vi.setSystemTime(NOW);

    const worst = { bytes: 0, documents: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: MAX_RANGE_MS - HOUR }),
        fc.integer({ min: 1, max: MAX_RANGE_MS / MINUTE }),
        fc.constantFrom<Granularity | undefined>(undefined, ...GRANULARITIES),
        async (zone, startAgo, minutes, granularity) => {
          const to = NOW - Math.min(startAgo, 399 * DAY) + 17_000;
          const from = Math.max(to - minutes * MINUTE, to - MAX_RANGE_MS + HOUR);
          const args = { siteId: sites.get(zone)!, from, to };
          const allowed =
            granularity === "minute"
              ? from >= NOW - 2 * HOUR + MINUTE
              : granularity === "hour"
                ? to - from <= MAX_HOUR_GRANULARITY_MS - 2 * HOUR
                : true;
          if (!allowed) return;
          const overview = await t.query(api.reports.getOverview, args);
          expect(overview.pageviews).toBeGreaterThanOrEqual(0);
          const series = await t.query(api.reports.getTimeseries, { ...args, granularity });
          expect(series.points.reduce((s, p) => s + p.pageviews, 0)).toBe(overview.pageviews);
          const pages = await t.query(api.reports.getBreakdown, {
            ...args,
            dimension: "page",
            limit: 1000,
          });
          expect(pages.rows.reduce((s, r) => s + r.pageviews, 0)).toBe(overview.pageviews);
          // Goals with a compared period, within the report budgets: 4 MiB and 1,500 documents read.
          const { goals, metrics } = await t.run(async (ctx) => ({
            goals: await getGoalsHandler(ctx, { ...args, compare: "previous" }),
            metrics: await ctx.meta.getTransactionMetrics(),
          }));
          expect(goals.goals.map((g) => g.conversions)).toEqual(
            goals.goals.map(() => overview.pageviews),
          );
          expect(metrics.bytesRead.used).toBeLessThanOrEqual(4 * 1024 * 1024);
          expect(metrics.documentsRead.used).toBeLessThanOrEqual(1_500);
          worst.bytes = Math.max(worst.bytes, metrics.bytesRead.used);
          worst.documents = Math.max(worst.documents, metrics.documentsRead.used);
        },
      ),
      { seed: 20261202, numRuns: 16 },
    );
    console.log("getGoals (50 goals, compare previous), worst read:", worst);
  }, 600_000);
});
