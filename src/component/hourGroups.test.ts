// A closed day's hour pages are grouped into one document per dimension
// (hourGroups.ts): a report cutting the day reads one document instead of one per
// hour, with the same numbers; a group always equals its day's hour pages, after
// every compaction step, late events included; retention deletes it with its
// hours; a day too big to group is read hour by hour.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import type { QueryCtx } from "./_generated/server.js";
import { readHourGroup } from "./canonical.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { GROUP_MAX_BYTES } from "./hourGroups.js";
import { foldIntoCanonical } from "./folding.js";
import { getBreakdownHandler, getOverviewHandler, getTimeseriesHandler } from "./reports.js";
import { row } from "./rows.testlib.js";
import { hashVisitor, sketchOf } from "./sketch.js";
import { initConvexTest, runWorkers } from "./test.setup.js";
import { DAY, HOUR, nextBucket } from "./time.js";

// Convex's 1 MiB document and 8,192-element limits, which convex-test does not apply.
enforceConvexDocumentLimits();

type T = ReturnType<typeof initConvexTest>;

const TZ = "America/New_York";
/** A local day in New York (UTC-5 in December), closed long before NOW. */
const DAY_START = Date.parse("2026-11-20T05:00:00Z");
const NOW = Date.parse("2026-11-24T15:30:00Z");

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Every group equals the counter pages of its day's hours, as they are now. */
async function expectGroupsEqualTheirHours(t: T, label: string) {
  const groups = await t.run(async (ctx) =>
    (await ctx.db.query("rollups").collect()).filter((p) => p.part === "hours"),
  );
  for (const group of groups) {
    const hours = await t.run(async (ctx) =>
      (await ctx.db.query("rollups").collect())
        .filter(
          (p) =>
            p.part === "counters" &&
            p.interval === "hour" &&
            p.dimension === group.dimension &&
            p.generation === group.generation &&
            p.bucketStart >= group.bucketStart &&
            p.bucketStart < nextBucket("day", group.bucketStart, TZ),
        )
        .map((p) => ({
          bucketStart: p.bucketStart,
          rows: [...new Uint8Array(p.rows)],
          rowCount: p.rowCount,
          sketchPageStarts: p.sketchPageStarts,
          inline: p.inline,
        })),
    );
    const grouped = group.hours!.map((h) => ({
      bucketStart: h.bucketStart,
      rows: [...new Uint8Array(h.rows)],
      rowCount: h.rowCount,
      sketchPageStarts: h.sketchPageStarts,
      inline: h.inline,
    }));
    expect(grouped, `${label}: ${group.dimension} group of ${group.bucketStart}`).toEqual(hours);
  }
  return groups;
}

/** Pageviews at the given offsets from DAY_START, one batch each, on three pages and two sources. */
async function ingest(t: T, siteId: string, offsets: number[], tag: string) {
  for (const [i, offset] of offsets.entries()) {
    const at = DAY_START + offset;
    vi.setSystemTime(Math.max(Date.now(), at + 1_000));
    const sent = await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: `${tag}${i}`,
      events: [
        {
          id: `${tag}${i}`,
          type: "pageview",
          occurredAt: at,
          url: `https://ex.com/p${i % 3}?utm_source=s${i % 2}`,
          visitorId: `v${i % 5}`,
        },
      ],
    });
    expect(sent, `${tag} ${i}`).toMatchObject({ accepted: 1 });
  }
}

/** Compaction step by step, checking that every group equals its hours after each one. */
async function compactChecked(t: T, label: string) {
  for (let step = 0; ; step++) {
    const { work } = await t.mutation(internal.compaction.compactStep, {});
    await expectGroupsEqualTheirHours(t, `${label}, step ${step}`);
    if (work === null) return;
  }
}

/** A site in New York, created the day before DAY_START. */
async function newSite(slug: string) {
  const t = initConvexTest();
  vi.setSystemTime(DAY_START - DAY);
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug,
    name: slug,
    timezone: TZ,
    settings: { rawRetentionDays: 30 },
  });
  return { t, siteId: siteId as Id<"sites"> };
}

