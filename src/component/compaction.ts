// Compaction folds closed hours' rollup deltas into canonical rows (hour, and
// the day and month they belong to) and the hourly-totals BTree, and groups a
// closed day's hour pages (hourGroups.ts). It is the only
// writer of canonical rows and of the BTree, so neither is ever contended, and
// it is single-flight (compactionLock), so two runs never pick the same work.
// This file schedules and runs the steps; folding.ts is what a step does.
//
// A step that fails (say, a bug meeting strange data) is skipped for the rest
// of the run, so one site's data can never stop another site's compaction.
import { v } from "convex/values";
import {
  internalAction,
  internalMutation,
  internalQuery,
  type MutationCtx,
  type QueryCtx,
} from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { siteOf, type RollupOwner } from "./generations.js";
import { DIMENSIONS, type Dimension } from "../shared.js";
import { FOLD_READ_BYTES, explode, explodeDay, fold, roomFor } from "./folding.js";
import { groupHours } from "./hourGroups.js";
import { liveSite } from "./sites.js";
import { HOUR } from "./time.js";

const MAX_STEPS_PER_RUN = 200;
/** A run that has not shown a sign of life for this long is presumed dead, and its lock can be taken. */
export const COMPACTION_LEASE_MS = 10 * 60_000;

type Work = RollupOwner &
  (
    | { kind: "explode"; bucketStart: number }
    | { kind: "fold"; bucketStart: number; dimension: Dimension }
    | { kind: "group"; bucketStart: number }
  );

/**
 * The oldest work there is, passing over what `skip` names (work that failed in
 * this run). Looks at a bounded number of documents: with that many skipped,
 * the run ends and the next one starts over.
 */
async function nextWork(
  ctx: QueryCtx,
  closedBefore: number,
  skip: Set<string>,
): Promise<Work | null> {
  let looked = 0;
  // Staging first: it is the nearest to done, and it keeps the staging table small.
  for await (const doc of ctx.db.query("rollupStaging").withIndex("by_age")) {
    const work: Work = {
      kind: "fold",
      siteId: doc.siteId,
      generation: doc.generation,
      bucketStart: doc.bucketStart,
      dimension: doc.dimension,
    };
    if (!skip.has(workKey(work))) return work;
    if (++looked > MAX_SKIPPED_LOOKS) return null;
  }
  const closed = ctx.db
    .query("rollupDeltas")
    .withIndex("by_age", (q) => q.eq("interval", "hour").lt("bucketStart", closedBefore));
  for await (const doc of closed) {
    const work: Work = {
      kind: "explode",
      siteId: doc.siteId,
      generation: doc.generation,
      bucketStart: doc.bucketStart,
    };
    if (!skip.has(workKey(work))) return work;
    if (++looked > MAX_SKIPPED_LOOKS) return null;
  }
  // Last, so a closed day is grouped once its hours are folded (hourGroups.ts).
  const days = ctx.db
    .query("hourGroupWork")
    .withIndex("by_end", (q) => q.lte("dayEnd", closedBefore));
  for await (const doc of days) {
    const work: Work = {
      kind: "group",
      siteId: doc.siteId,
      generation: doc.generation,
      bucketStart: doc.dayStart,
    };
    if (!skip.has(workKey(work))) return work;
    if (++looked > MAX_SKIPPED_LOOKS) return null;
  }
  return null;
}
const MAX_SKIPPED_LOOKS = 64;

const workKey = (w: Work) =>
  `${w.kind}|${w.siteId}|${w.generation}|${w.bucketStart}|${w.kind === "fold" ? w.dimension : ""}`;

