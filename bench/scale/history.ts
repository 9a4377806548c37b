// THE ONE STORAGE-SPECIFIC STEP of the scale bench: building the stored state of
// the days before the real day. Everything else in bench/ knows no table.
//   HISTORY=reduced (default until the storage lands): real days through the real path at a reduced rate.
//   HISTORY=clone: cloneRealDayHistory below, for the lead to implement against the new storage.
import type { App, Components, Recorder } from "./harness.js";
import { runDay, type Clock, type Site } from "./driver.js";
import { DAY, HOUR, type DayTotals } from "./traffic.js";

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
 * TO IMPLEMENT with the new storage (see the HistoryBuilder contract above): after the real day,
 * for d = 1..plan.days, write into the component's tables (inComponent(ctx.t, "analytics", ...),
 * table names from ctx.components) a copy of every document the real day left in the day-scoped
 * tables (raw events, sessions, delta/rollup documents of that day's buckets), with
 *   - every bucket start / timestamp moved d days back, re-bucketed in the site's timezone,
 *   - every visitor hash re-salted per d (e.g. h -> hash(h, d)), as day d's cookieless ids would differ,
 *   - ids, dedup keys and batch ids made unique per d,
 * in pages small enough for Convex's limits; skip what is not day-scoped (sites, salts, rate limits,
 * aggregate trees: let compaction rebuild what it owns). Then return: the harness advances the clock
 * with the crons on schedule, so the real compaction folds the days into months before the reports.
 */
export function cloneRealDayHistory(): HistoryBuilder {
  return {
    name: "the real day's stored documents cloned into the other days (shifted buckets, re-salted visitor hashes)",
    method: [
      'History: the real day\'s stored documents cloned into each of the ${"days"} days before it, buckets shifted and visitor',
      "hashes re-salted (what the real path stores for a statistically identical day with other cookieless ids); the real",
      "compaction then folds them on the running clock, crons on schedule.",
    ],
    after: () =>
      Promise.reject(
        new Error(
          "cloneRealDayHistory is not implemented yet: it needs the new storage layout (bench/scale/history.ts)",
        ),
      ),
  };
}

/** The builder the bench uses: HISTORY=clone or HISTORY=reduced (default). */
export function historyFromEnv(env: Record<string, string | undefined>): HistoryBuilder {
  if (env.HISTORY === "clone") return cloneRealDayHistory();
  return reducedRateHistory({
    recentDays: 29,
    recent: Number(env.HISTORY_RECENT_RATE ?? "0.005"),
    older: Number(env.HISTORY_OLDER_RATE ?? "0.001"),
  });
}
