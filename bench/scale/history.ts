// THE ONE STORAGE-SPECIFIC STEP of the scale bench: building the stored state of
// the days before the real day. Everything else in bench/ knows no table.
//   HISTORY=clone (default): cloneRealDayHistory below.
//   HISTORY=reduced: real days through the real path at a reduced rate (the stand-in used before the clone).
import type { App, Components, Recorder } from "./harness.js";
import { runDay, type Clock, type Site } from "./driver.js";
import { inComponent } from "./storage.js";
import { DAY, HOUR, SITE_TIMEZONE, type DayTotals } from "./traffic.js";
import { DIMENSIONS, type Dimension } from "../../src/shared.js";
import type { MutationCtx } from "../../src/component/_generated/server.js";
import type { Id } from "../../src/component/_generated/dataModel.js";
import { readCanonicalRows, writeCanonicalRows } from "../../src/component/canonical.js";
import {
  CANONICAL_MAX_BYTES,
  DEFAULT_CARDINALITY_CAP,
  foldIntoCanonical,
} from "../../src/component/folding.js";
import { readUncompacted } from "../../src/component/rangeRows.js";
import {
  RowMap,
  TOTAL_KEY,
  capRows,
  isZero,
  rankRows,
  rowBytes,
  type Counters,
  type Row,
} from "../../src/component/rows.js";
import { estimate, mix53, type Sketch } from "../../src/component/sketch.js";
import { dayStart, monthStart, nextBucket } from "../../src/component/time.js";
import { writeHourTotals } from "../../src/component/totals.js";

/** What the history step gets: the running app and where the days are. */
export type BenchContext = {
  t: App;
  rec: Recorder;
  clock: Clock;
  site: Site;
  /** Every component path and its tables, as registered (for a storage-level clone). */
  components: Components;
  scale: number;
};
export type HistoryPlan = {
  /** Days of history before the real day (364 for "12 months"). */
  days: number;
  /** The real day: [realDayStart, realDayStart + 24 h), the site's local day. */
  realDayStart: number;
  seed: number;
};

/**
 * THE STORAGE-SPECIFIC STEP: builds the stored state of the `plan.days` days
 * before the real day. The harness calls `before` with the clock at
 * `realDayStart - days * 24 h - 1 h` (nothing ingested yet) and `after` when the
 * real day has run (clock at its end, its scheduled functions settled). After
 * `after` returns, the harness advances the clock (crons on schedule) and runs
 * the reports, so a clone may leave folding to the real compaction.
 *
 * The clock starts `days` before the real day only for a builder with `before`.
 *
 * Contract for a clone (`after`): for each history day d (1..days before the real
 * day), write exactly the documents the real path would have stored for a
 * statistically identical day d: the real day's stored documents with every
 * time bucket / timestamp shifted by d days (re-bucketed in the site's zone)
 * and every visitor hash re-salted (d's cookieless ids differ from the real
 * day's), through ctx.db in `runInComponent` (so the bench's instrumentation
 * does not count it as live traffic), in transactions within Convex's limits;
 * then leave the state as it would be an hour after day d (compaction due or
 * done, as the real schedule would have it). It must not touch the real day.
 */
export type HistoryBuilder = {
  name: string;
  /** Lines for the bench header: what is real and what is synthesised. */
  method: string[];
  before?: (ctx: BenchContext, plan: HistoryPlan) => Promise<void>;
  after?: (ctx: BenchContext, plan: HistoryPlan, realDay: DayTotals) => Promise<void>;
};

/** The stand-in until the storage lands: real days through the real path, at a reduced rate. */
export function reducedRateHistory(rates: {
  recent: number;
  older: number;
  recentDays: number;
}): HistoryBuilder {
  return {
    name: `real days at a reduced rate (last ${rates.recentDays} days at ${rates.recent}x, older at ${rates.older}x)`,
    method: [
      `History (STAND-IN): the ${"days"} before the real day run through the same real path (route -> ingest -> worker -> compaction),`,
      `at ${rates.recent}x the real day's rate for the last ${rates.recentDays} days and ${rates.older}x before, with crons at most hourly.`,
      "Their stored state has the real layout but FEWER keys per bucket than a 10M/month site's, so 7d..12mo report reads",
      "here are LOWER BOUNDS. Replace with the storage-specific clone (HistoryBuilder.after) to measure them at full volume.",
    ],
    before: async (ctx, plan) => {
      for (let d = plan.days; d >= 1; d--) {
        const rate = d <= rates.recentDays ? rates.recent : rates.older;
        await runDay(ctx, {
          dayStart: plan.realDayStart - d * DAY,
          dayIndex: -d,
          scale: ctx.scale,
          rate,
          minCronGapMs: HOUR,
        });
      }
    },
  };
}

