// The bench's clock and the deployment around the app: a fake clock that fires
// scheduled functions as time passes and runs the host's crons on their
// schedule (convex-test never runs crons), the traffic loop, the report sweep,
// and the one storage-specific step: building the other days' stored state.
import { vi } from "vitest";
import { makeFunctionReference } from "convex/server";
import { call, cronSpecs, runCron, wallClock, type App, type Components, type CronSpec, type Recorder, type Tx } from "./harness.js";
import { dayRequests, emptyTotals, send, DAY, HOUR, MINUTE, type DayTotals, type Request } from "./traffic.js";

export { wallClock as wallNow } from "./harness.js";

type CronState = CronSpec & { kind: "mutation" | "action"; next: number };
const nextAfter = (c: CronSpec, now: number) => c.offsetMs + (Math.floor((now - c.offsetMs) / c.everyMs) + 1) * c.everyMs;

export class Clock {
  private crons: CronState[] = [];
  cronRuns = 0;
  constructor(
    private readonly t: App,
    private readonly rec: Recorder,
  ) {}

  /** The host's crons (`crons.export()`), their targets' kinds looked up in the app's modules. */
  async useCrons(exported: string, appModules: Record<string, () => Promise<unknown>>): Promise<void> {
    for (const spec of cronSpecs(exported)) {
      const [module, name] = spec.udfPath.split(":") as [string, string];
      const path = Object.keys(appModules).find((p) => p.replace(/\.[^.]+$/, "").endsWith(`/${module}`));
      const fn = path ? ((await appModules[path]!()) as Record<string, { isAction?: boolean }>)[name ?? "default"] : undefined;
      this.crons.push({ ...spec, kind: fn?.isAction ? "action" : "mutation", next: nextAfter(spec, Date.now()) });
    }
  }
  get cronList(): CronState[] {
    return this.crons;
  }

  /** Runs every scheduled function that is due, and what they schedule for now, until nothing new starts. */
  async settle(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      const started = this.rec.scheduledStarted;
      await this.t.finishInProgressScheduledFunctions();
      await vi.advanceTimersByTimeAsync(0);
      await this.t.finishInProgressScheduledFunctions();
      if (this.rec.scheduledStarted === started) return;
    }
    throw new Error("scheduled functions never settled");
  }

  /**
   * Moves the clock to `to`, firing scheduled functions on the way and running each cron
   * at its times. `minCronGapMs` (history days only) runs a cron at most that often.
   */
  async advanceTo(to: number, minCronGapMs = 0): Promise<void> {
    for (;;) {
      let due: CronState | undefined;
      for (const c of this.crons) if (c.next <= to && (!due || c.next < due.next)) due = c;
      const target = due ? due.next : to;
      const dt = target - Date.now();
      if (dt > 0) await vi.advanceTimersByTimeAsync(dt);
      await this.settle();
      if (!due) return;
      await runCron(this.t, this.rec, due, due.kind);
      this.cronRuns++;
      await this.settle();
      due.next = nextAfter(due, Math.max(due.next, due.next + minCronGapMs - due.everyMs));
    }
  }
}

export type Site = { siteId: string; writeKey: string };

/** Creates the bench's site through the example app's admin facade. */
export async function createSite(t: App, rec: Recorder, timezone: string, origin: string): Promise<Site> {
  return await rec.drive("setup", () =>
    call(t, "mutation", makeFunctionReference<"mutation">("analytics:createSite"), { slug: "shop", name: "Example shop", timezone, allowedOrigins: [origin] }),
  ) as Site;
}

export type DayRun = { totals: DayTotals; statuses: Record<number, number>; ms: number };

/** Sends one day's traffic through the route, the clock following the requests. */
export async function runDay(
  ctx: { t: App; clock: Clock; site: Site },
  day: { dayStart: number; dayIndex: number; scale: number; rate?: number; flat?: boolean; minCronGapMs?: number; from?: number; until?: number },
  progress?: (sent: number, totals: DayTotals) => void,
): Promise<DayRun> {
  const started = wallClock();
  const generated = emptyTotals();
  const totals = emptyTotals();
  const statuses: Record<number, number> = {};
  let sent = 0;
  const seen = new Set<string>();
  for (const r of dayRequests(day, generated)) {
    if (day.from !== undefined && r.at < day.from) continue;
    if (day.until !== undefined && r.at >= day.until) break;
    await ctx.clock.advanceTo(r.at, day.minCronGapMs);
    const status = await send(ctx.t, ctx.site.writeKey, r);
    statuses[status] = (statuses[status] ?? 0) + 1;
    count(totals, r, seen);
    if (++sent % 5_000 === 0) progress?.(sent, totals);
  }
  await ctx.clock.advanceTo(day.until ?? day.dayStart + DAY, day.minCronGapMs);
  totals.sessions = generated.sessions;
  totals.paths = generated.paths;
  return { totals, statuses, ms: wallClock() - started };
}

/** The generator's totals for the requests actually sent (a window of a day may be sent). */
function count(totals: DayTotals, r: Request, visitors: Set<string>): void {
  totals.requests++;
  if (r.bot) {
    totals.botRequests++;
    return;
  }
  visitors.add(`${r.ip}|${r.userAgent}`);
  totals.visitors = visitors.size;
  for (const e of r.body.events) {
    if (e.type === "pageview") totals.pageviews++;
    else totals.trackEvents++;
  }
}

// ------------------------------------------------------------------ the other days

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
export function reducedRateHistory(rates: { recent: number; older: number; recentDays: number }): HistoryBuilder {
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
        await runDay(ctx, { dayStart: plan.realDayStart - d * DAY, dayIndex: -d, scale: ctx.scale, rate, minCronGapMs: HOUR });
      }
    },
  };
}

// ------------------------------------------------------------------ reports

export const REPORT_RANGES = [
  { label: "24h", days: 1 },
  { label: "7d", days: 7 },
  { label: "30d", days: 30 },
  { label: "90d", days: 90 },
  { label: "12mo", days: 365 },
] as const;

export type ReportCall = { report: string; range: string; tx?: Tx; error?: string; result?: unknown };

/** Every report facade (api.analytics.*) over every range ending at `to`, each one top-level query. */
export async function runReports(t: App, rec: Recorder, site: Site, to: number, dimensions: readonly string[], txs: Map<string, Tx>): Promise<ReportCall[]> {
  const out: ReportCall[] = [];
  const q = (name: string) => makeFunctionReference<"query">(`analytics:${name}`) as never;
  for (const range of REPORT_RANGES) {
    const args = { siteId: site.siteId, from: to - range.days * DAY, to };
    const calls: [string, string, Record<string, unknown>][] = [
      ["overview", "getOverview", args],
      ["timeseries", "getTimeseries", args],
      ...dimensions.flatMap((d) => [10, 100].map((limit) => [`breakdown ${d} @${limit}`, "getBreakdown", { ...args, dimension: d, limit }] as [string, string, Record<string, unknown>])),
    ];
    for (const [report, fn, a] of calls) {
      const label = `report ${report} ${range.label}`;
      const r: ReportCall = { report, range: range.label };
      try {
        r.result = await rec.drive(label, () => call(t, "query", q(fn), a));
      } catch (e) {
        r.error = String((e as Error).message).split("\n")[0]!.slice(0, 160);
      }
      r.tx = txs.get(label);
      txs.delete(label);
      out.push(r);
    }
  }
  return out;
}

export { MINUTE, HOUR, DAY };
