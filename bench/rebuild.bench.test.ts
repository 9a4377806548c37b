/// <reference types="vite/client" />
// Rebuild throughput, measured: a site's raw events (bench/workload.ts; REBUILD_BENCH_EVENTS, default 10,000)
// rebuilt into a new timezone, step by step as its chain runs them. Prints the
// events each catch-up step recomputes, the steps per 10,000 events, the
// compaction steps the switch waited for, the cleanup steps of the old
// generation, and every kind of step's worst bytes read and written (convex-test's
// ctx.meta.getTransactionMetrics(), with `transactionLimits: true`). Run only this
// file: npx vitest run --config vitest.bench.config.ts bench/rebuild.bench.test.ts
import { expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import aggregate from "@convex-dev/aggregate/test";
import batchWorker from "@convex-dev/batch-worker/test";
import rateLimiter from "@convex-dev/rate-limiter/test";
import { defineSchema, type TransactionMetrics } from "convex/server";
import schema from "../src/component/schema.js";
import { api } from "../src/component/_generated/api.js";
import type { MutationCtx } from "../src/component/_generated/server.js";
import type { Id } from "../src/component/_generated/dataModel.js";
import { SETTLE_MS, ingestTrustedHandler } from "../src/component/ingest.js";
import { drainSiteHandler } from "../src/component/worker.js";
import { compactStepHandler } from "../src/component/compaction.js";
import { rebuildStepHandler } from "../src/component/rebuilds.js";
import { getOverviewHandler } from "../src/component/reports.js";
import { DAY, HOUR, monthStart } from "../src/component/time.js";
import { hasWaitingBatch } from "../src/component/cursor.js";
import type { RebuildArgs } from "../src/shared.js";
import { generateWorkload, WORKLOAD_TIMEZONE } from "./workload.js";
import { indexEveryDatabase } from "../dev/indexedStore.js";

// As bench/costs.bench.test.ts: the indexed store, and schema validation off (it reads and writes nothing).
await indexEveryDatabase(convexTest);
const modules = import.meta.glob("../src/component/**/*.ts");
const benchSchema = defineSchema(schema.tables, { schemaValidation: false });
const EVENTS = Number(process.env.REBUILD_BENCH_EVENTS ?? 10_000);
const NEW_TIMEZONE = "Asia/Kolkata";
const wallNow = performance.now.bind(performance);

type Kind =
  "copy" | "catch-up" | "waiting for compaction" | "cleanup" | "compaction (during rebuild)";
/** The checks printed as PASS/FAIL: a catch-up step does about a worker run's work, inside the 4 MiB budget. */
const MIN_EVENTS_PER_STEP = 200;
const MAX_STEPS_PER_10K = 50;
const STEP_BUDGET_BYTES = 4 * 1024 * 1024;
type Tally = { steps: number; events: number; ms: number; worstRead: number; worstWritten: number };

test(`rebuild throughput over ${EVENTS} events`, { timeout: 60 * 60_000 }, async () => {
  vi.useFakeTimers();
  const t = convexTest({ schema: benchSchema, modules, transactionLimits: true });
  aggregate.register(t, "hourlyTotals");
  batchWorker.register(t, "hourlyTotals/batchWorker");
  rateLimiter.register(t, "rateLimiter");
  const workload = generateWorkload({ events: EVENTS, paths: 2_000, days: 30 });
  vi.setSystemTime(workload.start - DAY);
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug: "bench",
    name: "Bench",
    timezone: WORKLOAD_TIMEZONE,
  });
  const id = siteId as Id<"sites">;

  const measured = async <R>(fn: (ctx: MutationCtx) => Promise<R>) =>
    await t.run(async (raw) => {
      const ctx = raw as unknown as MutationCtx;
      const result = await fn(ctx);
      return { result, metrics: await ctx.meta.getTransactionMetrics() };
    });
  // The raw events, counted by the live worker and compacted, as a site would have them.
  for (const batch of workload.batches) {
    vi.setSystemTime(batch.receivedAt);
    await t.run(async (ctx) =>
      ingestTrustedHandler(
        ctx as unknown as MutationCtx,
        (await ctx.db.get("sites", id))!,
        batch.batchId,
        batch.events,
      ),
    );
  }
  vi.setSystemTime(workload.end + SETTLE_MS + 1);
  const compactAll = async () => {
    while ((await measured((ctx) => compactStepHandler(ctx))).result.work !== null);
  };
  // Every batch counted (the loop's own next runs, scheduled on fake timers, are dropped).
  while (await t.run(async (ctx) => await hasWaitingBatch(ctx, id, Infinity))) {
    await measured((ctx) => drainSiteHandler(ctx, { siteId: id }));
    vi.clearAllTimers();
  }
  vi.setSystemTime(workload.end + 2 * HOUR);
  await compactAll();
  const range = { siteId, from: workload.start - DAY, to: workload.end + DAY };
  const before = await t.query(api.reports.getOverview, range);
  const expectedEvents = workload.batches.reduce((n, b) => n + b.events.length, 0);

  /** Steps a rebuild to the end as its chain would, tallied by kind of step; prints the table and the checks. */
  const rebuild = async (args: RebuildArgs, label: string) => {
    const tallies = new Map<Kind, Tally>();
    const add = (kind: Kind, metrics: TransactionMetrics, ms: number, events = 0) => {
      const tally = tallies.get(kind) ?? {
        steps: 0,
        events: 0,
        ms: 0,
        worstRead: 0,
        worstWritten: 0,
      };
      tally.steps++;
      tally.events += events;
      tally.ms += ms;
      tally.worstRead = Math.max(tally.worstRead, metrics.bytesRead.used);
      tally.worstWritten = Math.max(tally.worstWritten, metrics.bytesWritten.used);
      tallies.set(kind, tally);
    };
    const compactDuring = async () => {
      for (;;) {
        const t0 = wallNow();
        const { result, metrics } = await measured((ctx) => compactStepHandler(ctx));
        add("compaction (during rebuild)", metrics, wallNow() - t0);
        if (result.work === null) return;
      }
    };
    const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, args);
    const doc = async () =>
      (await t.run(async (ctx) => await ctx.db.get("rebuilds", rebuildId as Id<"rebuilds">)))!;
    const started = wallNow();
    for (let i = 0; i < 100_000; i++) {
      const prior = await doc();
      if (prior.status === "done") break;
      expect(prior.status).not.toBe("failed");
      const t0 = wallNow();
      const { metrics } = await measured((ctx) =>
        rebuildStepHandler(ctx, { rebuildId: prior._id, chainId: prior.chainId }),
      );
      vi.clearAllTimers();
      const after = await doc();
      const events = after.events - prior.events;
      const pages = (after.partial?.pages ?? 0) - (prior.partial?.pages ?? 0);
      const kind: Kind =
        prior.status === "cleaning"
          ? "cleanup"
          : pages > 0 || (prior.partial && !prior.partial.copied && after.partial!.copied)
            ? "copy"
            : events > 0 || after.status !== "running"
              ? "catch-up"
              : "waiting for compaction";
      add(kind, metrics, wallNow() - t0, kind === "copy" ? pages : events);
      if (kind === "waiting for compaction") await compactDuring();
    }
    const totalMs = wallNow() - started;
    const final = await doc();
    const rows = [...tallies].map(([kind, s]) => [
      kind,
      s.steps,
      s.events,
      s.events > 0 ? (s.events / s.steps).toFixed(0) : "",
      (s.worstRead / 1024).toFixed(0),
      (s.worstWritten / 1024).toFixed(0),
      (s.ms / s.steps).toFixed(0),
    ]);
    const header = [
      "step",
      "steps",
      "events (copy: pages)",
      "per step",
      "max KiB read",
      "max KiB written",
      "ms/step (convex-test)",
    ];
    const widths = header.map((h, i) =>
      Math.max(h.length, ...rows.map((r) => String(r[i]).length)),
    );
    const line = (cells: (string | number)[]) =>
      cells.map((c, i) => String(c).padStart(widths[i]!)).join("  ");
    const catchUp = tallies.get("catch-up")!;
    const eventsPerStep = final.events / catchUp.steps;
    const stepsPer10k = (catchUp.steps * 10_000) / final.events;
    const worstRead = Math.max(...[...tallies.values()].map((s) => s.worstRead));
    const worstWritten = Math.max(...[...tallies.values()].map((s) => s.worstWritten));
    const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
    const checks = [
      [
        eventsPerStep >= MIN_EVENTS_PER_STEP,
        `events per catch-up step: ${eventsPerStep.toFixed(0)} (at least ${MIN_EVENTS_PER_STEP})`,
      ],
      [
        stepsPer10k <= MAX_STEPS_PER_10K,
        `catch-up steps per 10k events: ${stepsPer10k.toFixed(1)} (at most ${MAX_STEPS_PER_10K})`,
      ],
      [
        worstRead <= STEP_BUDGET_BYTES,
        `worst step's bytes read: ${(worstRead / 1024).toFixed(0)} KiB (at most ${STEP_BUDGET_BYTES / 1024} KiB)`,
      ],
      [
        worstWritten <= STEP_BUDGET_BYTES,
        `worst step's bytes written: ${(worstWritten / 1024).toFixed(0)} KiB (at most ${STEP_BUDGET_BYTES / 1024} KiB)`,
      ],
    ] as const;
    console.log(
      [
        `${label}: ${final.events} events in ${final.batches} batches, ${final.partial?.pages ?? 0} pages copied, ${(totalMs / 1000).toFixed(1)} s in convex-test`,
        line(header),
        ...rows.map(line),
        `${final.steps} steps in all; ${final.deleted} old documents deleted`,
        ...checks.map(([ok, text]) => `${verdict(ok)} ${label}: ${text}`),
      ].join("\n"),
    );
    expect(final.events).toBe(expectedEvents);
    for (const [ok, text] of checks) expect(ok, text).toBe(true);
  };

  // A full rebuild into a new timezone: the same events, counted once.
  await rebuild(
    { siteId, timezone: NEW_TIMEZONE },
    `full rebuild (${WORKLOAD_TIMEZONE} -> ${NEW_TIMEZONE})`,
  );
  const rebuilt = await t.run((ctx) => getOverviewHandler(ctx, range));
  expect({
    pageviews: rebuilt.pageviews,
    events: rebuilt.events,
    sessions: rebuilt.sessions,
  }).toEqual({
    pageviews: before.pageviews,
    events: before.events,
    sessions: before.sessions,
  });
  // A partial rebuild of the workload's last month: the months before it are copied.
  // Three hours after the workload: March ended over 7 days ago, so the rebuild keeps it.
  vi.setSystemTime(workload.end + 3 * HOUR);
  const lastMonth = monthStart(workload.end, NEW_TIMEZONE);
  await rebuild(
    { siteId, from: lastMonth },
    `partial rebuild (from ${new Date(lastMonth).toISOString()})`,
  );
  const partiallyRebuilt = await t.run((ctx) => getOverviewHandler(ctx, range));
  expect(partiallyRebuilt).toEqual(rebuilt);
  vi.useRealTimers();
});