async function setUp() {
  const { t, siteId } = await newSite("groups");
  await runWorkers(t);
  // The day before (so a range can start there), the day itself hour after hour, and the next day.
  const offsets = [
    -20 * HOUR,
    -3 * HOUR,
    ...Array.from({ length: 18 }, (_, i) => (3 + i) * HOUR + i * 60_000),
    26 * HOUR,
    40 * HOUR,
  ];
  await ingest(t, siteId, offsets, "a");
  vi.setSystemTime(NOW);
  await runWorkers(t);
  await compactChecked(t, "first compaction");
  return { t, siteId };
}

/** The reports a cut day matters to, and the documents their transaction read. */
async function reportsOver(t: T, siteId: string, from: number, to: number) {
  return await t.run(async (ctx: QueryCtx) => {
    const results = {
      overview: await getOverviewHandler(ctx, { siteId, from, to }),
      pages: await getBreakdownHandler(ctx, { siteId, from, to, dimension: "page" }),
      sources: await getBreakdownHandler(ctx, { siteId, from, to, dimension: "utmSource" }),
      hourly: await getTimeseriesHandler(ctx, { siteId, from, to, granularity: "hour" }),
    };
    return { results, documents: (await ctx.meta.getTransactionMetrics()).documentsRead.used };
  });
}

async function deleteGroups(t: T) {
  await t.run(async (ctx) => {
    for (const page of await ctx.db.query("rollups").collect())
      if (page.part === "hours") await ctx.db.delete("rollups", page._id);
  });
}

