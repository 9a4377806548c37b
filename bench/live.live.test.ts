/// <reference types="vite/client" />
// The live cost model (issue 7, item 3): `npm run bench:live` (not in `npm test`; move it into
// `npm run bench` by renaming it *.bench.test.ts once a run is cheap, i.e. once the worker drains
// many batches per run). Options:
//   LIVE_MINUTES=60 (measured window, default), LIVE_WARMUP_MINUTES=10, LIVE_RATE=1 (1 = 10M pageviews a month)
//
// METHOD
// Everything a deployment runs, counted: the example app (example/convex) on convex-test with
// `transactionLimits: true`, instrumented without knowing the component's tables or functions
// (bench/scale/harness.ts). Steady load: the average rate of a 10M-pageview/month site, ~3.8 pageviews
// and ~4.4 browser batches a second, flat over the day (bench/scale/traffic.ts with `flat`), sent through
// the ingest route with real user agents and edge headers. The clock is live: events arrive 0.2-1 s after
// they are flushed, so the worker sees fresh events and writes whatever realtime rows it writes; whatever
// the component schedules runs when the fake clock reaches it; the host's crons (crons.export()) run on
// their deployed schedule. After a warm-up (so queues, open buckets and compaction are in steady state),
// every top-level function call and every transaction of the window is counted: the HTTP action, the
// mutations it calls, scheduled runs (workers, compaction, their children), crons and what they schedule.
// Storage after 30 days: the growth of every table of every component over the window, extrapolated
// linearly to 30 days (exact for raw events, sessions and queues; an upper bound for rollups, whose
// coarser buckets grow slower than traffic).
//
// PRICES: Convex Professional plan, from https://docs.convex.dev/production/state/limits (the limits
// page carries the plan's included amounts and overage rates; convex.dev/pricing links to it), as read on
// 2026-12-02 through the project's search corpus:
//   $25 per developer per month; function calls 25,000,000/month included, then $2 per 1,000,000
//   ("explicit client calls, scheduled executions, subscription updates, and file accesses count");
//   database storage 50 GiB included, then $0.20 per GiB-month; database bandwidth ("document and index
//   data transferred between Convex functions and the underlying database") 50 GiB/month included, then
//   $0.20 per GiB; "per-document size is rounded up to the nearest 1 KiB" for both; action execution
//   250 GiB-hours included, then $0.30 per GiB-hour. US regions (the page notes EU at 1.3x).
// Not modelled: index bytes (convex-test does not count them; Convex bills them as bandwidth and storage),
// so the bill is a lower bound on those two lines; reports' reads (dashboards) are not traffic-driven.
import { afterAll, describe, expect, test, vi } from "vitest";
import schema from "../example/convex/schema.js";
import crons from "../example/convex/crons.js";
import { register } from "../src/test.js";
import { initInstrumentedApp, loadConvexTest, Recorder, wallClock } from "./scale/harness.js";
import { scanStorage, type TableStats } from "./scale/storage.js";
import { Clock, createSite, runDay, DAY, HOUR, MINUTE, type DayRun } from "./scale/driver.js";
import { ORIGIN, SITE_TIMEZONE } from "./scale/traffic.js";
import {
  checkLine,
  fmt,
  int,
  kib,
  storageByGroup,
  table,
  KIB,
  Stats,
  type Check,
} from "./scale/stats.js";

const WINDOW = Number(process.env.LIVE_MINUTES ?? "60") * MINUTE;
const WARMUP = Number(process.env.LIVE_WARMUP_MINUTES ?? "10") * MINUTE;
const RATE = Number(process.env.LIVE_RATE ?? "1");
const START = Date.UTC(2026, 10, 25, 8, 0, 0);
const GIB = 1024 ** 3;
const PRO = {
  base: 25,
  callsIncluded: 25e6,
  perMillionCalls: 2,
  storageIncludedGiB: 50,
  perGiBStorage: 0.2,
  bandwidthIncludedGiB: 50,
  perGiBBandwidth: 0.2,
};

const { convexTest, harness } = await loadConvexTest();
const modules = import.meta.glob("../example/convex/**/*.ts");

