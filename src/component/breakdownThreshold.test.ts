// Breakdowns rank every key on counter pages and merge sketches only for the
// keys that can still make the top N (reports.ts, canonical.ts). This checks the
// shortcut against the plain answer (merge every row of every bucket, rank,
// cut), over random buckets whose keys share persistent visitors, with dense
// sketches and several sketch pages a bucket.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api.js";
import { writeCanonicalRows } from "./canonical.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { RowMap, compareRows, rankRows, type Row } from "./rows.js";
import { hashVisitor, sketchOf, estimate } from "./sketch.js";
import { initConvexTest } from "./test.setup.js";
import { DAY } from "./time.js";

const FIRST_DAY = Date.UTC(2026, 2, 2);

// The pages written here are bounded by construction; the check says so on every write.
enforceConvexDocumentLimits();

/** Sizes of a row's cookieless (daily) and persistent visitor sets. */
type Sizes = { daily: fc.Arbitrary<number>; persistent: fc.Arbitrary<number> };

/**
 * A key's row on one day. Its visitors are cookieless (daily ids, distinct per
 * day, as salts.ts makes them) and persistent (ids from a shared pool, seen on
 * several days, so unions are smaller than sums). `ids` is the truth.
 */
const arbRow = (key: string, day: number, sizes: Sizes) =>
  fc
    .record({
      pageviews: fc.integer({ min: 0, max: 40 }),
      events: fc.integer({ min: 0, max: 40 }),
      entries: fc.integer({ min: 0, max: 10 }),
      daily: sizes.daily,
      from: fc.integer({ min: 0, max: 3_000 }),
      persistent: sizes.persistent,
    })
    .map(({ pageviews, events, entries, daily, from, persistent }) => {
      const dailyIds = Array.from({ length: daily }, (_, i) => `d${day}:${key}:${i}`);
      const lasting = Array.from({ length: persistent }, (_, i) => `p${from + i}`);
      const row: Row = {
        key,
        pageviews,
        events,
        entries,
        bounces: 0,
        durationMs: 0,
        visitors: sketchOf([...dailyIds, ...lasting].map(hashVisitor)),
        ...(persistent > 0 ? { persistent: sketchOf(lasting.map(hashVisitor)) } : {}),
      };
      return { row, ids: [...dailyIds, ...lasting] };
    });

const arbDays = (keys: number, sizes: Sizes) =>
  fc
    .integer({ min: 1, max: 6 })
    .chain((n) =>
      fc.tuple(
        ...Array.from({ length: n }, (_, day) =>
          fc
            .uniqueArray(fc.integer({ min: 0, max: keys }), { minLength: 1, maxLength: keys })
            .chain((picked) => fc.tuple(...picked.map((k) => arbRow(`/page-${k}`, day, sizes)))),
        ),
      ),
    );

type Day = { row: Row; ids: string[] }[];

/** Stores each day's rows as compaction would, and asks for the breakdown over all of them. */
async function breakdown(days: Day[], limit: number) {
  const t = initConvexTest();
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug: "s",
    name: "S",
    timezone: "UTC",
  });
  await t.run(async (ctx) => {
    for (const [d, rows] of days.entries()) {
      const bucket = {
        siteId,
        generation: 0,
        interval: "day" as const,
        bucketStart: FIRST_DAY + d * DAY,
        dimension: "page" as const,
      };
      await writeCanonicalRows(ctx, bucket, rankRows(rows.map((r) => r.row)), []);
    }
  });
  const { rows } = await t.query(api.reports.getBreakdown, {
    siteId,
    from: FIRST_DAY,
    to: FIRST_DAY + 20 * DAY,
    dimension: "page",
    limit,
  });
  return rows;
}

describe("breakdown threshold selection", () => {
  test("while sketches are sparse, equals merging every row of every bucket, for any limit", async () => {
    // Up to 300 keys a day, so a day's rows fill several sketch pages.
    const sizes = {
      daily: fc.integer({ min: 0, max: 40 }),
      persistent: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
    };
    await fc.assert(
      fc.asyncProperty(
        arbDays(300, sizes),
        fc.integer({ min: 1, max: 12 }),
        async (days, limit) => {
          const plain = new RowMap();
          for (const day of days) plain.addAll(day.map((r) => r.row));
          const expected = plain
            .values()
            .map((r) => ({ ...r, visitorCount: estimate(r.visitors) }))
            .filter((r) => r.events > 0 || r.entries > 0)
            .sort(compareRows)
            .slice(0, limit)
            .map((r) => ({ key: r.key, visitors: r.visitorCount, pageviews: r.pageviews }));
          const rows = await breakdown(days, limit);
          expect(
            rows.map((r) => ({ key: r.key, visitors: r.visitors, pageviews: r.pageviews })),
          ).toEqual(expected);
        },
      ),
      { numRuns: 20 },
    );
  });

  test("with dense sketches, every row shown has exact counters and visitors within 2.5% of the truth", async () => {
    const sizes = {
      daily: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 2_100, max: 3_000 })),
      persistent: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 2_100, max: 3_000 }),
      ),
    };
    await fc.assert(
      fc.asyncProperty(arbDays(20, sizes), fc.integer({ min: 1, max: 12 }), async (days, limit) => {
        const truth = new Map<string, { ids: Set<string>; pageviews: number }>();
        for (const day of days)
          for (const { row, ids } of day) {
            const t = truth.get(row.key) ?? { ids: new Set<string>(), pageviews: 0 };
            for (const id of ids) t.ids.add(id);
            t.pageviews += row.pageviews;
            truth.set(row.key, t);
          }
        for (const r of await breakdown(days, limit)) {
          const t = truth.get(r.key)!;
          expect(r.pageviews).toBe(t.pageviews);
          expect(Math.abs(r.visitors - t.ids.size)).toBeLessThanOrEqual(0.025 * t.ids.size + 1);
        }
      }),
      { numRuns: 20 },
    );
  });
});
