// The bench's clock and the deployment around the app: a fake clock that fires
// scheduled functions as time passes and runs the host's crons on their
// schedule (convex-test never runs crons), the traffic loop, the report sweep,
// and the one storage-specific step: building the other days' stored state.
import { vi } from "vitest";
import { makeFunctionReference } from "convex/server";
import { call, wallClock, type App, type Recorder, type Tx } from "./harness.js";
import {
  dayRequests,
  emptyTotals,
  send,
  DAY,
  HOUR,
  MINUTE,
  type DayTotals,
  type Request,
} from "./traffic.js";

/** A cron as `crons.export()` describes it. */
export type CronSpec = {
  id: string;
  udfPath: string;
  args: unknown;
  everyMs: number;
  offsetMs: number;
};

/** The host's crons, from `crons.export()`: interval, hourly, daily and simple "m h * * *" cron expressions. */
export function cronSpecs(exported: string): CronSpec[] {
  const jobs = JSON.parse(exported) as Record<
    string,
    { name: string; args: unknown[]; schedule: Record<string, unknown> }
  >;
  const MIN = 60_000;
  return Object.entries(jobs).map(([id, job]) => {
    const s = job.schedule;
    let everyMs: number;
    let offsetMs = 0;
    switch (s.type) {
      case "interval":
        everyMs =
          ((s.seconds as number) ?? 0) * 1000 +
          ((s.minutes as number) ?? 0) * MIN +
          ((s.hours as number) ?? 0) * 60 * MIN;
        break;
      case "hourly":
        everyMs = 60 * MIN;
        offsetMs = ((s.minuteUTC as number) ?? 0) * MIN;
        break;
      case "daily":
        everyMs = 24 * 60 * MIN;
        offsetMs = ((s.hourUTC as number) ?? 0) * 60 * MIN + ((s.minuteUTC as number) ?? 0) * MIN;
        break;
      case "cron": {
        const [m, h] = String(s.cron).split(/\s+/);
        if (h === "*") {
          everyMs = 60 * MIN;
          offsetMs = m === "*" ? 0 : Number(m) * MIN;
          if (m === "*") everyMs = MIN;
        } else {
          everyMs = 24 * 60 * MIN;
          offsetMs = Number(h) * 60 * MIN + (m === "*" ? 0 : Number(m)) * MIN;
        }
        break;
      }
      default:
        throw new Error(`cron schedule ${String(s.type)} is not supported by the bench`);
    }
    return { id, udfPath: job.name, args: job.args?.[0] ?? {}, everyMs, offsetMs };
  });
}

/** Calls a cron's target as the deployment's scheduler would (a top-level run), labelled "cron <id>". */
export async function runCron(
  t: App,
  rec: Recorder,
  cron: CronSpec,
  kind: "mutation" | "action",
): Promise<void> {
  const ref = makeFunctionReference<typeof kind>(cron.udfPath) as never;
  await rec.drive(`cron ${cron.id}`, async () => {
    try {
      await call(t, kind, ref, cron.args);
    } catch (e) {
      console.error(`cron ${cron.id} failed: ${String((e as Error).message).slice(0, 300)}`);
    }
  });
}

export { wallClock as wallNow } from "./harness.js";

type CronState = CronSpec & { kind: "mutation" | "action"; next: number };
const nextAfter = (c: CronSpec, now: number) =>
  c.offsetMs + (Math.floor((now - c.offsetMs) / c.everyMs) + 1) * c.everyMs;

export class Clock {
  private crons: CronState[] = [];
  cronRuns = 0;
  constructor(
    private readonly t: App,
    private readonly rec: Recorder,
  ) {}

