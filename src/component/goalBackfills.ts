// A new goal's backfill: the batches the site's worker had counted before the
// goal existed (the cursor when it was created, `boundary`; goals.ts says why
// that is exactly the set the worker will not count it for) are read again, a
// page at a time in creation order, and each counted event's conversions of
// that goal are appended to the live generation's rollup deltas, at the event's
// hour, as the worker would have. Compaction folds them like any other deltas.
//
// Each step is one mutation that reads the backfill, counts the next page after
// its `position` and moves the position past it in the same transaction, so a
// step that throws commits nothing and a repeated step starts where the last
// committed one stopped: no batch is counted twice. One chain is live
// (`chainId`); the kick cron starts a new one when the lease runs out (a step
// that threw), and after MAX_BACKFILL_RESTARTS restarts without a step going
// through the backfill fails with the reason.
//
// Bounds per step: batches until 1 MiB read or 500 documents, and at most 200
// hour buckets written (each an append that may merge a size class, deltas.ts).
// A step waits for compaction while the site has over MAX_UNCOMPACTED closed-hour
// documents to fold, so reports (which read those) keep within their bounds.
import { v } from "convex/values";
import { streamQuery } from "convex-helpers/server/pagination";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import schema from "./schema.js";
import { SiteCursor } from "./cursor.js";
import { Deltas, appendDeltas } from "./deltas.js";
import { countUncompacted, liveGeneration } from "./generations.js";
import { countedGoal } from "./goalMath.js";
import { isCounted } from "./sessions.js";
import { liveSite } from "./sites.js";
import { MINUTE } from "./time.js";

/** A chain not heard from for this long has died: the kick cron restarts it. */
export const BACKFILL_LEASE_MS = MINUTE;
/** Restarts in a row without a step going through before the backfill fails. */
export const MAX_BACKFILL_RESTARTS = 5;
/** Bytes a step may have read before it takes another batch (a batch is at most 256 KiB). */
export const BACKFILL_STEP_READ_BYTES = 1024 * 1024;
export const BACKFILL_STEP_DOCUMENTS = 500;
/** Hour buckets a step writes at most: a batch spans at most 100 events, so it stops before the next batch past this. */
export const BACKFILL_STEP_BUCKETS = 200;
/**
 * Closed-hour delta and staging documents of the site past which a step waits
 * COMPACTION_WAIT_MS for compaction (with one step's BACKFILL_STEP_BUCKETS more,
 * still well under the 1,000 a report reads).
 */
export const MAX_UNCOMPACTED = 200;
export const COMPACTION_WAIT_MS = 30_000;
/** Backfills one kick restarts at most. */
const RESUMED_PER_KICK = 10;

/** Inserts a new goal's backfill and starts its chain; done at once when the worker had counted nothing. */
export async function startBackfill(
  ctx: MutationCtx,
  site: Doc<"sites">,
  goalId: Id<"goals">,
): Promise<void> {
  const cursor = await ctx.db
    .query("siteCursors")
    .withIndex("by_site", (q) => q.eq("siteId", site._id))
    .unique();
  const chainId = crypto.randomUUID();
  const backfillId = await ctx.db.insert("goalBackfills", {
    siteId: site._id,
    goalId,
    generation: liveGeneration(site),
    status: cursor ? "running" : "done",
    boundary: cursor
      ? { creationTime: cursor.creationTime, ids: cursor.ids, retry: cursor.retry }
      : { creationTime: 0, ids: [], retry: [] },
    batches: 0,
    events: 0,
    chainId,
    leaseUntil: Date.now() + BACKFILL_LEASE_MS,
    restarts: 0,
  });
  if (cursor) await ctx.scheduler.runAfter(0, internal.goalBackfills.step, { backfillId, chainId });
}

/** A new chain for a backfill whose chain died, or failure once restarts run out. */
async function resume(ctx: MutationCtx, backfill: Doc<"goalBackfills">, now: number) {
  const restarts = backfill.restarts + 1;
  if (restarts > MAX_BACKFILL_RESTARTS) {
    await ctx.db.patch("goalBackfills", backfill._id, {
      status: "failed",
      error: `The backfill stopped after ${MAX_BACKFILL_RESTARTS} restarts without progress: the goal counts events from its creation on only`,
    });
    return;
  }
  const chainId = crypto.randomUUID();
  await ctx.db.patch("goalBackfills", backfill._id, {
    restarts,
    chainId,
    leaseUntil: now + BACKFILL_LEASE_MS,
  });
  await ctx.scheduler.runAfter(0, internal.goalBackfills.step, {
    backfillId: backfill._id,
    chainId,
  });
}

