// Compaction folds one canonical level at a time when a big site's page sets do not all fit one
// step's byte budget (compaction.ts foldLevels): the staged rows are marked with the levels that
// hold them, and reports count each staged row only under the levels that do not. These tests
// drive a big site's day through every partial state and check, after every step, that each
// level (hour, day, month) holds every row exactly once, counting what is still staged, and that
// no step reads or writes more than a quarter of Convex's limits.
import { expect, test } from "vitest";
import type { Id } from "./_generated/dataModel.js";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import { readCanonicalRows, type CanonicalInterval } from "./canonical.js";
import { compactStepHandler } from "./compaction.js";
import { FOLD_READ_BYTES, foldIntoCanonical, stage } from "./folding.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { readUncompacted } from "./rangeRows.js";
import { getOverviewHandler, getTimeseriesHandler } from "./reports.js";
import { COUNTERS, RowMap, TOTAL_KEY, rowBytes, type Row } from "./rows.js";
import { canonicalSketch, row } from "./rows.testlib.js";
import { estimate, hashVisitor, sketchOf } from "./sketch.js";
import { initConvexTest } from "./test.setup.js";
import { HOUR, dayStart, monthStart, nextBucket } from "./time.js";
import { writeHourTotals } from "./totals.js";

enforceConvexDocumentLimits();

const TZ = "Europe/Berlin";
const KiB = 1024;
const MiB = 1024 * KiB;
/** The scale issue's target for every transaction: a quarter of Convex's 16 MiB limits. */
const STEP_TARGET_BYTES = 4 * MiB;

const visitorSketch = (prefix: string, n: number) =>
  sketchOf(Array.from({ length: n }, (_, i) => hashVisitor(`${prefix}-${i}`)));

/** A page row with `n` distinct visitors (dense past 2,048) and counters derived from `seed`. */
const pageRow = (key: string, seed: number, n: number): Row =>
  row(key, {
    events: seed + 3,
    pageviews: seed + 2,
    entries: seed + 1,
    bounces: seed % 3,
    durationMs: 1000 * seed + 7,
    visitors: visitorSketch(`${key}@${seed}`, n),
  });

/** `kib` KiB of dense page rows over the keys /big/0, /big/1, …; seeds vary the counters and visitors. */
function denseRows(kib: number, seed: number): Row[] {
  const rows: Row[] = [];
  for (let i = 0; rows.reduce((s, r) => s + rowBytes(r), 0) < kib * KiB; i++)
    rows.push(pageRow(`/big/${i}`, seed + i, 2500 + i));
  return rows;
}

/** Rows by key, counters exact, visitors as their canonical sketch. */
const shape = (rows: Row[]) =>
  Object.fromEntries(
    rows.map((r) => [
      r.key,
      {
        ...Object.fromEntries(COUNTERS.map((c) => [c, r[c]])),
        visitors: canonicalSketch(r.visitors),
      },
    ]),
  );
const sum = (...rowSets: Row[][]) => new RowMap().addAll(rowSets.flat()).values();

/** Stages one hour's rows as an explode step out of room would, folded into nothing yet. */
async function stageRows(ctx: MutationCtx, siteId: Id<"sites">, hour: number, rows: Row[]) {
  const dimension = rows[0]!.key === TOTAL_KEY ? ("total" as const) : ("page" as const);
  await stage(ctx, { siteId, generation: 0 }, { hour, rows, folded: undefined }, dimension);
}

async function siteInBerlin(slug: string) {
  const t = initConvexTest();
  const { siteId } = await t.mutation(api.sites.createSite, { slug, name: slug, timezone: TZ });
  const day = dayStart(Date.parse("2026-03-10T12:00:00Z"), TZ);
  return { t, siteId: siteId as Id<"sites">, day };
}

