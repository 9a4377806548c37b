// GET {prefix}/health: is the pipeline keeping up? Global counts only (no site
// ids, names or keys), for uptime monitors; with a read key, also its own
// site's counts (getHealthWithReadKey). Every read is bounded: at most
// HEALTH_MAX_SITES sites, HEALTH_COUNT_CAP documents per count and
// HEALTH_READ_BYTES in all (and as much again for the key's site); a count that
// stops early sets `partial`.
import { getConvexSize, v, type Value } from "convex/values";
import { action, internalQuery, query, type QueryCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import {
  DIMENSIONS,
  vHealth,
  vHealthOutcome,
  type Health,
  type HealthOutcome,
  type SiteHealth,
} from "../shared.js";
import { SiteCursor } from "./cursor.js";
import { STALLED_BATCH_MS } from "./maintenance.js";
import { HOUR } from "./time.js";
import { liveSite } from "./sites.js";
import { liveGeneration } from "./generations.js";

/** Sites whose queue is examined (listSites lists as many). */
export const HEALTH_MAX_SITES = 500;
/** Each count stops here: a count of 1,000 means 1,000 or more. */
export const HEALTH_COUNT_CAP = 1_000;
/** Bytes of documents one health check may read in all (batches can be about 100 KiB each). */
export const HEALTH_READ_BYTES = 4 * 1024 * 1024;

/** Past these the route answers 503 ("behind"). */
export const DEFAULT_HEALTH_THRESHOLDS = {
  /** The kick cron restarts a loop after 2 minutes; twice that means it is not keeping up. */
  maxPendingAgeMs: 2 * STALLED_BATCH_MS,
  /** Compaction starts once an hour has been closed for an hour; two more hours means it is not running. */
  maxCompactionLagMs: 3 * HOUR,
  /** Any dead letter is worth a look, but only a growing pile is an outage. */
  maxDeadLetters: 100,
};
export type HealthThresholds = typeof DEFAULT_HEALTH_THRESHOLDS;

export const vHealthArgs = {
  now: v.number(),
  maxPendingAgeMs: v.optional(v.number()),
  maxCompactionLagMs: v.optional(v.number()),
  maxDeadLetters: v.optional(v.number()),
};

class ReadBudget {
  bytes = 0;
  partial = false;
  /** Counts `doc` against the budget; false once it is spent. */
  take(doc: object): boolean {
    this.bytes += getConvexSize(doc as Value);
    if (this.bytes > HEALTH_READ_BYTES) this.partial = true;
    return !this.partial;
  }
}

/** Counts one site's queue (its retries, then the batches past its cursor) into `queue`. */
async function countSiteQueue(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  budget: ReadBudget,
  queue: { count: number; oldest: number },
) {
  const cursor = await SiteCursor.load(ctx, siteId);
  for (const retry of cursor.retry) queue.oldest = Math.min(queue.oldest, retry.creationTime);
  queue.count += cursor.retry.length;
  for await (const batch of cursor.after(ctx, Number.POSITIVE_INFINITY)) {
    queue.oldest = Math.min(queue.oldest, batch._creationTime);
    queue.count++;
    if (!budget.take(batch)) break;
    if (queue.count >= HEALTH_COUNT_CAP) {
      budget.partial = true;
      break;
    }
  }
}

function queueResult(queue: { count: number; oldest: number }, now: number) {
  return {
    count: queue.count,
    oldestAgeMs: queue.oldest === Infinity ? 0 : Math.max(0, now - queue.oldest),
  };
}

async function pending(ctx: QueryCtx, now: number, budget: ReadBudget) {
  const queue = { count: 0, oldest: Infinity };
  const sites = await ctx.db.query("sites").take(HEALTH_MAX_SITES + 1);
  if (sites.length > HEALTH_MAX_SITES) budget.partial = true;
  for (const site of sites.slice(0, HEALTH_MAX_SITES)) {
    if (queue.count >= HEALTH_COUNT_CAP || budget.partial) break;
    budget.take(site);
    // A site being deleted is drained by its deletion, not by a worker: its batches are not a backlog.
    if (!liveSite(site)) continue;
    await countSiteQueue(ctx, site._id, budget, queue);
  }
  return queueResult(queue, now);
}

async function countUpTo(docs: AsyncIterable<object>, budget: ReadBudget): Promise<number> {
  let count = 0;
  for await (const doc of docs) {
    if (budget.partial) break;
    count++;
    if (!budget.take(doc)) break;
    if (count >= HEALTH_COUNT_CAP) {
      budget.partial = true;
      break;
    }
  }
  return count;
}

export async function getHealthHandler(
  ctx: QueryCtx,
  args: { now: number } & Partial<HealthThresholds>,
): Promise<Health> {
  const { now } = args;
  const thresholds = { ...DEFAULT_HEALTH_THRESHOLDS, ...definedOnly(args) };
  const budget = new ReadBudget();
  const queue = await pending(ctx, now, budget);
  const deadLetters = await countUpTo(ctx.db.query("deadLetters"), budget);
  // What compaction should have folded already: hours closed over an hour ago, and all staging.
  const dueBefore = now - HOUR;
  const oldestDue = await ctx.db
    .query("rollupDeltas")
    .withIndex("by_age", (q) => q.eq("interval", "hour").lt("bucketStart", dueBefore))
    .first();
  const oldestStaged = await ctx.db.query("rollupStaging").withIndex("by_age").first();
  const uncompacted =
    (await countUpTo(
      ctx.db
        .query("rollupDeltas")
        .withIndex("by_age", (q) => q.eq("interval", "hour").lt("bucketStart", dueBefore)),
      budget,
    )) + (await countUpTo(ctx.db.query("rollupStaging").withIndex("by_age"), budget));
  const lock = await ctx.db.query("compactionLock").first();
  // Compaction inserts the canonical pages of each newly closed bucket, so the newest page's creation is its last output.
  const newestPage = await ctx.db.query("rollups").order("desc").first();
  const compactedAt = Math.max(
    lock?.heartbeatAt ?? -Infinity,
    newestPage?._creationTime ?? -Infinity,
  );
  const lastCompactionAt = compactedAt === -Infinity ? null : compactedAt;

  const reasons: string[] = [];
  if (queue.oldestAgeMs > thresholds.maxPendingAgeMs)
    reasons.push(
      `The oldest pending batch has waited ${Math.round(queue.oldestAgeMs / 1000)} s (threshold ${Math.round(thresholds.maxPendingAgeMs / 1000)} s): the worker is behind`,
    );
  // An hour is due an hour after it closes (bucketStart + 2 h); it is late past the threshold after that.
  const oldestDueStart = Math.min(
    oldestDue?.bucketStart ?? Infinity,
    oldestStaged?.bucketStart ?? Infinity,
  );
  const compactionLagMs = oldestDueStart === Infinity ? 0 : now - (oldestDueStart + 2 * HOUR);
  if (compactionLagMs > thresholds.maxCompactionLagMs)
    reasons.push(
      `An hour closed ${Math.round((now - oldestDueStart - HOUR) / 60_000)} min ago is not compacted yet: compaction is behind (are the maintenance crons registered?)`,
    );
  if (deadLetters > thresholds.maxDeadLetters)
    reasons.push(`${deadLetters} dead-lettered batches (threshold ${thresholds.maxDeadLetters})`);
  return {
    status: reasons.length === 0 ? "ok" : "behind",
    pendingBatches: queue.count,
    oldestPendingAgeMs: queue.oldestAgeMs,
    deadLetters,
    uncompactedShards: uncompacted,
    lastCompactionAt,
    partial: budget.partial,
    reasons,
  };
}

/**
 * One site's backlog, by its indexes: its queue as `pending` counts it, its
 * dead letters, and its hour deltas and staging due for compaction. Its own
 * read budget, so the global counts stay what they are without a key.
 */
async function siteHealth(ctx: QueryCtx, siteId: Id<"sites">, now: number): Promise<SiteHealth> {
  const budget = new ReadBudget();
  const site = await ctx.db.get("sites", siteId);
  const generation = site ? liveGeneration(site) : 0;
  const queue = { count: 0, oldest: Infinity };
  await countSiteQueue(ctx, siteId, budget, queue);
  const { count, oldestAgeMs } = queueResult(queue, now);
  const deadLetters = await countUpTo(
    ctx.db.query("deadLetters").withIndex("by_batch", (q) => q.eq("siteId", siteId)),
    budget,
  );
  let uncompacted = await countUpTo(
    ctx.db.query("rollupDeltas").withIndex("by_bucket", (q) =>
      q
        .eq("siteId", siteId)
        .eq("generation", generation)
        .eq("interval", "hour")
        .lt("bucketStart", now - HOUR),
    ),
    budget,
  );
  // Staging is indexed by dimension: one bounded count per dimension, under the same cap.
  for (const dimension of DIMENSIONS) {
    if (uncompacted >= HEALTH_COUNT_CAP || budget.partial) break;
    uncompacted += await countUpTo(
      ctx.db
        .query("rollupStaging")
        .withIndex("by_dimension", (q) =>
          q.eq("siteId", siteId).eq("generation", generation).eq("dimension", dimension),
        ),
      budget,
    );
  }
  return {
    siteId,
    pendingBatches: count,
    oldestPendingAgeMs: oldestAgeMs,
    deadLetters,
    uncompactedShards: Math.min(uncompacted, HEALTH_COUNT_CAP),
    partial: budget.partial,
  };
}

function definedOnly(args: Partial<HealthThresholds>): Partial<HealthThresholds> {
  return Object.fromEntries(
    Object.entries({
      maxPendingAgeMs: args.maxPendingAgeMs,
      maxCompactionLagMs: args.maxCompactionLagMs,
      maxDeadLetters: args.maxDeadLetters,
    }).filter(([, value]) => value !== undefined),
  );
}

/** The pipeline's backlog; `now` comes from the caller so the query reads no clock. */
export const getHealth = query({ args: vHealthArgs, returns: vHealth, handler: getHealthHandler });

/** The global backlog and one site's; only getHealthWithReadKey calls it, with the key's site. */
export const getHealthOfSite = internalQuery({
  args: { ...vHealthArgs, siteId: v.id("sites") },
  returns: vHealth,
  handler: async (ctx, { siteId, ...args }): Promise<Health> => ({
    ...(await getHealthHandler(ctx, args)),
    site: await siteHealth(ctx, siteId, args.now),
  }),
});

/**
 * The health route's one call when the request carries a read key: the key
 * admitted as the stats API admits it (by hash, against `siteId` when given,
 * rate limited per key), then the health with the key's site. The route never
 * sees a hash; the raw key is neither stored nor logged.
 */
export const getHealthWithReadKey = action({
  args: { ...vHealthArgs, readKey: v.string(), siteId: v.optional(v.string()) },
  returns: vHealthOutcome,
  handler: async (ctx, { readKey, siteId, ...args }): Promise<HealthOutcome> => {
    const admission = await ctx.runMutation(internal.readKeys.admitRead, { readKey, siteId });
    if (admission.status !== "ok") return admission;
    const health = await ctx.runQuery(internal.health.getHealthOfSite, {
      ...args,
      siteId: admission.siteId,
    });
    return { status: "ok", health };
  },
});