/** For the kick cron: restarts the backfills whose chain died (lease run out), a page per kick. */
export async function resumeStalledGoalBackfills(ctx: MutationCtx, now: number): Promise<number> {
  const stalled = await ctx.db
    .query("goalBackfills")
    .withIndex("by_status_lease", (q) => q.eq("status", "running").lt("leaseUntil", now))
    .take(RESUMED_PER_KICK);
  for (const backfill of stalled) await resume(ctx, backfill, now);
  return stalled.length;
}

/** Whether the step may take another batch: under its read, document and bucket budgets. */
async function hasRoom(ctx: MutationCtx, deltas: Deltas): Promise<boolean> {
  const { bytesRead, documentsRead } = await ctx.meta.getTransactionMetrics();
  return (
    bytesRead.used < BACKFILL_STEP_READ_BYTES &&
    documentsRead.used < BACKFILL_STEP_DOCUMENTS &&
    deltas.buckets.size < BACKFILL_STEP_BUCKETS
  );
}

export async function backfillStepHandler(
  ctx: MutationCtx,
  { backfillId, chainId }: { backfillId: Id<"goalBackfills">; chainId: string },
): Promise<null> {
  const backfill = await ctx.db.get("goalBackfills", backfillId);
  if (!backfill || backfill.status !== "running" || backfill.chainId !== chainId) return null;
  const goal = await ctx.db.get("goals", backfill.goalId);
  // A site being deleted writes nothing more: deleteSite removes the backfill with the rest.
  const site = liveSite(await ctx.db.get("sites", backfill.siteId));
  if (!goal || !site) return null;
  const { siteId, boundary, position } = backfill;
  const owner = { siteId, generation: backfill.generation };
  const now = Date.now();
  // Reports read the deltas compaction has not folded (at most 1,000 per range): a backfill of
  // months of events must not pile them up faster than compaction folds them.
  if ((await countUncompacted(ctx, owner, now, MAX_UNCOMPACTED + 1)) > MAX_UNCOMPACTED) {
    await ctx.db.patch("goalBackfills", backfillId, {
      leaseUntil: now + COMPACTION_WAIT_MS + BACKFILL_LEASE_MS,
    });
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    await ctx.scheduler.runAfter(COMPACTION_WAIT_MS, internal.goalBackfills.step, {
      backfillId,
      chainId,
    });
    return null;
  }
  const counted = SiteCursor.ofState(siteId, boundary);
  const goals = [countedGoal(goal)];
  const stream = streamQuery(ctx, {
    table: "batches",
    index: "by_site",
    schema,
    order: "asc",
    startIndexKey: position ? [siteId, position.creationTime, position.id] : [siteId],
    startInclusive: position === undefined,
    endIndexKey: [siteId, boundary.creationTime],
    endInclusive: true,
  });
  const deltas = new Deltas();
  let last = position;
  let batches = 0;
  let events = 0;
  let finished = true;
  for await (const [batch] of stream) {
    if (batches > 0 && !(await hasRoom(ctx, deltas))) {
      finished = false;
      break;
    }
    last = { creationTime: batch._creationTime, id: batch._id };
    batches++;
    // A batch waiting for a retry at creation, or after the boundary's time, is the worker's to count.
    if (!counted.hasCounted(batch)) continue;
    for (const event of batch.events) {
      if (!isCounted(event) || !Number.isFinite(event.occurredAt)) continue;
      events++;
      deltas.addConversions(event, goals, site.timezone);
    }
  }
  for (const { interval, bucketStart, rows } of deltas.buckets.values())
    await appendDeltas(ctx, owner, interval, bucketStart, rows.toDeltaRows());
  await ctx.db.patch("goalBackfills", backfillId, {
    ...(last ? { position: last } : {}),
    batches: backfill.batches + batches,
    events: backfill.events + events,
    // A step went through: the restarts so far were not for want of progress.
    restarts: 0,
    leaseUntil: now + BACKFILL_LEASE_MS,
    ...(finished ? { status: "done" as const } : {}),
  });
  if (!finished)
    await ctx.scheduler.runAfter(0, internal.goalBackfills.step, { backfillId, chainId });
  return null;
}

export const step = internalMutation({
  args: { backfillId: v.id("goalBackfills"), chainId: v.string() },
  returns: v.null(),
  handler: backfillStepHandler,
});
