/// <reference types="vite/client" />
// `npm run bench:scale`: the scale benchmark for a site at 10M pageviews a month
// (issue 7, items 1-2). Not part of `npm test` or `npm run bench`.
//   SCALE=0.01 npm run bench:scale     # 1% of everything, for development (about 2 min)
//   npm run bench:scale                # SCALE=1, full scale: check the estimate a small run prints first
//   HISTORY_DAYS=364 (default); HISTORY=clone (default) or reduced (HISTORY_RECENT_RATE=0.005, HISTORY_OLDER_RATE=0.001).
//
// METHOD
// What is real. One site (Europe/Berlin) on the example app (example/convex) in
// convex-test 0.0.60 with `transactionLimits: true`, driven only through its
// public surface:
//   - every request goes through the app's ingest route (t.withRequestMetadata({ ip, userAgent }).fetch(
//     "/analytics/ingest")), with the body a real tracker sends (src/tracker/core.ts batching: a batch
//     flushes 5 s after its first event or at the next page load), the visitor's real user-agent string,
//     a cf-ipcountry edge header and the allowed Origin; crawlers' requests included (about 2%);
//   - whatever the component schedules (workers, compaction, its own children) runs when the fake clock
//     passes its time; the host's crons (example/convex/crons.ts, read with crons.export()) run at their
//     scheduled times on the same clock, called like the scheduler calls them;
//   - reports are the app's facades (api.analytics.getOverview / getTimeseries / getBreakdown), one
//     top-level query each, over 24h, 7d, 30d, 90d and 12 months ending at the real day's end, every
//     breakdown dimension at limit 10 and 100, once "live" (10 minutes after the day, the clock still
//     running the crons) and once "settled" (2 hours after); and issue 10's on the same storage: the
//     overview, timeseries and page breakdown compared with the previous period and year over year,
//     property breakdowns of three custom events' properties, and realtime at the day's end.
// The real day is one full local day at the traffic of a 10M/month site (bench/scale/traffic.ts: ~330k
// pageviews, ~115k cookieless visitors, 50,000 Zipf paths, 300 referrer domains, 20 campaigns, custom
// events with props), seeded and deterministic.
//
// What is measured, and how (bench/scale/harness.ts). The bench knows no table and no function of the
// component: every registered function's handler is wrapped where convex-test loads it, and the global
// Convex.asyncSyscall is wrapped. Each top-level transaction (an ingest mutation called from the HTTP action,
// a scheduled worker or compaction run, a cron, a report query) is labelled by its function path, and its
// documents and bytes read and written are its own ctx.meta.getTransactionMetrics() at its end; the size of
// each document written is what that write added to bytesWritten (getConvexSize of the stored document, as
// convex-test accounts it); arrays are measured in each written value. Storage is counted at the end by
// paging every table of every component (their names come from the schemas handed to convex-test).
//
// What is synthesised, and why it is what the real path would produce. The 364 days before the real day
// (the "history") are built by ONE isolated step, a HistoryBuilder (bench/scale/history.ts, with its
// contract). The default (HISTORY=clone) clones the real day's complete rows into each earlier day: day
// pages at that day's local midnight, visitor hashes re-salted (another day's cookieless ids), the real
// day's hourly totals at the same local hours, and each month folded from its cloned days by compaction's
// own fold. The real path writes exactly that for a statistically identical day with other cookieless
// ids. Raw events, sessions and hour pages of history days are not cloned (a day is ~330k raw events, and
// no report here reads them: every range is whole local days ending at the real day's end).
// HISTORY=reduced instead runs the earlier days through the real path at a reduced rate (lower bounds).
//
// Time (issue 7 asks for under 60 minutes on 2 cores): the real day dominates (its traffic through
// convex-test). The clone takes minutes, most of them the aggregate BTree's hourly totals (5 per hour, a
// nested component call each), so it writes a day in as few transactions as fit 4 MiB. Storage is counted
// from convex-test's in-memory databases, not paged through transactions (that took 8 minutes).
// vitest.scale.config.ts runs the bench in Node's environment with native base64 and SHA-256
// (bench/scale/nativeCodecs.ts): a third less wall time, and the same documents, bytes and calls (at
// SCALE=0.01 the figures agree with the edge-runtime harness's to 0.1 KiB; the worker's runs fall a
// little differently between requests). Helpers or CI sharing the 2 cores double all of it.
import { afterAll, describe, expect, test, vi } from "vitest";
import schema from "../example/convex/schema.js";
import crons from "../example/convex/crons.js";
import { register } from "../src/test.js";
import { DIMENSIONS } from "../src/shared.js";
import { initInstrumentedApp, loadConvexTest, Recorder, type Tx } from "./scale/harness.js";
import { scanStorage, type TableStats } from "./scale/storage.js";
import {
  Clock,
  createSite,
  runDay,
  runFilteredScan,
  runReports,
  wallNow,
  DAY,
  HOUR,
  MINUTE,
  type DayRun,
  type FilteredScan,
  type ReportCall,
} from "./scale/driver.js";
import { historyFromEnv, type BenchContext, type HistoryBuilder } from "./scale/history.js";
import { ORIGIN, SITE_TIMEZONE } from "./scale/traffic.js";
import { Stats } from "./scale/stats.js";
import { printScale } from "./scale/print.js";

