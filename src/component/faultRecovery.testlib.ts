// Shared by the fault-injection tests (faults.worker.test.ts, faults.compaction.test.ts): a
// fixed generated stream, the crons' recovery loop, and the exactly-once check against the
// brute-force oracle (oracle.testlib.ts) through the oracle harness.
import fc from "fast-check";
import { afterEach, beforeEach, expect, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { COMPACTION_LEASE_MS } from "./compaction.js";
import { hasWaitingBatch } from "./cursor.js";
import { batchesByState } from "./batches.testlib.js";
import { EXPORT_LEASE_MS } from "./exports.js";
import { STALLED_BATCH_MS } from "./maintenance.js";
import {
  compactAll,
  expectReportsMatch,
  ingest,
  settle,
  tableCounts,
  type T,
} from "./oracle.harness.testlib.js";
import {
  STREAM_FROM,
  STREAM_TO,
  batchesOf,
  scenarioOf,
  type Batch,
} from "./oracle.streams.testlib.js";
import { buildModel } from "./oracle.testlib.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import type { AnalyticsEvent } from "../shared.js";

/**
 * A fault test file's setup: Convex's per-document limits on every write, fake
 * timers, and the console quiet (convex-test and the actions log each injected
 * failure).
 */
export function useFaultTestSetup(): void {
  enforceConvexDocumentLimits();
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}

/** One generated stream for every fault: 4 visitors, sessions over weeks, ~40 batches. */
export function faultStream(seed = 20261203): { timezone: string; batches: Batch[] } {
  const [scenario] = fc.sample(
    scenarioOf({ minVisitors: 4, maxVisitors: 4, maxSessions: 3, maxSteps: 4, maxOps: 0 }),
    { seed, numRuns: 1 },
  );
  const queues = scenario!.visitors.map(batchesOf);
  const batches: Batch[] = [];
  // Visitor by visitor in turn, as the oracle property sends what its ops left.
  while (queues.some((q) => q.length > 0))
    for (const q of queues) if (q.length > 0) batches.push(q.shift()!);
  return { timezone: scenario!.timezone, batches };
}

export async function ingestAll(t: T, siteId: string, batches: Batch[]): Promise<void> {
  for (const batch of batches)
    expect(await ingest(t, siteId, batch)).toEqual({
      accepted: batch.events.length,
      duplicate: false,
      rejected: [],
    });
}

/** Whether any worker loop or compaction still has something to do. */
async function pending(t: T, siteId: string): Promise<boolean> {
  return await t.run(async (ctx) => {
    if (await hasWaitingBatch(ctx, siteId as Id<"sites">, Infinity)) return true;
    if ((await ctx.db.query("rollupStaging").first()) !== null) return true;
    const closed = await ctx.db
      .query("rollupDeltas")
      .withIndex("by_age", (q) =>
        q.eq("interval", "hour").lt("bucketStart", Date.now() - 3_600_000),
      )
      .first();
    if (closed !== null) return true;
    const running = ctx.db
      .query("exports")
      .withIndex("by_status_lease", (q) => q.eq("status", "running"));
    return (await running.first()) !== null;
  });
}

/**
 * What a deployment does after a failure: the scheduled runs go on, and the kick cron
 * (every minute) restarts a stalled worker loop, a compaction whose lease ran out and an
 * export step that died. Runs rounds of scheduled work and kicks, the clock moving past
 * every lease each round, until nothing is left. Returns the kicks it took.
 */
export async function recover(t: T, siteId: string, maxKicks = 12): Promise<number> {
  const lease = Math.max(STALLED_BATCH_MS, COMPACTION_LEASE_MS, EXPORT_LEASE_MS) + 1;
  for (let kicks = 0; kicks <= maxKicks; kicks++) {
    await settle(t);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    if (!(await pending(t, siteId))) return kicks;
    vi.setSystemTime(Date.now() + lease);
    await t.mutation(api.maintenance.kick, {});
  }
  throw new Error(`work still pending after ${maxKicks} kicks`);
}

/**
 * Exactly once: the raw events are the sent ones minus `deadLettered`, each once; nothing
 * queued; every report over the stream equals the oracle before and after a full compaction.
 */
export async function expectExactlyOnce(
  t: T,
  siteId: string,
  timezone: string,
  sent: Batch[],
  deadLettered: ReadonlySet<string> = new Set(),
): Promise<AnalyticsEvent[]> {
  expect((await tableCounts(t)).queued, "batches left queued").toBe(0);
  const { processed: batches } = await t.run(async (ctx) => await batchesByState(ctx));
  // The order the loop counted them in: a batch that threw was retried after the rest of
  // its run (worker.ts), and these streams are drained in one run.
  const retried = batches.filter((b) => (b.attempts ?? 0) > 0);
  const processed = [...batches.filter((b) => !b.attempts), ...retried].flatMap((b) => b.events);
  const counted = sent.filter((b) => !deadLettered.has(b.batchId));
  expect(batches.length).toBe(counted.length);
  expect(processed.map((e) => e.id).sort(), "raw events, each once").toEqual(
    counted.flatMap((b) => b.events.map((e) => e.id)).sort(),
  );
  const model = buildModel(processed);
  await expectReportsMatch(t, siteId, model, STREAM_FROM, STREAM_TO, "after recovery", timezone);
  await compactAll(t);
  expect((await tableCounts(t)).rollupStaging).toBe(0);
  await expectReportsMatch(t, siteId, model, STREAM_FROM, STREAM_TO, "compacted", timezone);
  return processed;
}
