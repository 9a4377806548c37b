// Rollup rebuilds: a site's rollups recomputed from its raw events (`batches`)
// into the next rollup generation (generations.ts), beside the live one, which
// reports keep reading until the new one is complete.
//
// A rebuild is a chain of bounded steps (one scheduled action at a time, each
// running one mutation). A step feeds the raw batches after the rebuild's own
// cursor, in creation order and only those the live worker has already
// counted, through the worker's own processing (applyBatch, SessionStore,
// appendDeltas) into the new generation, cut by the rebuild's timezone. The
// step that finds its cursor level with the live worker's, with compaction
// caught up on what it wrote, switches the site to the new generation (and
// timezone) in the same transaction: from then on the live worker writes the new
// generation, continuing the sessions the rebuild wrote. A batch is counted in
// the new generation either by the rebuild (the live worker counted it before
// the switch) or by the live worker (after it), never both. The old generation
// is then deleted in bounded steps.
//
// Raw events past raw retention are gone, so a full rebuild holds only what the
// raw events still hold: the rollups of older periods are not carried over. A
// partial rebuild (`from`, `to`: partialRebuilds.ts) recomputes whole local
// months and first copies the others from the live generation.
import { v } from "convex/values";
import {
  internalAction,
  internalMutation,
  mutation,
  query,
  type MutationCtx,
} from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { vRebuildArgs, vRebuildIdArgs, vRebuildProgress, type RebuildProgress } from "../shared.js";
import { SiteCursor } from "./cursor.js";
import { Deltas } from "./deltas.js";
import { deleteGenerationStep } from "./generationCleanup.js";
import { countUncompacted, liveGeneration } from "./generations.js";
import { DEFAULT_SESSION_TIMEOUT_MS } from "./sessions.js";
import {
  assertKeptUntouched,
  copyStep,
  dropKeptDeltas,
  planPartial,
  rangeName,
} from "./partialRebuilds.js";
import { liveSite, siteOrThrow } from "./sites.js";
import { MINUTE, MINUTE_RETENTION_MS, assertTimezone } from "./time.js";
import { assertNoGoalBackfill, loadGoals } from "./goals.js";
import {
  MAX_BATCHES_PER_RUN,
  MAX_EVENTS_PER_RUN,
  MAX_RUN_DELTA_BYTES,
  RUN_BYTES_BEFORE_BATCH,
  SessionStore,
  applyBatch,
  writeDeltas,
  type RollupTarget,
} from "./worker.js";

/** A step chain not heard from for this long has died; rebuildRollups starts it again. */
export const REBUILD_LEASE_MS = 10 * MINUTE;
/** Steps that may throw in a row before the rebuild stops as failed (rebuildRollups resumes it). */
export const MAX_REBUILD_ATTEMPTS = 5;
/**
 * Closed-hour delta and staging documents the new generation may still hold
 * when it goes live: reports read these besides canonical rows (at most
 * MAX_DELTA_DOCS_PER_READ per range), so the switch waits for compaction.
 */
export const MAX_UNCOMPACTED_AT_SWITCH = 64;
/** How long a caught-up rebuild waits for compaction before it looks again. */
export const COMPACTION_WAIT_MS = 30_000;

function progress(rebuild: Doc<"rebuilds">): RebuildProgress {
  return {
    rebuildId: rebuild._id,
    siteId: rebuild.siteId,
    status: rebuild.status,
    timezone: rebuild.timezone,
    from: rebuild.partial?.from ?? null,
    to: rebuild.partial?.to ?? null,
    kept: rebuild.partial?.kept ?? [],
    copied: rebuild.partial?.pages ?? 0,
    batches: rebuild.batches,
    events: rebuild.events,
    steps: rebuild.steps,
    deleted: rebuild.deleted,
    error: rebuild.error ?? null,
    startedAt: rebuild._creationTime,
    switchedAt: rebuild.switchedAt ?? null,
    finishedAt: rebuild.finishedAt ?? null,
  };
}

/** A new chain for `rebuild`: any older chain stops at its next step. */
async function startChain(ctx: MutationCtx, rebuild: Doc<"rebuilds">): Promise<void> {
  const chainId = crypto.randomUUID();
  await ctx.db.patch("rebuilds", rebuild._id, {
    chainId,
    leaseUntil: Date.now() + REBUILD_LEASE_MS,
  });
  await ctx.scheduler.runAfter(0, internal.rebuilds.runStep, { rebuildId: rebuild._id, chainId });
}