describe("live cost model", () => {
  const rec = new Recorder();
  const stats = new Stats();
  rec.onTx = (tx) => stats.addTx(tx);
  rec.onCall = (c) => stats.addCall(c);
  let warm: DayRun | undefined;
  let live: DayRun | undefined;
  let before: TableStats[] = [];
  let after: TableStats[] = [];
  const started = wallClock();

  afterAll(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    if (live)
      console.log(render(live, before, after, stats, harness, (wallClock() - started) / 1000));
  });

  test("steady load at 10M pageviews a month, everything counted", async () => {
    vi.useFakeTimers();
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    vi.setSystemTime(START - WARMUP - HOUR);
    const { t, components } = initInstrumentedApp({
      convexTest,
      rec,
      schema,
      modules,
      register: register as never,
      readSizes: true,
    });
    const clock = new Clock(t, rec);
    await clock.useCrons((crons as unknown as { export: () => string }).export(), modules);
    rec.phase = "setup";
    const site = await createSite(t, rec, SITE_TIMEZONE, ORIGIN);
    const ctx = { t, clock, site };
    // One flat "day" of traffic starting an hour before the window; only [START, START + WINDOW) is counted.
    const dayStart = START - WARMUP - 5 * MINUTE;
    await clock.advanceTo(dayStart);
    rec.phase = "warmup";
    warm = await runDay(ctx, { dayStart, dayIndex: 1, scale: RATE, flat: true, until: START });
    before = await scanStorage(t, components);
    rec.phase = "live";
    live = await runDay(ctx, {
      dayStart,
      dayIndex: 1,
      scale: RATE,
      flat: true,
      from: START,
      until: START + WINDOW,
    });
    rec.phase = "after";
    after = await scanStorage(t, components);
    expect(live.totals.pageviews).toBeGreaterThan(0);
    expect(warm.totals.requests).toBeGreaterThan(0);
  });
});

