/// <reference types="vite/client" />
// Rebuild throughput, measured: a site's 10,000 raw events (bench/workload.ts)
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
import { DAY, HOUR } from "../src/component/time.js";
import { generateWorkload, WORKLOAD_TIMEZONE } from "./workload.js";
import { indexEveryDatabase } from "../dev/indexedStore.js";

// As bench/costs.bench.test.ts: the indexed store, and schema validation off (it reads and writes nothing).
await indexEveryDatabase(convexTest);
const modules = import.meta.glob("../src/component/**/*.ts");
const benchSchema = defineSchema(schema.tables, { schemaValidation: false });
const EVENTS = Number(process.env.REBUILD_BENCH_EVENTS ?? 10_000);
const NEW_TIMEZONE = "Asia/Kolkata";
const wallNow = performance.now.bind(performance);

type Kind = "catch-up" | "waiting for compaction" | "cleanup" | "compaction (during rebuild)";
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
  const compactAll = async (kind?: Kind) => {
    for (;;) {
      const t0 = wallNow();
      const { result, metrics } = await measured((ctx) => compactStepHandler(ctx));
      if (kind) add(kind, metrics, wallNow() - t0);
      if (result.work === null) return;
    }
  };
  for (;;) {
    const { metrics } = await measured((ctx) => drainSiteHandler(ctx, { siteId: id }));
    if (metrics.documentsWritten.used === 0) break;
  }
  vi.setSystemTime(workload.end + 2 * HOUR);
  await compactAll();
  const range = { siteId, from: workload.start - DAY, to: workload.end + DAY };
  const before = await t.query(api.reports.getOverview, range);

  const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, {
    siteId,
    timezone: NEW_TIMEZONE,
  });
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
    const after = await doc();
    const events = after.events - prior.events;
    const kind: Kind =
      prior.status === "cleaning"
        ? "cleanup"
        : events > 0 || after.status !== "running"
          ? "catch-up"
          : "waiting for compaction";
    add(kind, metrics, wallNow() - t0, events);
    if (kind === "waiting for compaction") await compactAll("compaction (during rebuild)");
  }
  const totalMs = wallNow() - started;
  const rebuilt = await t.run((ctx) => getOverviewHandler(ctx, range));
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
    "events",
    "events/step",
    "max KiB read",
    "max KiB written",
    "ms/step (convex-test)",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: (string | number)[]) =>
    cells.map((c, i) => String(c).padStart(widths[i]!)).join("  ");
  const catchUp = tallies.get("catch-up")!;
  const out = [
    `rebuild of ${final.events} events in ${final.batches} batches (${WORKLOAD_TIMEZONE} -> ${NEW_TIMEZONE}), ${(totalMs / 1000).toFixed(1)} s in convex-test`,
    line(header),
    ...rows.map(line),
    `catch-up: ${(final.events / catchUp.steps).toFixed(0)} events per step, ${((catchUp.steps * 10_000) / final.events).toFixed(1)} steps per 10k events; ${final.steps} steps in all; ${final.deleted} old documents deleted`,
  ];
  console.log(out.join("\n"));

  // The same events, counted once: the rebuilt rollups hold what the old ones held.
  expect(final.events).toBe(workload.batches.reduce((n, b) => n + b.events.length, 0));
  expect({
    pageviews: rebuilt.pageviews,
    events: rebuilt.events,
    sessions: rebuilt.sessions,
  }).toEqual({
    pageviews: before.pageviews,
    events: before.events,
    sessions: before.sessions,
  });
  for (const s of tallies.values()) {
    expect(s.worstRead).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(s.worstWritten).toBeLessThanOrEqual(4 * 1024 * 1024);
  }
  vi.useRealTimers();
});
