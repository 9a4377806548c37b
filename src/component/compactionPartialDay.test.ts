// fold() when the step's room runs out part-way through a local day: the first staged hour is
// folded (its hour pages, then the day's and month's pages for it alone), the day's later hours
// stay staged, and a later step folds them. Every staged row reaches each canonical level
// exactly once across the two steps.
import { expect, test } from "vitest";
import type { Id } from "./_generated/dataModel.js";
import { internal, api } from "./_generated/api.js";
import { readCanonicalRows, type CanonicalInterval } from "./canonical.js";
import { FOLD_READ_BYTES, MAX_PAGE_BYTES } from "./compaction.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { chunkRows } from "./deltas.js";
import { encodeRows } from "./rowCodec.js";
import { COUNTERS, RowMap, rowBytes, type Row } from "./rows.js";
import { canonicalSketch, row } from "./rows.testlib.js";
import { hashVisitor, sketchOf } from "./sketch.js";
import { initConvexTest } from "./test.setup.js";
import { HOUR, dayStart, monthStart } from "./time.js";

enforceConvexDocumentLimits();

const TZ = "Europe/Berlin";
const KiB = 1024;

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

test("a fold step out of room part-way through a day leaves the later hours staged, and the next step folds them: hour, day and month rows count every staged row exactly once", async () => {
  const t = initConvexTest();
  const { siteId: site } = await t.mutation(api.sites.createSite, {
    slug: "big",
    name: "Big",
    timezone: TZ,
  });
  const siteId = site as Id<"sites">;
  const day = dayStart(Date.parse("2026-03-10T12:00:00Z"), TZ);
  const month = monthStart(day, TZ);
  const hours = [day + 9 * HOUR, day + 10 * HOUR, day + 11 * HOUR];

  // The first hour: ~440 KiB of rows with dense visitor sketches (two staging documents).
  // The step reads the oldest staging document (to pick the work), the day's staging, then
  // its deletes read the first hour's documents again: about 1.1 MiB read, past the 1 MiB
  // (FOLD_MORE_BELOW_BYTES) below which a step folds another hour, so the later hours wait.
  const first: Row[] = [];
  for (let i = 0; first.reduce((s, r) => s + rowBytes(r), 0) < 440 * KiB; i++)
    first.push(pageRow(`/big/${i}`, i, 2500 + i));
  // Two later hours, small: some of the same keys (so day and month rows merge across
  // hours) and some new ones.
  const later = (h: number): Row[] =>
    Array.from({ length: 20 }, (_, i) =>
      pageRow(i % 2 === 0 ? `/big/${i}` : `/small/${h}/${i}`, 100 * h + i, 5 + i),
    );
  const staged = new Map<number, Row[]>([
    [hours[0]!, first],
    [hours[1]!, later(1)],
    [hours[2]!, later(2)],
  ]);

  let stagedBytes = 0;
  await t.run(async (ctx) => {
    for (const [bucketStart, rows] of staged) {
      const deltaRows = rows.map((r) => ({ dimension: "page" as const, ...r }));
      for (const chunk of chunkRows(deltaRows, MAX_PAGE_BYTES)) {
        const encoded = encodeRows(chunk);
        stagedBytes += encoded.byteLength;
        await ctx.db.insert("rollupStaging", {
          siteId,
          bucketStart,
          dimension: "page",
          rows: encoded,
          rowCount: chunk.length,
        });
      }
    }
  });
  // All of the day's staging fits one step's read, so what the step leaves staged is left
  // for want of room, not by the read bound.
  expect(stagedBytes).toBeLessThan(FOLD_READ_BYTES);

  const stagingByHour = () =>
    t.run(async (ctx) => {
      const docs = await ctx.db.query("rollupStaging").collect();
      const out: Record<number, number> = {};
      for (const d of docs) {
        expect(d.dimension).toBe("page");
        out[d.bucketStart] = (out[d.bucketStart] ?? 0) + d.rowCount;
      }
      return out;
    });
  const canonical = (interval: CanonicalInterval, bucketStart: number) =>
    t.run(async (ctx) => {
      const { rows } = await readCanonicalRows(ctx, {
        siteId,
        interval,
        bucketStart,
        dimension: "page",
      });
      return rows;
    });
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

  // Step one: the first hour only; its day and month pages hold it alone.
  const step1 = await t.mutation(internal.compaction.compactStep, {});
  expect(step1.work).toBe(`fold|${siteId}|${hours[0]}|page`);
  expect(step1.moved).toBe(2);
  expect(await stagingByHour()).toEqual({ [hours[1]!]: 20, [hours[2]!]: 20 });
  expect(shape(await canonical("hour", hours[0]!))).toEqual(shape(first));
  expect(await canonical("hour", hours[1]!)).toEqual([]);
  expect(await canonical("hour", hours[2]!)).toEqual([]);
  expect(shape(await canonical("day", day))).toEqual(shape(first));
  expect(shape(await canonical("month", month))).toEqual(shape(first));

  // Step two takes the rest of the day (it is small); then there is nothing left.
  const step2 = await t.mutation(internal.compaction.compactStep, {});
  expect(step2).toEqual({ work: `fold|${siteId}|${hours[1]}|page`, moved: 2 });
  expect((await t.mutation(internal.compaction.compactStep, {})).work).toBeNull();
  expect(await stagingByHour()).toEqual({});

  for (const [bucketStart, rows] of staged)
    expect(shape(await canonical("hour", bucketStart))).toEqual(shape(rows));
  const all = sum(...staged.values());
  expect(shape(await canonical("day", day))).toEqual(shape(all));
  expect(shape(await canonical("month", month))).toEqual(shape(all));
});