/** Starts a new chain for a rebuild whose chain died (its lease ran out) or that failed. */
async function resume(ctx: MutationCtx, rebuild: Doc<"rebuilds">): Promise<void> {
  if (rebuild.status === "failed") {
    await ctx.db.patch("rebuilds", rebuild._id, { status: "running", attempts: 0 });
    await startChain(ctx, { ...rebuild, status: "running" });
  } else await startChain(ctx, rebuild);
}

/** Rebuilds whose step chain one kick cron run restarts at most, per status. */
const RESUMED_PER_KICK = 10;

/**
 * The kick cron's part: restarts the chains of running, cleaning and cancelling rebuilds
 * whose lease ran out (a step that died without scheduling the next), a page at
 * a time. A failed rebuild stays failed, with its error, until rebuildRollups
 * resumes it or cancelRebuild cancels it.
 */
export async function resumeStalledRebuilds(ctx: MutationCtx, now: number): Promise<number> {
  let resumed = 0;
  for (const status of ["running", "cleaning", "cancelling"] as const) {
    const stalled = await ctx.db
      .query("rebuilds")
      .withIndex("by_status_lease", (q) => q.eq("status", status).lt("leaseUntil", now))
      .take(RESUMED_PER_KICK);
    for (const rebuild of stalled) await resume(ctx, rebuild);
    resumed += stalled.length;
  }
  return resumed;
}

/**
 * Starts a rebuild of a site's rollups, or returns the one in progress (resuming
 * it if it failed or its steps died), so calling it again is safe.
 */
export const rebuildRollups = mutation({
  args: vRebuildArgs,
  returns: vRebuildProgress,
  handler: async (ctx, args) => {
    const site = await siteOrThrow(ctx, args.siteId);
    const timezone = args.timezone ?? site.timezone;
    assertTimezone(timezone);
    const partial = await planPartial(ctx, site, args, Date.now());
    const latest = await ctx.db
      .query("rebuilds")
      .withIndex("by_site", (q) => q.eq("siteId", site._id))
      .order("desc")
      .first();
    if (latest && (latest.status === "running" || latest.status === "failed")) {
      if (latest.timezone !== timezone) {
        throw new Error(
          `A rebuild to timezone "${latest.timezone}" is in progress for this site: wait for it (getRebuild), call rebuildRollups again with that timezone, or cancel it (cancelRebuild)`,
        );
      }
      const running = { from: latest.partial?.from ?? null, to: latest.partial?.to ?? null };
      const asked = { from: partial?.from ?? null, to: partial?.to ?? null };
      if (running.from !== asked.from || running.to !== asked.to) {
        throw new Error(
          `A rebuild of ${rangeName(running)} is in progress for this site (${rangeName(asked)} asked, months widened): wait for it (getRebuild), call rebuildRollups again with its range, or cancel it (cancelRebuild)`,
        );
      }
      if (latest.status === "failed" || latest.leaseUntil < Date.now()) await resume(ctx, latest);
      return progress((await ctx.db.get("rebuilds", latest._id))!);
    }
    await assertNoGoalBackfill(ctx, site._id);
    if (
      (latest?.status === "cleaning" || latest?.status === "cancelling") &&
      latest.leaseUntil < Date.now()
    )
      await startChain(ctx, latest);
    const rebuildId = await ctx.db.insert("rebuilds", {
      siteId: site._id,
      generation: Math.max(liveGeneration(site), latest?.generation ?? 0) + 1,
      fromGeneration: liveGeneration(site),
      timezone,
      status: "running",
      cursor: { creationTime: 0, ids: [], retry: [] },
      batches: 0,
      events: 0,
      steps: 0,
      deleted: 0,
      attempts: 0,
      chainId: "",
      leaseUntil: 0,
      ...(partial ? { partial } : {}),
    });
    const rebuild = (await ctx.db.get("rebuilds", rebuildId))!;
    await startChain(ctx, rebuild);
    return progress((await ctx.db.get("rebuilds", rebuildId))!);
  },
});

/**
 * Cancels a rebuild that has not switched yet (running, or failed: for example a
 * partial rebuild refused by a late batch in a kept month). The live rollups
 * were never touched, so nothing changes for reports; the rebuild's own
 * generation is deleted in bounded steps ("cancelling", then "cancelled"), and
 * rebuildRollups may start another at once. A rebuild that has switched cannot
 * be cancelled (its rollups are live: rebuild again instead); cancelling one
 * already cancelled returns it.
 */
