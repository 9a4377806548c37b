// A scanned filter on a dense range: 6,000 visitors, where rollup visitors are
// HyperLogLog estimates, a scan counts visitor ids, so its visitors are exact
// (filters.test.ts has the random streams). Raw history is stored as processed
// batches directly (as bench/scans.bench.test.ts does), so no worker runs.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { AnalyticsEvent, Filter } from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { createSite } from "./oracle.harness.testlib.js";
import { buildModel, oracleBreakdown, oracleOverview } from "./oracle.testlib.js";
import { filterModel } from "./oracle.filters.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR, MINUTE } from "./time.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const T0 = Date.parse("2026-10-20T00:00:00Z");
const PAGES = ["/", "/", "/", "/pricing", "/docs", "/blog/a"];
const COUNTRIES = ["US", "US", "DE", "IN"];

test("a scanned filter's visitors are exact on a range with 6,000 visitors", async () => {
  vi.setSystemTime(T0 - DAY);
  const t = initConvexTest();
  const siteId = (await createSite(t, "UTC")) as Id<"sites">;
  // Each visitor: a landing pageview, and a second one 10 minutes later for every third.
  const events: AnalyticsEvent[] = [];
  for (let i = 0; i < 6_000; i++) {
    const base = { visitorId: `dense-${i}`, country: COUNTRIES[i % 4]! };
    const at = T0 + (i % 20) * HOUR + (i % 600) * 1_000;
    events.push({
      ...base,
      id: `e${i}a`,
      type: "pageview",
      occurredAt: at,
      url: `https://example.com${PAGES[i % 6]}`,
    });
    if (i % 3 === 0)
      events.push({
        ...base,
        id: `e${i}b`,
        type: "pageview",
        occurredAt: at + 10 * MINUTE,
        url: "https://example.com/pricing",
      });
  }
  vi.setSystemTime(T0 + DAY);
  for (let i = 0; i < events.length; i += 2_000)
    await t.run(async (ctx) => {
      for (let j = i; j < Math.min(i + 2_000, events.length); j += 100)
        await ctx.db.insert("batches", {
          siteId,
          batchId: `b${j}`,
          events: events.slice(j, j + 100),
        });
    });
  vi.setSystemTime(T0 + DAY + HOUR);
  await t.run(async (ctx) => {
    await ctx.db.insert("siteCursors", { siteId, creationTime: Date.now(), ids: [], retry: [] });
  });
  const model = buildModel(events);
  const range = { siteId, from: T0, to: T0 + DAY };
  const run = async (scanId: string | null) => {
    const id = scanId as Id<"scans">;
    while ((await t.run(async (ctx) => (await ctx.db.get("scans", id))!.phase)) !== "done")
      await t.mutation(internal.scans.scanStep, { scanId: id });
  };
  const filters: Filter[] = [
    { dimension: "page", op: "is", value: "/" },
    { dimension: "country", op: "isNot", value: "DE" },
  ];
  await run(
    (await t.mutation(api.filters.startFilterScan, { report: "overview", ...range, filters }))
      .scanId,
  );
  const overview = await t.query(api.reports.getOverview, { ...range, filters });
  expect(overview).toEqual({
    ...oracleOverview(filterModel(model, filters), range.from, range.to),
    complete: true,
    stale: false,
    error: null,
    scannedEvents: events.length,
  });
  expect(overview.visitors).toBe(2_000); // i % 12 in {0, 1, 7, 8}: on "/", not in Germany
  const byPage: Filter[] = [{ dimension: "country", op: "is", value: "US" }];
  const args = { ...range, filters: byPage, dimension: "page" as const, limit: 10 };
  await run(
    (await t.mutation(api.filters.startFilterScan, { report: "breakdown", ...args })).scanId,
  );
  expect(await t.query(api.reports.getBreakdown, args)).toEqual({
    ...oracleBreakdown(filterModel(model, byPage), range.from, range.to, "page", 10),
    complete: true,
    stale: false,
    error: null,
    scannedEvents: events.length,
  });
});