export async function compactStepHandler(
  ctx: MutationCtx,
  args: { skip?: string[] } = {},
): Promise<{ work: string | null; moved: number }> {
  // Only closed hours: the open one is still being written by its site's worker every few seconds.
  const closedBefore = Date.now() - HOUR;
  const work = await nextWork(ctx, closedBefore, new Set(args.skip ?? []));
  if (!work) return { work: null, moved: 0 };
  const owner = { siteId: work.siteId, generation: work.generation };
  if (work.kind === "group") {
    const moved = await groupHours(ctx, owner, work.bucketStart, () => roomFor(ctx, 0));
    return { work: workKey(work), moved };
  }
  // A site being deleted is folded nowhere: its rows are dropped, as a deleted site's are.
  const site = liveSite(await siteOf(ctx, owner));
  if (work.kind === "explode") {
    const moved =
      (await explodeDay(ctx, site, owner, work.bucketStart, closedBefore)) ??
      (await explode(ctx, site, owner, work.bucketStart));
    return { work: workKey(work), moved };
  }
  let moved = await fold(ctx, site, owner, work.bucketStart, work.dimension, true);
  // The same hour's other staged dimensions, while the step has room to read their
  // staging, fold a page set and read the staging again.
  for (const dimension of DIMENSIONS) {
    if (dimension === work.dimension || !(await roomFor(ctx, 2 * FOLD_READ_BYTES))) continue;
    const staged = await ctx.db
      .query("rollupStaging")
      .withIndex("by_dimension", (q) =>
        q
          .eq("siteId", work.siteId)
          .eq("generation", work.generation)
          .eq("dimension", dimension)
          .eq("bucketStart", work.bucketStart),
      )
      .first();
    if (staged) moved += await fold(ctx, site, owner, work.bucketStart, dimension, false);
  }
  return { work: workKey(work), moved };
}

/** The work the next step would take: the compaction action names a step that failed by it. */
export const peekWork = internalQuery({
  args: { skip: v.array(v.string()) },
  returns: v.union(v.string(), v.null()),
  handler: async (ctx, { skip }) => {
    const work = await nextWork(ctx, Date.now() - HOUR, new Set(skip));
    return work && workKey(work);
  },
});

export const compactStep = internalMutation({
  args: { skip: v.optional(v.array(v.string())) },
  returns: v.object({ work: v.union(v.string(), v.null()), moved: v.number() }),
  handler: compactStepHandler,
});

/** Takes the lock unless another live run holds it. */
export const claim = internalMutation({
  args: { runId: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { runId }) => {
    const lock = await ctx.db.query("compactionLock").first();
    const now = Date.now();
    if (lock && lock.runId !== runId && lock.heartbeatAt > now - COMPACTION_LEASE_MS) return false;
    if (lock) await ctx.db.patch("compactionLock", lock._id, { runId, heartbeatAt: now });
    else await ctx.db.insert("compactionLock", { runId, heartbeatAt: now });
    return true;
  },
});

export const release = internalMutation({
  args: { runId: v.string() },
  returns: v.null(),
  handler: async (ctx, { runId }) => {
    const lock = await ctx.db.query("compactionLock").first();
    if (lock?.runId === runId) await ctx.db.delete("compactionLock", lock._id);
    return null;
  },
});

/**
 * Folds every closed hour there is, in bounded steps, as the only compaction
 * running; reschedules itself if there is more than one run's worth.
 */
export const compact = internalAction({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const runId = crypto.randomUUID();
    if (!(await ctx.runMutation(internal.compaction.claim, { runId }))) return null;
    const skip: string[] = [];
    for (let step = 0; step < MAX_STEPS_PER_RUN; step++) {
      let result: { work: string | null; moved: number };
      try {
        result = await ctx.runMutation(internal.compaction.compactStep, { skip });
      } catch (error) {
        // The failing step is found again (it is the oldest work) and skipped for the rest of the run.
        console.error(
          "analytics compaction step failed:",
          error instanceof Error ? error.message : error,
        );
        const failed = await ctx.runQuery(internal.compaction.peekWork, { skip });
        if (failed === null) break;
        skip.push(failed);
        continue;
      }
      if (result.work === null) {
        await ctx.runMutation(internal.compaction.release, { runId });
        return null;
      }
      if (step % 20 === 19 && !(await ctx.runMutation(internal.compaction.claim, { runId })))
        return null;
    }
    await ctx.runMutation(internal.compaction.release, { runId });
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return null;
  },
});
