// The append-only front door. ingestBatch reads only its site and its own
// (siteId, batchId) dedup key and writes one document, so any number of
// browsers can post at once without optimistic-concurrency retries (DESIGN I2).
import { v } from "convex/values";
import { mutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { vIngestResult, type IngestResult, type Rejection, type AnalyticsEvent } from "../shared.js";
import { MAX_EVENTS_PER_BATCH, enrichedFields, normalizeEvent } from "./events.js";
import { hashVisitor } from "./sketch.js";

/** Ingest queues and rollup deltas are split this many ways; one worker drains each shard. */
export const SHARD_COUNT = 8;

/**
 * A batch's shard follows its first visitor, so one visitor's batches are drained
 * in arrival order by a single worker and sessions never race.
 */
export function shardOf(visitorId: string): number {
  return hashVisitor(visitorId) % SHARD_COUNT;
}

export async function ingestBatchHandler(
  ctx: MutationCtx,
  args: { siteId: string; batchId: string; events: unknown[] },
): Promise<IngestResult> {
  const siteId = ctx.db.normalizeId("sites", args.siteId);
  const site = siteId && (await ctx.db.get("sites", siteId));
  if (!site) throw new Error(`Unknown site "${args.siteId}"`);
  if (args.batchId.length === 0 || args.batchId.length > 128) throw new Error("batchId must be 1-128 characters");
  if (args.events.length > MAX_EVENTS_PER_BATCH) throw new Error(`A batch holds at most ${MAX_EVENTS_PER_BATCH} events`);

  // A disabled site refuses events without failing the caller: a host mutation
  // tracking server-side must not lose its own write because analytics is off.
  if (!site.enabled) return { accepted: 0, duplicate: false, rejected: args.events.map((_, index) => ({ index, reason: "site is disabled" })) };
  if (await isDuplicate(ctx, site._id, args.batchId)) return { accepted: 0, duplicate: true, rejected: [] };

  const receivedAt = Date.now();
  const events: AnalyticsEvent[] = [];
  const rejected: Rejection[] = [];
  args.events.forEach((raw, index) => {
    const result = normalizeEvent(raw, receivedAt, enrichedFields(raw));
    if (result.ok) events.push(result.event);
    else rejected.push({ index, reason: result.reason });
  });
  if (events.length === 0) return { accepted: 0, duplicate: false, rejected };

  const shard = shardOf(events[0]!.visitorId);
  await ctx.db.insert("pendingBatches", { siteId: site._id, batchId: args.batchId, shard, receivedAt, events, attempts: 0 });
  await ctx.scheduler.runAfter(0, internal.worker.drainShard, { shard });
  return { accepted: events.length, duplicate: false, rejected };
}

/** A batch id already seen for this site: queued, processed, or dead-lettered. */
async function isDuplicate(ctx: MutationCtx, siteId: Id<"sites">, batchId: string): Promise<boolean> {
  const byBatch = (table: "pendingBatches" | "rawBatches" | "deadLetters") =>
    ctx.db
      .query(table)
      .withIndex("by_batch", (q) => q.eq("siteId", siteId).eq("batchId", batchId))
      .first();
  return (await byBatch("pendingBatches")) !== null || (await byBatch("rawBatches")) !== null || (await byBatch("deadLetters")) !== null;
}

/**
 * Queues one batch. A retried batchId is a no-op reporting `duplicate: true`.
 * Invalid events are rejected one by one with a reason; valid neighbours are kept.
 */
export const ingestBatch = mutation({
  args: { siteId: v.string(), batchId: v.string(), events: v.array(v.any()) },
  returns: vIngestResult,
  handler: ingestBatchHandler,
});

/**
 * Server-side tracking (the Analytics class): one event from a host mutation,
 * committed with the host's transaction. `site` is a slug or a site id; the
 * event id doubles as the batch id, so a retried host mutation is deduplicated.
 */
export const trackServer = mutation({
  args: { site: v.string(), event: v.any() },
  returns: vIngestResult,
  handler: async (ctx, { site, event }) => {
    const id = ctx.db.normalizeId("sites", site);
    const doc = id ? await ctx.db.get("sites", id) : await ctx.db.query("sites").withIndex("by_slug", (q) => q.eq("slug", site)).unique();
    if (!doc) throw new Error(`Unknown site "${site}"`);
    const eventId = typeof event?.id === "string" ? event.id : "";
    return await ingestBatchHandler(ctx, { siteId: doc._id, batchId: `server:${eventId}`, events: [event] });
  },
});