const SCALE = Number(process.env.SCALE ?? "1");
const HISTORY_DAYS = Number(process.env.HISTORY_DAYS ?? "364");
const history: HistoryBuilder = historyFromEnv(process.env);
/** The real day: Wednesday 2026-11-25 in Berlin (CET, no DST change within the last 90 days' edge). */
const REAL_DAY_START = Date.UTC(2026, 10, 24, 23, 0, 0);
const REAL_DAY_END = REAL_DAY_START + DAY;

const { convexTest, harness } = await loadConvexTest();
const modules = import.meta.glob("../example/convex/**/*.ts");

export type ScaleRun = {
  harness: string;
  scale: number;
  history: HistoryBuilder;
  historyDays: number;
  realDay?: DayRun;
  phasesMs: Record<string, number>;
  stats: Stats;
  reports: Record<string, ReportCall[]>;
  filteredScan?: FilteredScan;
  storage: TableStats[];
  cronRuns: number;
  httpMs: Record<string, number>;
};

describe(`scale bench at SCALE=${SCALE}`, () => {
  const rec = new Recorder();
  const stats = new Stats();
  const reportTxs = new Map<string, Tx>();
  rec.onTx = (tx) => {
    stats.addTx(tx);
    if (tx.driver?.startsWith("report ")) reportTxs.set(tx.driver, tx);
  };
  rec.onCall = (c) => stats.addCall(c);
  const run: ScaleRun = {
    harness,
    scale: SCALE,
    history,
    historyDays: HISTORY_DAYS,
    phasesMs: {},
    stats,
    reports: {},
    storage: [],
    cronRuns: 0,
    httpMs: rec.httpMs,
  };
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    rec.phase = name;
    const started = wallNow();
    try {
      return await fn();
    } finally {
      run.phasesMs[name] = (run.phasesMs[name] ?? 0) + (wallNow() - started);
      console.log(`[scale] ${name}: ${((wallNow() - started) / 1000).toFixed(1)} s`);
    }
  };

  afterAll(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    console.log(printScale(run));
  });

  test("a 10M-pageview/month site: history, one real day, reports, storage", async () => {
    vi.useFakeTimers();
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    // A history built before the real day needs the clock to start before it; the clone writes
    // its days afterwards, so its clock starts an hour before the real day (no empty year of crons).
    vi.setSystemTime(REAL_DAY_START - (history.before ? HISTORY_DAYS * DAY : 0) - HOUR);
    const { t, components } = initInstrumentedApp({
      convexTest,
      rec,
      schema,
      modules,
      register: register as never,
    });
    const clock = new Clock(t, rec);
    await clock.useCrons((crons as unknown as { export: () => string }).export(), modules);
    const site = await phase("setup", () => createSite(t, rec, SITE_TIMEZONE, ORIGIN));
    const ctx: BenchContext = { t, rec, clock, site, components, scale: SCALE };
    const plan = { days: HISTORY_DAYS, realDayStart: REAL_DAY_START, seed: 20261202 };

    if (history.before) await phase("history", () => history.before!(ctx, plan));
    await phase("history", () => clock.advanceTo(REAL_DAY_START));
    run.realDay = await phase("real day", () =>
      runDay(ctx, { dayStart: REAL_DAY_START, dayIndex: 0, scale: SCALE }, (sent, totals) =>
        console.log(
          `[scale] real day: ${sent} requests, ${totals.pageviews} pageviews, clock ${new Date(Date.now()).toISOString()}`,
        ),
      ),
    );
    if (history.after) await phase("history", () => history.after!(ctx, plan, run.realDay!.totals));
    const dims = DIMENSIONS.filter((d) => d !== "total");
    await phase("settle", () => clock.advanceTo(REAL_DAY_END + 10 * MINUTE));
    run.reports.live = await phase("reports live", () =>
      runReports(t, rec, site, REAL_DAY_END, dims, reportTxs),
    );
    await phase("settle", () => clock.advanceTo(REAL_DAY_END + 2 * HOUR));
    run.reports.settled = await phase("reports settled", () =>
      runReports(t, rec, site, REAL_DAY_END, dims, reportTxs),
    );
    run.filteredScan = await phase("filtered scan", () =>
      runFilteredScan(t, clock, site, REAL_DAY_END),
    );
    run.storage = await phase("storage scan", () => scanStorage(t, components));
    run.cronRuns = clock.cronRuns;
    expect(run.realDay.totals.pageviews).toBeGreaterThan(0);
  });
});
