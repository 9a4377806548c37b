// The rebuild tests' shared steps: one rebuild step as its chain runs it (or
// crashing after its work), stepping a rebuild to the end, counting a
// generation's documents, and the oracle streams as batches.
import fc from "fast-check";
import { expect } from "vitest";
import type { MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { arbScenario, batchesOf, type Batch } from "./oracle.streams.testlib.js";
import { compactAll, drainAll, type T } from "./oracle.harness.testlib.js";
import { rebuildStepHandler } from "./rebuilds.js";

/** The budget of every step: a quarter of Convex's 16 MiB. */
export const STEP_BUDGET_BYTES = 4 * 1024 * 1024;

export async function rebuildDoc(t: T, rebuildId: string): Promise<Doc<"rebuilds">> {
  return await t.run(async (ctx) => (await ctx.db.get("rebuilds", rebuildId as Id<"rebuilds">))!);
}

/** One rebuild step as its chain would run it; returns the step's transaction metrics. */
export async function step(t: T, rebuildId: string) {
  const { chainId } = await rebuildDoc(t, rebuildId);
  return await t.run(async (ctx) => {
    await rebuildStepHandler(ctx as unknown as MutationCtx, {
      rebuildId: rebuildId as Id<"rebuilds">,
      chainId,
    });
    return await ctx.meta.getTransactionMetrics();
  });
}

/** A step that does all its work and then crashes: nothing of it may survive. */
export async function crashStep(t: T, rebuildId: string): Promise<void> {
  const { chainId } = await rebuildDoc(t, rebuildId);
  await expect(
    t.run(async (ctx) => {
      await rebuildStepHandler(ctx as unknown as MutationCtx, {
        rebuildId: rebuildId as Id<"rebuilds">,
        chainId,
      });
      throw new Error("crash");
    }),
  ).rejects.toThrow("crash");
}

export type Metrics = Awaited<ReturnType<typeof step>>;
export const worstBytes = (m: Metrics) => Math.max(m.bytesRead.used, m.bytesWritten.used);

/**
 * Steps the rebuild until it is done: the live worker drains what was sent, and
 * compaction folds the closed hours the switch waits for. Returns every step's metrics.
 */
const progressOf = (r: Doc<"rebuilds">) =>
  `${r.batches}:${r.partial?.pages ?? 0}:${r.partial?.copied ?? true}`;

export async function finishRebuild(t: T, siteId: string, rebuildId: string): Promise<Metrics[]> {
  const metrics: Metrics[] = [];
  for (let i = 0; i < 10_000; i++) {
    const { status } = await rebuildDoc(t, rebuildId);
    if (status === "done") return metrics;
    expect(status).not.toBe("failed");
    await drainAll(t, siteId);
    const before = await rebuildDoc(t, rebuildId);
    metrics.push(await step(t, rebuildId));
    const after = await rebuildDoc(t, rebuildId);
    // Still running and nothing recomputed or copied: the copy of a partial rebuild waits for
    // compaction to fold the kept months, the switch for it to fold what the rebuild wrote.
    if (after.status === "running" && progressOf(after) === progressOf(before)) await compactAll(t);
  }
  throw new Error("the rebuild did not finish");
}

/** Documents of one generation of the site, in every table rollups live in. */
export async function generationDocs(t: T, siteId: string, generation: number) {
  return await t.run(async (ctx) => {
    const mine = (d: { siteId: string; generation: number }) =>
      d.siteId === siteId && d.generation === generation;
    return {
      rollupDeltas: (await ctx.db.query("rollupDeltas").collect()).filter(mine).length,
      rollupStaging: (await ctx.db.query("rollupStaging").collect()).filter(mine).length,
      rollups: (await ctx.db.query("rollups").collect()).filter(mine).length,
      sessions: (await ctx.db.query("sessions").collect()).filter(mine).length,
    };
  });
}

/** The visitors' batches, one of each visitor in turn. */
export function interleaved(scenario: { visitors: Parameters<typeof batchesOf>[0][] }): Batch[] {
  const queues = scenario.visitors.map(batchesOf);
  const out: Batch[] = [];
  while (queues.some((q) => q.length > 0))
    for (const q of queues) if (q.length > 0) out.push(q.shift()!);
  return out;
}

/** The batches of `n` sampled scenarios, their ids and visitors kept apart: more than one step's worth. */
export function manyBatches(n: number, seed: number): Batch[] {
  return fc.sample(arbScenario, { numRuns: n, seed }).flatMap((scenario, i) =>
    interleaved(scenario).map((b) => ({
      batchId: `${i}-${b.batchId}`,
      events: b.events.map((e) => ({ ...e, id: `${i}-${e.id}`, visitorId: `${i}-${e.visitorId}` })),
    })),
  );
}
