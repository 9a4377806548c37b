// Raw retention and a scan still collecting: a filtered report near the raw
// retention edge reads batches in creation order, a page a step, while the
// retention cron deletes the oldest. Retention keeps every batch a collecting
// scan has yet to read (scans.ts rawHeldFrom), so the scan's answer is whole,
// and deletes them once the scan has moved on.
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { Filter } from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { createSite, drainAll, ingest } from "./oracle.harness.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR } from "./time.js";

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const RETENTION_DAYS = 8;
const START = Date.parse("2026-10-01T00:00:00Z");
// Every event passes it, so the scan must agree with the unfiltered rollups.
const EVERYONE: Filter[] = [{ dimension: "country", op: "isNot", value: "ZZ" }];

test("retention keeps the raw batches a collecting scan has yet to read, and deletes them once it has", async () => {
  // Creation times only grow (convex-test keeps them monotonic): start before the traffic.
  vi.setSystemTime(START - DAY);
  const t = initConvexTest();
  const siteId = await createSite(t, "UTC");
  await t.mutation(api.sites.updateSite, {
    siteId,
    settings: { rawRetentionDays: RETENTION_DAYS },
  });
  // Two days of traffic, a batch an hour, three visitors taking turns.
  for (let h = 0; h < 48; h++) {
    const at = START + h * HOUR + 10 * 60_000;
    await ingest(t, siteId, {
      batchId: `b${h}`,
      events: [
        {
          id: `b${h}-0`,
          type: "pageview",
          occurredAt: at,
          url: `https://ex.com/p${h % 5}`,
          visitorId: `v${h % 3}`,
        },
        {
          id: `b${h}-1`,
          type: "track",
          name: "click",
          occurredAt: at + 1_000,
          url: `https://ex.com/p${h % 5}`,
          visitorId: `v${h % 3}`,
        },
      ],
    });
  }
  await drainAll(t, siteId);
  const batches = () => t.run(async (ctx) => (await ctx.db.query("batches").collect()).length);
  expect(await batches()).toBe(48);

  // The range starts just inside raw retention, so the scan is allowed.
  const from = START;
  const to = START + 2 * DAY;
  const askedAt = from + RETENTION_DAYS * DAY - HOUR;
  vi.setSystemTime(askedAt);
  const args = { siteId, from, to, filters: EVERYONE };
  const { scanId } = await t.mutation(api.filters.startFilterScan, { report: "overview", ...args });
  expect(scanId).not.toBeNull();
  // Its chain is lost before its first step; meanwhile the range passes the retention horizon.
  await t.run(async (ctx) => {
    for (const job of await ctx.db.system.query("_scheduled_functions").collect())
      if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
  });
  vi.setSystemTime(to + RETENTION_DAYS * DAY + HOUR);
  const pastEveryBatch = Date.now() - RETENTION_DAYS * DAY;
  await t.mutation(internal.maintenance.pruneRaw, {
    siteId: siteId as Id<"sites">,
    before: pastEveryBatch,
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await batches()).toBe(48);

  // The scan resumes and reads every batch of its range.
  for (let step = 0; step < 100; step++) {
    const scan = await t.run(async (ctx) => await ctx.db.get("scans", scanId as Id<"scans">));
    if (scan!.phase === "done") break;
    await t.mutation(internal.scans.scanStep, { scanId: scanId as Id<"scans"> });
  }
  // Read as when it was asked for (the report refuses the range now that it is past retention).
  const now = Date.now();
  vi.setSystemTime(askedAt);
  const filtered = await t.query(api.reports.getOverview, args);
  const unfiltered = await t.query(api.reports.getOverview, { siteId, from, to });
  expect(filtered.complete).toBe(true);
  expect({
    pageviews: filtered.pageviews,
    events: filtered.events,
    visitors: filtered.visitors,
  }).toEqual({
    pageviews: 48,
    events: 96,
    visitors: unfiltered.visitors,
  });
  expect(unfiltered.pageviews).toBe(48);
  vi.setSystemTime(now);

  // Past collecting, the scan holds nothing back: the next run deletes every batch.
  await t.mutation(internal.maintenance.pruneRaw, {
    siteId: siteId as Id<"sites">,
    before: pastEveryBatch,
  });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await batches()).toBe(0);
});
