// Breakdowns rank every key on counter pages and merge sketches only for the
// keys that can still make the top N (reports.ts, canonical.ts). This checks the
// shortcut against the plain answer (merge every row of every bucket, rank,
// cut), over random buckets whose keys overlap in visitors, with dense sketches
// and several sketch pages a bucket, and records that sketch pages are read only
// for the keys shown.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api.js";
import { writeCanonicalRows } from "./canonical.js";
import { RowMap, compareRows, rankRows, type Row } from "./rows.js";
import { hashVisitor, sketchOf, estimate } from "./sketch.js";
import { initConvexTest } from "./test.setup.js";
import { DAY } from "./time.js";

const FIRST_DAY = Date.UTC(2026, 2, 2);

/** A key's row on one day: visitors drawn from a shared pool, so unions are smaller than sums. */
const arbRow = (key: string) =>
  fc
    .record({
      pageviews: fc.integer({ min: 0, max: 40 }),
      events: fc.integer({ min: 0, max: 40 }),
      entries: fc.integer({ min: 0, max: 10 }),
      // Most rows are small; some are dense (over 2,048 visitors) to fill sketch pages.
      from: fc.integer({ min: 0, max: 3_000 }),
      count: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }) },
        { weight: 2, arbitrary: fc.integer({ min: 2_100, max: 3_000 }) },
      ),
    })
    .map(({ pageviews, events, entries, from, count }): Row => ({
      key,
      pageviews,
      events,
      entries,
      bounces: 0,
      durationMs: 0,
      visitors: sketchOf(Array.from({ length: count }, (_, i) => hashVisitor(`v${from + i}`))),
    }));

const arbDay = fc
  .uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 20 })
  .chain((keys) => fc.tuple(...keys.map((k) => arbRow(`/page-${k}`))));

describe("breakdown threshold selection", () => {
  test("equals merging every row of every bucket, for any limit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbDay, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 12 }),
        async (days, limit) => {
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
                interval: "day" as const,
                bucketStart: FIRST_DAY + d * DAY,
                dimension: "page" as const,
              };
              await writeCanonicalRows(ctx, bucket, rankRows(rows), []);
            }
          });
          const plain = new RowMap();
          for (const rows of days) plain.addAll(rows);
          const expected = plain
            .values()
            .map((r) => ({ ...r, visitorCount: estimate(r.visitors) }))
            .filter((r) => r.events > 0 || r.entries > 0)
            .sort(compareRows)
            .slice(0, limit)
            .map((r) => ({ key: r.key, visitors: r.visitorCount, pageviews: r.pageviews }));
          const { rows } = await t.query(api.reports.getBreakdown, {
            siteId,
            from: FIRST_DAY,
            to: FIRST_DAY + 20 * DAY,
            dimension: "page",
            limit,
          });
          expect(
            rows.map((r) => ({ key: r.key, visitors: r.visitors, pageviews: r.pageviews })),
          ).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });
});
