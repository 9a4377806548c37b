// Invariant I6 (right numbers) on dense days: with 5,000 or more distinct visitors the
// total and busiest page rows go dense (HyperLogLog), and unique visitors must stay
// within 2% of the truth, overall, per page, per goal (converters) and under a
// rollup-answered filter, before and after compaction, while pageviews, sessions,
// entries and conversions stay exact. (Scanned filters count visitor ids:
// filtersDense.test.ts checks them exact on a dense range.) The harness that drives
// the product is oracle.harness.testlib.ts, shared with the oracle property in oracle.test.ts.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { type AnalyticsEvent } from "../shared.js";
import { pagePath } from "./events.js";
import { DST_DAY, type Batch } from "./oracle.streams.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  compactAll,
  createSite,
  drainAll,
  ingest,
  iso,
} from "./oracle.harness.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { DAY, HOUR } from "./time.js";

/**
 * Dense days go through the real ingest and worker, which looks up one session per visitor; stock convex-test
 * scans a whole table on every indexed read, so `npm test` stays at 5,000-6,000 visitors (about 10 s each).
 * ORACLE_DENSE_MAX=30000 covers the rest of the range in minutes.
 */
const DENSE_RUNS = Number(process.env.ORACLE_DENSE_RUNS ?? 2);
const DENSE_MIN = Number(process.env.ORACLE_DENSE_MIN ?? 5_000);
const DENSE_MAX = Number(process.env.ORACLE_DENSE_MAX ?? 6_000);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- dense days

/** Page shares 60/25/10/5%: the total and "/" rows go dense (HyperLogLog), the smaller pages stay sparse (exact). */
const DENSE_PAGES = [
  ...Array<string>(12).fill("/"),
  ...Array<string>(5).fill("/pricing"),
  "/docs",
  "/docs",
  "/blog/dst-explained",
];
const withinTwoPercent = (estimate: number, truth: number) =>
  Math.abs(estimate - truth) <= 0.02 * truth;