function render(
  live: DayRun,
  before: TableStats[],
  after: TableStats[],
  stats: Stats,
  harness: string,
  seconds: number,
): string {
  const out: string[] = [];
  const t = live.totals;
  const events = t.pageviews + t.trackEvents;
  const batches = t.requests - t.botRequests;
  const perM = 1e6 / t.pageviews;
  const classes = stats.classes("live");
  const sum = (f: (s: (typeof classes)[number][1]) => number) =>
    classes.reduce((a, [, s]) => a + f(s), 0);
  const calls = stats.callsIn(["live"]);
  const topLevel = calls.total - (calls.byKind.nested ?? 0);
  out.push(
    `LIVE COST MODEL: ${harness}; transactionLimits: true; steady load ${fmt(RATE, 2)} x 10M pageviews a month, flat`,
  );
  out.push(
    `Window: ${fmt(WINDOW / MINUTE, 0)} min after ${fmt(WARMUP / MINUTE, 0)} min of warm-up: ${int(t.requests)} requests (${int(t.botRequests)} crawlers), ${int(t.pageviews)} pageviews, ` +
      `${int(t.trackEvents)} custom events = ${fmt(batches / (WINDOW / 1000), 2)} batches/s; HTTP statuses ${JSON.stringify(live.statuses)}`,
  );
  out.push("");
  out.push("PER 1M PAGEVIEWS (everything the deployment ran in the window)");
  const rows: (string | number)[][] = [];
  for (const [kind, n] of Object.entries(calls.byKind))
    rows.push([
      `function calls: ${kind === "nested" ? "nested component calls (ctx.runMutation/runQuery inside a transaction)" : kind}`,
      int(n * perM),
    ]);
  rows.push(["function calls: top-level (billed)", int(topLevel * perM)]);
  rows.push(["database bytes read", `${fmt((sum((s) => s.bytesRead) * perM) / GIB, 3)} GiB`]);
  rows.push(["database bytes written", `${fmt((sum((s) => s.bytesWritten) * perM) / GIB, 3)} GiB`]);
  rows.push([
    "database bandwidth billed (1 KiB/doc rounding, reads + writes)",
    `${fmt((sum((s) => s.billedReadBytes + s.billedWriteBytes) * perM) / GIB, 3)} GiB`,
  ]);
  rows.push(["documents read", int(sum((s) => s.documentsRead) * perM)]);
  rows.push(["documents written", int(sum((s) => s.documentsWritten) * perM)]);
  out.push(table(["", "per 1M pageviews"], rows));
  out.push("  by class (transactions, documents written, KiB written per event):");
  for (const [cls, s] of classes.sort((a, b) => b[1].documentsWritten - a[1].documentsWritten)) {
    out.push(
      `    ${cls.padEnd(12)} ${int(s.count).padStart(8)} tx  ${fmt(s.documentsWritten / events, 3).padStart(7)} docs/event  ${fmt(s.bytesWritten / events / KIB, 3).padStart(7)} KiB/event  ${Object.entries(
        s.writesByTable,
      )
        .map(([k, n]) => `${k} ${fmt(n / events, 3)}`)
        .join(", ")}`,
    );
  }
  out.push("  function calls per batch by function:");
  for (const [label, n] of calls.byLabel.slice(0, 14))
    out.push(`    ${fmt(n / batches, 3).padStart(7)}  ${label}`);
  out.push("");

  // Storage after 30 days: the window's growth per table, scaled to 30 days of this traffic.
  const scaleTo30 = (30 * DAY) / WINDOW;
  const grown: TableStats[] = after.map((a) => {
    const b = before.find((x) => x.path === a.path && x.table === a.table);
    return {
      ...a,
      documents: Math.max(0, a.documents - (b?.documents ?? 0)) * scaleTo30,
      bytes: Math.max(0, a.bytes - (b?.bytes ?? 0)) * scaleTo30,
      billedBytes: Math.max(0, a.billedBytes - (b?.billedBytes ?? 0)) * scaleTo30,
    };
  });
  out.push(
    `STORAGE AFTER 30 DAYS at this rate (window growth x ${fmt(scaleTo30, 0)}; rollups: an upper bound)`,
  );
  const groups = storageByGroup(grown);
  out.push(
    table(
      ["group", "documents", "GiB", "GiB billed (1 KiB/doc)"],
      Object.entries(groups).map(([g, s]) => [
        g,
        int(s.documents),
        fmt(s.bytes / GIB, 3),
        fmt(s.billedBytes / GIB, 3),
      ]),
    ),
  );
  // _scheduled_functions is a system table (Convex keeps finished jobs for a while); shown, not billed here.
  const storageGiB =
    Object.entries(groups).reduce((a, [g, s]) => a + (g === "scheduler" ? 0 : s.billedBytes), 0) /
    GIB;
  out.push(
    "  (the scheduler group, _scheduled_functions, is a system table: shown, not counted in the bill below)",
  );
  out.push("");

  const month = 10 * RATE; // millions of pageviews a month at this rate
  const monthCalls = topLevel * perM * month;
  const monthBandwidth = (sum((s) => s.billedReadBytes + s.billedWriteBytes) * perM * month) / GIB;
  const bill = {
    base: PRO.base,
    calls: (Math.max(0, monthCalls - PRO.callsIncluded) / 1e6) * PRO.perMillionCalls,
    bandwidth: Math.max(0, monthBandwidth - PRO.bandwidthIncludedGiB) * PRO.perGiBBandwidth,
    storage: Math.max(0, storageGiB - PRO.storageIncludedGiB) * PRO.perGiBStorage,
  };
  out.push(
    `MONTHLY BILL, Convex Professional (one developer), ${fmt(month, 1)}M pageviews a month, storage as after 30 days`,
  );
  out.push(
    table(
      ["line", "usage", "included", "overage"],
      [
        ["base (1 developer)", "-", "-", `$${fmt(bill.base)}`],
        [
          "function calls (top-level)",
          `${fmt(monthCalls / 1e6, 2)}M`,
          "25M",
          `$${fmt(bill.calls)}`,
        ],
        [
          "database bandwidth",
          `${fmt(monthBandwidth, 2)} GiB`,
          "50 GiB",
          `$${fmt(bill.bandwidth)}`,
        ],
        ["database storage", `${fmt(storageGiB, 2)} GiB`, "50 GiB", `$${fmt(bill.storage)}`],
        ["total", "", "", `$${fmt(bill.base + bill.calls + bill.bandwidth + bill.storage)}`],
      ],
    ),
  );
  out.push(
    `  without the included amounts (marginal): calls $${fmt((monthCalls / 1e6) * PRO.perMillionCalls)}, bandwidth $${fmt(monthBandwidth * PRO.perGiBBandwidth)}, storage $${fmt(storageGiB * PRO.perGiBStorage)} a month`,
  );
  out.push(
    "  HTTP-action compute is not metered here; at ~50 ms x 64 MiB a request it would be ~14 GiB-hours of the 250 included.",
  );
  out.push("");
  const checks: Check[] = [
    {
      pass: topLevel / batches <= 2.5,
      target: "<= 2.5 function calls per batch at steady load (top-level, all included)",
      measured: `${fmt(topLevel / batches)} (+ ${fmt((calls.byKind.nested ?? 0) / batches)} nested component calls)`,
    },
    {
      pass: sum((s) => s.documentsWritten) / events <= 2,
      target: "<= 2.0 documents written per event live, all included",
      measured: fmt(sum((s) => s.documentsWritten) / events),
    },
    {
      pass: sum((s) => s.bytesWritten) / events <= 3 * KIB,
      target: "<= 3 KiB written per event live, all included",
      measured: kib(sum((s) => s.bytesWritten) / events),
    },
  ];
  out.push("TARGETS");
  for (const c of checks) out.push(checkLine(c));
  out.push(`WALL TIME ${fmt(seconds, 0)} s (2 shared cores)`);
  return out.join("\n");
}