  /** The host's crons (`crons.export()`), their targets' kinds looked up in the app's modules. */
  async useCrons(
    exported: string,
    appModules: Record<string, () => Promise<unknown>>,
  ): Promise<void> {
    for (const spec of cronSpecs(exported)) {
      const [module, name] = spec.udfPath.split(":") as [string, string];
      const path = Object.keys(appModules).find((p) =>
        p.replace(/\.[^.]+$/, "").endsWith(`/${module}`),
      );
      const fn = path
        ? ((await appModules[path]!()) as Record<string, { isAction?: boolean }>)[name ?? "default"]
        : undefined;
      this.crons.push({
        ...spec,
        kind: fn?.isAction ? "action" : "mutation",
        next: nextAfter(spec, Date.now()),
      });
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
export async function createSite(
  t: App,
  rec: Recorder,
  timezone: string,
  origin: string,
): Promise<Site> {
  return (await rec.drive("setup", () =>
    call(t, "mutation", makeFunctionReference<"mutation">("analytics:createSite"), {
      slug: "shop",
      name: "Example shop",
      timezone,
      allowedOrigins: [origin],
    }),
  )) as Site;
}

export type DayRun = { totals: DayTotals; statuses: Record<number, number>; ms: number };

/** Sends one day's traffic through the route, the clock following the requests. */
export async function runDay(
  ctx: { t: App; clock: Clock; site: Site },
  day: {
    dayStart: number;
    dayIndex: number;
    scale: number;
    rate?: number;
    flat?: boolean;
    minCronGapMs?: number;
    from?: number;
    until?: number;
  },
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

// ------------------------------------------------------------------ reports

/** The compared periods the bench asks for (each printed against its base report). */
export const COMPARES = ["previous", "yearOverYear"] as const;
/** Property breakdowns of the traffic's custom events (bench/scale/traffic.ts): few values, and many. */
const PROPERTIES = [
  { event: "signup", property: "plan" },
  { event: "add_to_cart", property: "sku" },
  { event: "search", property: "query" },
];

export const REPORT_RANGES = [
  { label: "24h", days: 1 },
  { label: "7d", days: 7 },
  { label: "30d", days: 30 },
  { label: "90d", days: 90 },
  { label: "12mo", days: 365 },
] as const;

export type ReportCall = {
  report: string;
  range: string;
  tx?: Tx;
  error?: string;
  result?: unknown;
};

/** Every report facade (api.analytics.*) over every range ending at `to`, each one top-level query. */
export async function runReports(
  t: App,
  rec: Recorder,
  site: Site,
  to: number,
  dimensions: readonly string[],
  txs: Map<string, Tx>,
): Promise<ReportCall[]> {
  const out: ReportCall[] = [];
  const q = (name: string) => makeFunctionReference<"query">(`analytics:${name}`) as never;
  for (const range of REPORT_RANGES) {
    const args = { siteId: site.siteId, from: to - range.days * DAY, to };
    type Call = [string, string, Record<string, unknown>];
    const calls: Call[] = [
      ["overview", "getOverview", args],
      ["timeseries", "getTimeseries", args],
      ...dimensions.flatMap((d) =>
        [10, 100].map((limit): Call => [
          `breakdown ${d} @${limit}`,
          "getBreakdown",
          { ...args, dimension: d, limit },
        ]),
      ),
      // Issue 10's reports on the same storage: compared periods (printed against their base
      // report), property breakdowns of the traffic's custom events, and realtime at the range's end.
      ...COMPARES.flatMap((compare): Call[] => [
        [`overview vs ${compare}`, "getOverview", { ...args, compare }],
        [`timeseries vs ${compare}`, "getTimeseries", { ...args, compare }],
        [
          `breakdown page @10 vs ${compare}`,
          "getBreakdown",
          { ...args, dimension: "page", limit: 10, compare },
        ],
      ]),
      ...PROPERTIES.map(({ event, property }): Call => [
        `property ${event}.${property} @10`,
        "getPropertyBreakdown",
        { ...args, event, property, limit: 10 },
      ]),
      ...(range.days === 1
        ? [["realtime", "getRealtime", { siteId: site.siteId, now: to }] as Call]
        : []),
    ];
    for (const [report, fn, a] of calls) {
      const label = `report ${report} ${range.label}`;
      const r: ReportCall = { report, range: range.label };
      try {
        r.result = await rec.drive(label, () => call(t, "query", q(fn), a));
      } catch (e) {
        r.error = String((e as Error).message)
          .split("\n")[0]!
          .slice(0, 160);
      }
      r.tx = txs.get(label);
      txs.delete(label);
      out.push(r);
    }
  }
  return out;
}

export type FilteredScan = {
  complete: boolean;
  /** The scan's own error, if it stopped (a range too large for its partitions, say). */
  error: string | null;
  scannedEvents: number;
  wallMs: number;
  /** The scanned overview and the unfiltered one: a filter every event passes must agree with it. */
  filtered: { pageviews: number; events: number; visitors: number };
  unfiltered: { pageviews: number; events: number; visitors: number };
};

/**
 * A filtered overview of the real day through the raw-event scan (issue 10): a
 * filter every event passes (`isNot` always scans), so the scan reads and
 * records every event of the day, its worst case, and its answer can be checked
 * against the unfiltered overview. The scan's steps run as the scheduler runs
 * them; the caller's phase collects their transactions.
 */
export async function runFilteredScan(
  t: App,
  clock: Clock,
  site: Site,
  to: number,
): Promise<FilteredScan> {
  const args = {
    siteId: site.siteId,
    from: to - DAY,
    to,
    filters: [{ dimension: "country", op: "isNot", value: "ZZ" }],
  };
  const overview = makeFunctionReference<"query">("analytics:getOverview") as never;
  const start = makeFunctionReference<"mutation">("analytics:startFilterScan") as never;
  const started = wallClock();
  await call(t, "mutation", start, { report: "overview", ...args });
  type Answer = FilteredScan["filtered"] & {
    complete?: boolean;
    scannedEvents?: number;
    error?: string | null;
  };
  let answer = (await call(t, "query", overview, args)) as Answer;
  for (let i = 0; i < 10_000 && !answer.complete && !answer.error; i++) {
    await clock.advanceTo(Date.now() + 1_000);
    answer = (await call(t, "query", overview, args)) as Answer;
  }
  const wallMs = wallClock() - started;
  const { filters: _, ...plain } = args;
  const unfiltered = (await call(t, "query", overview, plain)) as Answer;
  const pick = (a: Answer) => ({ pageviews: a.pageviews, events: a.events, visitors: a.visitors });
  return {
    complete: answer.complete === true,
    error: answer.error ?? null,
    scannedEvents: answer.scannedEvents ?? 0,
    wallMs,
    filtered: pick(answer),
    unfiltered: pick(unfiltered),
  };
}

export { MINUTE, HOUR, DAY };