/**
 * The clone (HISTORY=clone). After the real day, its complete rows are read once
 * per dimension: its canonical day pages plus whatever compaction has not folded
 * yet (staging and hour deltas), merged and capped as compaction caps them. Then
 * for each history day d, in the component's own code (canonical.ts, rows.ts,
 * totals.ts, compaction.ts's foldIntoCanonical), in one transaction per (day,
 * dimension) or (month, dimension):
 *   - the day's pages: the real day's rows with every visitor sketch re-salted
 *     (resalt below), ranked and paged by
 *     writeCanonicalRows, at the local day's start (re-bucketed in the site's zone,
 *     so days across a DST change start at their own local midnight);
 *   - the hourly-totals BTree: the real day's hour totals at the same local hours
 *     (a 23-hour day drops the real day's last hour, a 25-hour day has none in its
 *     extra hour);
 *   - the month pages: every cloned day of a month merged, then folded into the
 *     month by foldIntoCanonical, the function compaction folds with.
 * Not cloned, for memory (a day is ~330k raw events): raw batches, sessions and
 * hour pages of the history days. No report here reads them: every range is whole
 * local days ending at the real day's end, so past days are read from day and
 * month pages. Storage printed below counts the real day's; multiply those tables by
 * the retention in days for a steady-state estimate.
 * Where this differs from 364 real days: compaction folds each hour into the month
 * uncapped, the clone folds capped days (a key outside a day's 2,000 reaches the
 * month in that day's "(other)"); the month page is at its caps either way.
 */
export function cloneRealDayHistory(): HistoryBuilder {
  return {
    name: "the real day's stored rows cloned into the other days (shifted buckets, re-salted visitor hashes)",
    method: [
      "History: the real day's complete rows (canonical + not yet compacted) cloned into each day before it as day pages",
      "and hourly totals, buckets at each day's local midnight and visitor hashes re-salted (what the real path stores for",
      "a statistically identical day with other cookieless ids); months folded from the cloned days by compaction's own",
      "fold. Raw events, sessions and hour pages of history days are not cloned (memory; no report here reads them).",
    ],
    after: async (ctx, plan) => {
      const { t, site } = ctx;
      const siteId = site.siteId as Id<"sites">;
      // History is written as generation 0, the live generation of a site no rebuild has switched.
      const owner = { siteId, generation: 0 };
      const realStart = plan.realDayStart;
      const realEnd = nextBucket("day", realStart, SITE_TIMEZONE);
      const dayRows = new Map<Dimension, Row[]>();
      for (const dimension of DIMENSIONS) {
        const rows = await inComponent(t, COMPONENT, async (raw) => {
          const c = raw as unknown as MutationCtx;
          const bucket = { ...owner, interval: "day" as const, bucketStart: realStart, dimension };
          const { rows: stored } = await readCanonicalRows(c, bucket);
          const late = await readUncompacted(
            c,
            owner,
            [{ interval: "day", bucketStart: realStart, bucketEnd: realEnd }],
            dimension,
          );
          return new RowMap()
            .addAll(stored)
            .addAll(late.map((l) => l.row))
            .values();
        });
        dayRows.set(dimension, capped(rows));
      }
      const hourTotals = await inComponent(t, COMPONENT, async (raw) => {
        const c = raw as unknown as MutationCtx;
        const out: Counters[] = [];
        for (let hour = realStart; hour < realEnd; hour += HOUR) {
          const bucket = {
            ...owner,
            interval: "hour" as const,
            bucketStart: hour,
            dimension: "total" as const,
          };
          const { rows } = await readCanonicalRows(c, bucket);
          const late = await readUncompacted(
            c,
            owner,
            [{ interval: "hour", bucketStart: hour, bucketEnd: hour + HOUR }],
            "total",
          );
          out.push(
            new RowMap()
              .addAll(rows)
              .addAll(late.map((l) => l.row))
              .get(TOTAL_KEY),
          );
        }
        return out;
      });

      // Days newest first, grouped by month so each month is folded once.
      const months = new Map<number, { day: number; d: number }[]>();
      for (let d = 1; d <= plan.days; d++) {
        const day = dayStart(realStart - d * DAY + 12 * HOUR, SITE_TIMEZONE);
        const month = monthStart(day, SITE_TIMEZONE);
        months.set(month, [...(months.get(month) ?? []), { day, d }]);
      }
      // A day's pages and hourly totals in as few transactions as fit a quarter of Convex's
      // 16 MiB write limit: a transaction per (day, dimension) made the clone most of the
      // bench's fixed cost (7,000 transactions of about 60 ms each in convex-test).
      const groups: Dimension[][] = [];
      let groupBytes = Infinity;
      for (const [dimension, rows] of dayRows) {
        // Full rows on sketch pages, and (at most as many bytes) counter rows.
        const bytes = 2 * rows.reduce((sum, r) => sum + rowBytes(r), 0);
        if (groupBytes + bytes > CLONE_WRITE_BYTES) {
          groups.push([]);
          groupBytes = 0;
        }
        groups[groups.length - 1]!.push(dimension);
        groupBytes += bytes;
      }
      for (const [month, days] of months) {
        const monthRows = new Map<Dimension, RowMap>();
        for (const { day, d } of days) {
          const end = nextBucket("day", day, SITE_TIMEZONE);
          for (const [g, dimensions] of groups.entries()) {
            await inComponent(t, COMPONENT, async (raw) => {
              const c = raw as unknown as MutationCtx;
              for (const dimension of dimensions) {
                const cloned = dayRows.get(dimension)!.map((r) => resaltRow(r, d));
                (
                  monthRows.get(dimension) ?? monthRows.set(dimension, new RowMap()).get(dimension)!
                ).addAll(cloned);
                const bucket = { ...owner, interval: "day" as const, bucketStart: day, dimension };
                await writeCanonicalRows(c, bucket, rankRows(cloned), []);
              }
              if (g > 0) return;
              for (const [i, totals] of hourTotals.entries()) {
                if (day + i * HOUR >= end) break;
                await writeHourTotals(c, owner, day + i * HOUR, totals);
              }
            });
          }
        }
        for (const [dimension, rows] of monthRows) {
          await inComponent(t, COMPONENT, async (raw) => {
            await foldIntoCanonical(
              raw as unknown as MutationCtx,
              owner,
              "month",
              month,
              dimension,
              rows.values(),
              DEFAULT_CARDINALITY_CAP,
            );
          });
        }
      }
    },
  };
}