export const cancelRebuild = mutation({
  args: vRebuildIdArgs,
  returns: vRebuildProgress,
  handler: async (ctx, { siteId, rebuildId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const id = ctx.db.normalizeId("rebuilds", rebuildId);
    const rebuild = id && (await ctx.db.get("rebuilds", id));
    if (!rebuild || rebuild.siteId !== site._id)
      throw new Error(`No rebuild "${rebuildId}" on this site`);
    if (rebuild.status === "cleaning" || rebuild.status === "done")
      throw new Error(
        "This rebuild has switched the site to its rollups, so it cannot be cancelled: start another rebuild (rebuildRollups) instead",
      );
    if (rebuild.status === "running" || rebuild.status === "failed") {
      await ctx.db.patch("rebuilds", rebuild._id, { status: "cancelling", attempts: 0 });
      await startChain(ctx, { ...rebuild, status: "cancelling" });
    }
    return progress((await ctx.db.get("rebuilds", rebuild._id))!);
  },
});

export const getRebuild = query({
  args: vRebuildIdArgs,
  returns: v.union(vRebuildProgress, v.null()),
  handler: async (ctx, { siteId, rebuildId }) => {
    const id = ctx.db.normalizeId("rebuilds", rebuildId);
    const rebuild = id && (await ctx.db.get("rebuilds", id));
    return rebuild && rebuild.siteId === siteId ? progress(rebuild) : null;
  },
});

/** One step of the chain; a step that throws is retried with backoff, then the rebuild fails. */
export const runStep = internalAction({
  args: { rebuildId: v.id("rebuilds"), chainId: v.string() },
  returns: v.null(),
  handler: async (ctx, args) => {
    try {
      await ctx.runMutation(internal.rebuilds.step, args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await ctx.runMutation(internal.rebuilds.stepFailed, { ...args, error: message });
    }
    return null;
  },
});

export const stepFailed = internalMutation({
  args: { rebuildId: v.id("rebuilds"), chainId: v.string(), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { rebuildId, chainId, error }) => {
    const rebuild = await ctx.db.get("rebuilds", rebuildId);
    if (!rebuild || rebuild.chainId !== chainId || rebuild.status === "done") return null;
    const attempts = rebuild.attempts + 1;
    if (attempts >= MAX_REBUILD_ATTEMPTS) {
      await ctx.db.patch("rebuilds", rebuildId, { status: "failed", attempts, error });
      return null;
    }
    await ctx.db.patch("rebuilds", rebuildId, {
      attempts,
      error,
      leaseUntil: Date.now() + REBUILD_LEASE_MS,
    });
    await ctx.scheduler.runAfter(attempts * 5_000, internal.rebuilds.runStep, {
      rebuildId,
      chainId,
    });
    return null;
  },
});

export const step = internalMutation({
  args: { rebuildId: v.id("rebuilds"), chainId: v.string() },
  returns: v.null(),
  handler: rebuildStepHandler,
});

export async function rebuildStepHandler(
  ctx: MutationCtx,
  { rebuildId, chainId }: { rebuildId: Id<"rebuilds">; chainId: string },
): Promise<null> {
  const rebuild = await ctx.db.get("rebuilds", rebuildId);
  if (!rebuild || rebuild.chainId !== chainId) return null;
  let next: number | null = null;
  if (rebuild.status === "running")
    next =
      rebuild.partial && !rebuild.partial.copied
        ? await copyStep(ctx, rebuild, rebuild.partial, COMPACTION_WAIT_MS)
        : await catchUpStep(ctx, rebuild);
  else if (rebuild.status === "cleaning" || rebuild.status === "cancelling")
    next = await cleanupStep(ctx, rebuild);
  if (next !== null) {
    await ctx.db.patch("rebuilds", rebuildId, {
      leaseUntil: Date.now() + next + REBUILD_LEASE_MS,
    });
    await ctx.scheduler.runAfter(next, internal.rebuilds.runStep, { rebuildId, chainId });
  }
  return null;
}

/**
 * Counts the next raw batches into the new generation, and switches the site to
 * it once the rebuild has caught up. Returns the delay before the next step.
 */
async function catchUpStep(ctx: MutationCtx, rebuild: Doc<"rebuilds">): Promise<number | null> {
  const { siteId } = rebuild;
  // A site being deleted stops its rebuild: deleteSite's passes remove what it wrote.
  const site = liveSite(await ctx.db.get("sites", siteId));
  if (!site) {
    await ctx.db.patch("rebuilds", rebuild._id, { status: "failed", error: "The site is deleted" });
    return null;
  }
  const now = Date.now();
  const target: RollupTarget = {
    siteId,
    generation: rebuild.generation,
    timezone: rebuild.timezone,
    sessionTimeoutMs: site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    // Goals cannot be created while a rebuild runs (goals.ts), so every batch it replays counts the same goals.
    goals: await loadGoals(ctx, siteId),
  };
  const live = await SiteCursor.load(ctx, siteId);
  const cursor = SiteCursor.ofState(siteId, rebuild.cursor);
  const sessions = new SessionStore(ctx, target);
  const minuteCutoff = now - MINUTE_RETENTION_MS;
  const deltas = new Deltas(minuteCutoff);
  let deltaBytes = 0;
  let batches = 0;
  let events = 0;
  // The worker's bounds on a run (the first batch is always taken, so the rebuild moves on).
  const count = async (batch: Doc<"batches">): Promise<boolean> => {
    if (batches > 0) {
      const { bytesRead, bytesWritten } = await ctx.meta.getTransactionMetrics();
      if (
        batches >= MAX_BATCHES_PER_RUN ||
        events + batch.events.length > MAX_EVENTS_PER_RUN ||
        Math.max(bytesRead.used, bytesWritten.used) > RUN_BYTES_BEFORE_BATCH
      )
        return false;
    }
    const applied = await applyBatch(batch, target, sessions, minuteCutoff);
    if (rebuild.partial) assertKeptUntouched(rebuild, batch, applied.deltas);
    const bytes = applied.deltas.byteLength();
    if (batches > 0 && deltaBytes + bytes > MAX_RUN_DELTA_BYTES) return false;
    deltaBytes += bytes;
    deltas.merge(applied.deltas);
    sessions.commit(applied.draft);
    batches++;
    events += batch.events.length;
    return true;
  };

  // Batches the live worker was retrying when the rebuild passed them: counted once it has counted them.
  let caughtUp = true;
  for (const { id } of [...cursor.retry]) {
    if (live.isRetrying(id)) continue;
    const batch = await ctx.db.get("batches", id);
    if (batch && !(await count(batch))) {
      caughtUp = false;
      break;
    }
    cursor.retried(id); // counted, or gone (dead-lettered, or past raw retention)
  }
  // Then in creation order, up to what the live worker has counted: the batches
  // after its cursor are its to count, into whichever generation is live then.
  if (caughtUp) {
    for await (const batch of cursor.after(ctx, Number.MAX_VALUE)) {
      if (!live.isPast(batch)) break;
      if (live.isRetrying(batch._id)) {
        if (cursor.passForRetry(batch)) continue;
        caughtUp = false;
        break;
      }
      if (!(await count(batch))) {
        caughtUp = false;
        break;
      }
      cursor.pass(batch);
    }
  }
  await sessions.write();
  if (rebuild.partial) dropKeptDeltas(deltas, rebuild.partial.kept);
  await writeDeltas(ctx, target, deltas);
  const counted = {
    cursor: cursor.snapshot(),
    batches: rebuild.batches + batches,
    events: rebuild.events + events,
    steps: rebuild.steps + 1,
    attempts: 0,
  };
  if (!caughtUp) {
    await ctx.db.patch("rebuilds", rebuild._id, counted);
    return 0;
  }
  if ((await uncompacted(ctx, target, now)) > MAX_UNCOMPACTED_AT_SWITCH) {
    await ctx.db.patch("rebuilds", rebuild._id, counted);
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return COMPACTION_WAIT_MS;
  }
  // The switch: reports and the live worker move to the new generation together.
  await ctx.db.patch("sites", siteId, {
    rollupGeneration: rebuild.generation,
    timezone: rebuild.timezone,
  });
  await ctx.db.patch("rebuilds", rebuild._id, { ...counted, status: "cleaning", switchedAt: now });
  return 0;
}

/** The closed-hour delta and staging documents of a generation, counted up to MAX_UNCOMPACTED_AT_SWITCH + 1. */
async function uncompacted(ctx: MutationCtx, target: RollupTarget, now: number): Promise<number> {
  return await countUncompacted(ctx, target, now, MAX_UNCOMPACTED_AT_SWITCH + 1);
}

/**
 * Deletes a bounded part of the generation the rebuild leaves behind: the old
 * one after the switch, its own after a cancel. Done once nothing is left.
 */
async function cleanupStep(ctx: MutationCtx, rebuild: Doc<"rebuilds">): Promise<number | null> {
  const cancelled = rebuild.status === "cancelling";
  const generation = cancelled ? rebuild.generation : rebuild.fromGeneration;
  const { deleted, more } = await deleteGenerationStep(ctx, { siteId: rebuild.siteId, generation });
  const patch = { deleted: rebuild.deleted + deleted, steps: rebuild.steps + 1, attempts: 0 };
  if (more) {
    await ctx.db.patch("rebuilds", rebuild._id, patch);
    return 0;
  }
  await ctx.db.patch("rebuilds", rebuild._id, {
    ...patch,
    status: cancelled ? "cancelled" : "done",
    finishedAt: Date.now(),
  });
  return null;
}