async function runDenseDay({
  visitors,
  salt,
  compactAfter,
}: {
  visitors: number;
  salt: number;
  compactAfter: number;
}): Promise<void> {
  vi.clearAllTimers();
  vi.setSystemTime(DST_DAY.from - DAY);
  const t = initConvexTest();
  const siteId = await createSite(t);
  // Every visitor converts the first goal (a dense sketch), a quarter of them the second.
  const goals = [
    { name: "Any page", match: { path: "/**" } },
    { name: "Pricing", match: { path: "/pricing" } },
  ];
  for (const goal of goals) await t.mutation(api.goals.createGoal, { siteId, ...goal });
  // One pageview per visitor over the 25 hours of the DST day, in the first minute of each hour (few minute buckets).
  const events: AnalyticsEvent[] = Array.from({ length: visitors }, (_, i) => ({
    id: `d${i}`,
    type: "pageview" as const,
    occurredAt: DST_DAY.from + (i % 25) * HOUR + (i % 997) * 50,
    url: `https://example.com${DENSE_PAGES[(i * 7 + salt) % DENSE_PAGES.length]}`,
    visitorId: `dense-${salt}-${i}`,
  }));
  const batches: Batch[] = [];
  for (let i = 0; i < events.length; i += 100)
    batches.push({ batchId: `dense-b${i / 100}`, events: events.slice(i, i + 100) });
  // Every visitor comes once, so a processed visitor's session is never looked up again. Stock convex-test
  // scans the whole table on every indexed read, and the worker looks up one session per visitor, so the
  // harness drops processed sessions (never a rollup) to keep that scan small.
  const drainAndForget = async () => {
    await drainAll(t, siteId);
    await t.run(async (ctx) => {
      for (const s of await ctx.db.query("sessions").collect())
        await ctx.db.delete("sessions", s._id);
      return null;
    });
  };
  for (const [n, batch] of batches.entries()) {
    expect((await ingest(t, siteId, batch)).accepted).toBe(batch.events.length);
    if (n % 5 === 4) await drainAndForget();
    if (n === compactAfter % batches.length) await compactAll(t);
  }
  await drainAndForget();

  const truth = (from: number, to: number) => {
    const inRange = events.filter((e) => e.occurredAt >= from && e.occurredAt < to);
    const pages = new Map<string, number>();
    for (const e of inRange) pages.set(pagePath(e.url), (pages.get(pagePath(e.url)) ?? 0) + 1);
    return { visitors: inRange.length, pages };
  };
  const ranges = [
    DST_DAY, // one day piece
    { from: DST_DAY.from + 5 * HOUR, to: DST_DAY.to }, // twenty hour pieces
    { from: DST_DAY.from - 2 * DAY, to: DST_DAY.to + DAY - HOUR }, // days and hours
  ];
  const check = async (label: string) => {
    for (const { from, to } of ranges) {
      const where = `${label} [${iso(from)}, ${iso(to)}) with ${visitors} visitors`;
      const want = truth(from, to);
      const overview = await t.query(api.reports.getOverview, { siteId, from, to });
      expect(overview.pageviews, `pageviews ${where}`).toBe(want.visitors);
      expect(overview.sessions, `sessions ${where}`).toBe(want.visitors);
      expect(
        withinTwoPercent(overview.visitors, want.visitors),
        `overview visitors ${overview.visitors} vs ${want.visitors} ${where}`,
      ).toBe(true);
      const { rows } = await t.query(api.reports.getBreakdown, {
        siteId,
        from,
        to,
        dimension: "page",
        limit: 1000,
      });
      expect(
        rows.map((r) => [r.key, r.pageviews, r.entries]),
        `page rows ${where}`,
      ).toEqual(
        [...want.pages.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]) => [key, n, n]),
      );
      // Goals: conversions exact, converters within 2%, the rate their ratio to the visitors.
      const report = await t.query(api.goals.getGoals, { siteId, from, to });
      const converting = [want.visitors, want.pages.get("/pricing") ?? 0];
      expect(report.visitors).toBe(overview.visitors);
      for (const [i, goal] of report.goals.entries()) {
        expect(goal.conversions, `goal ${goal.name} conversions ${where}`).toBe(converting[i]);
        expect(
          withinTwoPercent(goal.converters, converting[i]!),
          `goal ${goal.name} converters ${goal.converters} vs ${converting[i]} ${where}`,
        ).toBe(true);
        expect(goal.conversionRate).toBe(
          overview.visitors === 0 ? null : goal.converters / overview.visitors,
        );
      }
      for (const row of rows) {
        const n = want.pages.get(row.key)!;
        expect(
          withinTwoPercent(row.visitors, n),
          `page ${row.key} visitors ${row.visitors} vs ${n} ${where}`,
        ).toBe(true);
      }
      // A rollup-answered filter (README "Filters") is the dense "/" row: exact counters, visitors within 2%.
      const home = want.pages.get("/") ?? 0;
      const filtered = await t.query(api.reports.getOverview, {
        ...{ siteId, from, to },
        filters: [{ dimension: "page", op: "is", value: "/" }],
      });
      expect(
        [filtered.pageviews, filtered.sessions, filtered.complete],
        `page is / ${where}`,
      ).toEqual([home, home, true]);
      expect(
        withinTwoPercent(filtered.visitors, home),
        `page is / visitors ${filtered.visitors} vs ${home} ${where}`,
      ).toBe(true);
    }
  };
  await check("before final compaction");
  await compactAll(t);
  await check("after final compaction");
}

// ---------------------------------------------------------------- tests

describe("oracle", () => {
  const dense = `${DENSE_MIN.toLocaleString("en-US")} to ${DENSE_MAX.toLocaleString("en-US")}`;
  test(
    `unique visitors are within 2% of the truth, overall and per page, on a day with ${dense} distinct visitors`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            visitors: fc.integer({ min: DENSE_MIN, max: DENSE_MAX }),
            salt: fc.nat({ max: 19 }),
            compactAfter: fc.nat(),
          }),
          runDenseDay,
        ),
        { seed: SEED, numRuns: DENSE_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