const COMPONENT = "analytics";
/** What one clone transaction writes at most. */
const CLONE_WRITE_BYTES = 4 * 1024 * 1024;

/** As compaction caps one bucket's rows. */
const capped = (rows: Row[]) =>
  capRows(
    rows.filter((r) => !isZero(r)),
    DEFAULT_CARDINALITY_CAP,
    estimate,
    CANONICAL_MAX_BYTES,
  );

/**
 * The same visitors under day d's salt: each 53-bit hash of a sparse set mixed
 * with d (cyrb53's finaliser over the hash's two halves, as hashing another id
 * would give), and a dense sketch's registers rotated by a per-day offset (the
 * same distribution of register values under another assignment of visitors).
 */
function resalt(s: Sketch, d: number): Sketch {
  if ("sparse" in s) {
    const hashes = [...new Set(s.sparse.map((h) => remix(h, d)))];
    return { sparse: hashes.sort((a, b) => a - b) };
  }
  const registers = new Uint8Array(s.dense);
  const rotated = new Uint8Array(registers.length);
  const offset = (d * 7919) % registers.length;
  rotated.set(registers.subarray(registers.length - offset), 0);
  rotated.set(registers.subarray(0, registers.length - offset), offset);
  return { dense: rotated.buffer };
}

function remix(hash: number, d: number): number {
  const lo = Math.imul((hash >>> 0) ^ d, 2654435761);
  const hi = Math.imul(Math.floor(hash / 4294967296) ^ Math.imul(d, 0x85ebca77), 1597334677);
  return mix53(lo, hi);
}

function resaltRow(row: Row, d: number): Row {
  return {
    ...row,
    visitors: resalt(row.visitors, d),
    ...(row.persistent ? { persistent: resalt(row.persistent, d) } : {}),
  };
}

/** The builder the bench uses: HISTORY=clone (default) or HISTORY=reduced. */
export function historyFromEnv(env: Record<string, string | undefined>): HistoryBuilder {
  if (env.HISTORY !== "reduced") return cloneRealDayHistory();
  return reducedRateHistory({
    recentDays: 29,
    recent: Number(env.HISTORY_RECENT_RATE ?? "0.005"),
    older: Number(env.HISTORY_OLDER_RATE ?? "0.001"),
  });
}