describe("hour groups", () => {
  test("a closed day is grouped per dimension; a range cutting it reads one document per dimension instead of one per hour, with the same numbers", async () => {
    const { t, siteId } = await setUp();
    const groups = await expectGroupsEqualTheirHours(t, "compacted");
    const ofDay = (g: Doc<"rollups">) => g.bucketStart === DAY_START;
    // Every dimension with more than one hour in the day (total, page, source, …).
    for (const dimension of ["total", "page", "utmSource", "entryPage", "channel"] as const)
      expect(
        groups.some((g) => ofDay(g) && g.dimension === dimension),
        dimension,
      ).toBe(true);
    expect(groups.find((g) => ofDay(g) && g.dimension === "total")!.hours).toHaveLength(18);
    // No work is left queued: every day with folded hours was taken.
    expect(await t.run((ctx) => ctx.db.query("hourGroupWork").collect())).toEqual([]);

    // From the day before's last hours, into the middle of the grouped day; and within the day.
    const ranges = [
      { from: DAY_START - 4 * HOUR, to: DAY_START + 14 * HOUR },
      { from: DAY_START + 5 * HOUR, to: DAY_START + 9 * HOUR },
      { from: DAY_START + 6 * HOUR, to: DAY_START + 2 * DAY },
    ];
    for (const range of ranges) {
      const grouped = await reportsOver(t, siteId, range.from, range.to);
      expect(grouped.results.overview.pageviews, JSON.stringify(range)).toBeGreaterThan(0);
      await deleteGroups(t);
      const hourByHour = await reportsOver(t, siteId, range.from, range.to);
      expect(grouped.results, JSON.stringify(range)).toEqual(hourByHour.results);
      expect(grouped.documents, JSON.stringify(range)).toBeLessThan(hourByHour.documents);
      // Back as they were: a day's hour is folded again (a late event), and compaction regroups.
      await ingest(t, siteId, [7 * HOUR + 30_000 + ranges.indexOf(range)], `late${range.from}`);
      await runWorkers(t);
      await compactChecked(t, "regrouped");
      const regrouped = await reportsOver(t, siteId, range.from, range.to);
      expect(regrouped.documents, JSON.stringify(range)).toBe(grouped.documents);
      expect(regrouped.results.overview.pageviews).toBe(grouped.results.overview.pageviews + 1);
    }
  }, 120_000);

  test("a late event drops its day's group in the step that folds it, and the day is grouped again with it", async () => {
    const { t, siteId } = await setUp();
    const before = await t.run((ctx) =>
      readHourGroup(ctx, { siteId, generation: 0 }, "page", DAY_START),
    );
    expect(before!.hours).toHaveLength(18);
    // An hour the day had no event in, two days late.
    await ingest(t, siteId, [22 * HOUR + 5 * 60_000], "late");
    await runWorkers(t);
    await compactChecked(t, "late");
    const after = await t.run((ctx) =>
      readHourGroup(ctx, { siteId, generation: 0 }, "page", DAY_START),
    );
    expect(after!.hours.map((h) => h.bucketStart)).toContain(DAY_START + 22 * HOUR);
    expect(after!.hours).toHaveLength(19);
    const { results } = await reportsOver(t, siteId, DAY_START + 20 * HOUR, DAY_START + 23 * HOUR);
    // 20:17 and the late 22:05.
    expect(results.overview.pageviews).toBe(2);
  }, 120_000);

  test("hourly retention deletes a day's group with its hours, and a report from the horizon on reads the hours left", async () => {
    const { t, siteId } = await setUp();
    await t.mutation(api.sites.updateSite, {
      siteId,
      settings: { rawRetentionDays: 30, hourlyRollupRetentionDays: 3 },
    });
    // The hour horizon lands inside the grouped day, at 12:00 local.
    vi.setSystemTime(DAY_START + 3 * DAY + 12 * HOUR + 10 * 60_000);
    await t.mutation(api.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => await ctx.db.query("rollups").collect());
    const hourPages = left.filter((p) => p.interval === "hour");
    expect(hourPages.filter((p) => p.part === "hours" && p.bucketStart <= DAY_START)).toEqual([]);
    expect(hourPages.filter((p) => p.bucketStart < DAY_START + 12 * HOUR)).toEqual([]);
    expect(hourPages.some((p) => p.bucketStart >= DAY_START + 12 * HOUR)).toBe(true);
    const { results } = await reportsOver(t, siteId, DAY_START + 12 * HOUR, DAY_START + 18 * HOUR);
    expect(results.overview.pageviews).toBe(6);
  }, 120_000);

  test("a dimension whose day takes more than GROUP_MAX_BYTES, or an hour of several counter pages, is not grouped; the others are", async () => {
    const { t, siteId } = await newSite("big");
    const owner = { siteId, generation: 0 };
    const visitors = (prefix: string, n: number) =>
      sketchOf(Array.from({ length: n }, (_, i) => hashVisitor(`${prefix}-${i}`)));
    const rowsOf = (hour: number, keys: number) =>
      Array.from({ length: keys }, (_, k) =>
        row(`/a-long-page-path-of-some-length/${k}`, {
          events: 1,
          pageviews: 1,
          entries: 1,
          bounces: 0,
          durationMs: 0,
          visitors: visitors(`${hour}:${k}`, 1),
        }),
      );
    vi.setSystemTime(NOW);
    // Page: 3 hours of 2,000 keys (about 70 KiB of counter rows each, 210 KiB together).
    // Browser: 3 hours of one row each.
    await t.run(async (ctx) => {
      for (const h of [2, 3, 4]) {
        const hour = DAY_START + h * HOUR;
        await foldIntoCanonical(ctx, owner, "hour", hour, "page", rowsOf(hour, 2_000), 2_000);
        await foldIntoCanonical(ctx, owner, "hour", hour, "browser", rowsOf(hour, 1), 2_000);
      }
      await ctx.db.insert("hourGroupWork", {
        ...owner,
        dayStart: DAY_START,
        dayEnd: DAY_START + DAY,
      });
    });
    const pageBytes = await t.run(async (ctx) =>
      (await ctx.db.query("rollups").collect())
        .filter((p) => p.dimension === "page" && p.part === "counters")
        .reduce((sum, p) => sum + p.rows.byteLength, 0),
    );
    expect(pageBytes).toBeGreaterThan(GROUP_MAX_BYTES);
    while ((await t.mutation(internal.compaction.compactStep, {})).work !== null);
    const groups = await expectGroupsEqualTheirHours(t, "big");
    expect(groups.map((g) => g.dimension)).toEqual(["browser"]);
    // Reports still read the page hours one by one, and count them all.
    const { results } = await reportsOver(t, siteId, DAY_START + 2 * HOUR, DAY_START + 4 * HOUR);
    // Each key was seen in both hours.
    expect(results.pages.rows.length).toBeGreaterThan(0);
    for (const r of results.pages.rows) expect(r.pageviews, r.key).toBe(2);
  }, 120_000);
});