test("a big site's staged day is folded one level per step when its page sets do not fit one step: every step stays within 4 MiB, and every level counts every row exactly once after every step", async () => {
  const { t, siteId, day } = await siteInBerlin("big");
  const month = monthStart(day, TZ);
  const hours = [day + 9 * HOUR, day + 10 * HOUR, day + 11 * HOUR];

  // What the canonical pages hold already: large page sets for the first hour, the day and the
  // month (about 700 KiB of dense rows each), so that each of those folds reads and rewrites
  // about 1.4 MiB. The same keys as the staged rows, so nothing is capped and sums are exact.
  const stored = new Map<string, Row[]>([
    [`hour|${hours[0]}`, denseRows(700, 1)],
    [`day|${day}`, denseRows(700, 2)],
    [`month|${month}`, denseRows(700, 3)],
  ]);
  for (const [bucket, rows] of stored) {
    const [interval, start] = bucket.split("|") as [CanonicalInterval, string];
    await t.run(async (ctx) => {
      await foldIntoCanonical(
        ctx,
        { siteId, generation: 0 },
        interval,
        Number(start),
        "page",
        rows,
        2_000,
      );
    });
  }
  // Staged: a large first hour (two documents) and two small later hours on the same keys.
  const staged = new Map<number, Row[]>([
    [hours[0]!, denseRows(440, 10)],
    [hours[1]!, denseRows(8, 20)],
    [hours[2]!, denseRows(8, 30)],
  ]);
  let stagedBytes = 0;
  await t.run(async (ctx) => {
    for (const [hour, rows] of staged) await stageRows(ctx, siteId, hour, rows);
    for (const doc of await ctx.db.query("rollupStaging").collect())
      stagedBytes += doc.rows.byteLength;
  });
  // The whole day's staging fits one step's read: what a step leaves is left for want of room.
  expect(stagedBytes).toBeLessThan(FOLD_READ_BYTES);

  const expected = new Map<string, Row[]>([
    ...hours.map((h) => [`hour|${h}`, sum(stored.get(`hour|${h}`) ?? [], staged.get(h)!)] as const),
    [`day|${day}`, sum(stored.get(`day|${day}`)!, ...staged.values())],
    [`month|${month}`, sum(stored.get(`month|${month}`)!, ...staged.values())],
  ]);
  /** Each level's view as a report sees it: its canonical rows plus what is staged and not in them. */
  const checkEveryLevel = () =>
    t.run(async (ctx) => {
      for (const [bucket, want] of expected) {
        const [interval, start] = bucket.split("|") as [CanonicalInterval, string];
        const bucketStart = Number(start);
        const piece = {
          interval,
          bucketStart,
          bucketEnd: nextBucket(interval, bucketStart, TZ),
        };
        const { rows } = await readCanonicalRows(ctx, {
          siteId,
          generation: 0,
          interval,
          bucketStart,
          dimension: "page",
        });
        const late = await readUncompacted(ctx, { siteId, generation: 0 }, [piece], "page");
        expect(
          shape(
            sum(
              rows,
              late.map((l) => l.row),
            ),
          ),
          bucket,
        ).toEqual(shape(want));
      }
    });
  const levelsStaged = () =>
    t.run(async (ctx) =>
      (await ctx.db.query("rollupStaging").collect()).map((d) => d.folded ?? "none").sort(),
    );

  await checkEveryLevel();
  const seen: string[][] = [];
  for (let step = 0; ; step++) {
    expect(step).toBeLessThan(10);
    const { work, bytesRead, bytesWritten } = await t.run(async (ctx) => {
      const { work } = await compactStepHandler(ctx);
      const metrics = await ctx.meta.getTransactionMetrics();
      return { work, bytesRead: metrics.bytesRead.used, bytesWritten: metrics.bytesWritten.used };
    });
    if (work === null) break;
    expect(bytesRead, `step ${step} read`).toBeLessThanOrEqual(STEP_TARGET_BYTES);
    expect(bytesWritten, `step ${step} written`).toBeLessThanOrEqual(STEP_TARGET_BYTES);
    seen.push(await levelsStaged());
    await checkEveryLevel();
  }
  // Step one folds only the first hour (its page set is big); step two the other hours and the
  // day; step three the month; step four groups the closed day's hour pages (hourGroups.ts).
  // The old all-levels-at-once fold read about 5 MiB in one step.
  expect(seen).toEqual([["hour", "hour", "none", "none"], ["day", "day", "day", "day"], [], []]);
  // About 40 s on an idle 2-core machine (a big site's day of rows); room for a loaded one.
}, 600_000);

test("a staged hour already folded into its hour pages and the hourly totals counts once in the overview and timeseries, whether the range reads it as an hour or as part of a day", async () => {
  const { t, siteId, day } = await siteInBerlin("s");
  const hour = day + 9 * HOUR;
  const total = row(TOTAL_KEY, {
    events: 9,
    pageviews: 7,
    entries: 4,
    bounces: 1,
    durationMs: 60_000,
    visitors: visitorSketch("v", 5),
  });
  // The state a fold step leaves when it runs out of room after the hour level.
  await t.run(async (ctx) => {
    await foldIntoCanonical(ctx, { siteId, generation: 0 }, "hour", hour, "total", [total], 2_000);
    await writeHourTotals(ctx, { siteId, generation: 0 }, hour, total);
    await stageRows(ctx, siteId, hour, [total]);
    const [doc] = await ctx.db.query("rollupStaging").collect();
    await ctx.db.patch("rollupStaging", doc!._id, { folded: "hour" });
  });
  const ranges = {
    "the hour": { from: hour, to: hour + HOUR },
    "the local day": { from: day, to: day + 24 * HOUR },
  };
  for (const [name, range] of Object.entries(ranges)) {
    const overview = await t.run((ctx) => getOverviewHandler(ctx, { siteId, ...range }));
    expect(overview, name).toMatchObject({
      visitors: estimate(total.visitors),
      pageviews: 7,
      sessions: 4,
      events: 9,
    });
    const series = await t.run((ctx) =>
      getTimeseriesHandler(ctx, { siteId, ...range, granularity: "day" }),
    );
    expect(
      series.points.map((p) => [p.pageviews, p.visitors]),
      name,
    ).toEqual([[7, 5]]);
  }
  // The day level does not hold it yet: a step folds it into the day and month and deletes it.
  await t.mutation(internal.compaction.compactStep, {});
  const overview = await t.run((ctx) =>
    getOverviewHandler(ctx, { siteId, from: day, to: day + 24 * HOUR }),
  );
  expect(overview).toMatchObject({ visitors: 5, pageviews: 7, sessions: 4, events: 9 });
  expect(await t.run(async (ctx) => (await ctx.db.query("rollupStaging").collect()).length)).toBe(
    0,
  );
});
