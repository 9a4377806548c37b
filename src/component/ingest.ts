// The append-only front door. Ingest reads only its site, its own (siteId,
// batchId) dedup key and its site's loop flag, and writes one batch, so
// any number of browsers can post at once without optimistic-concurrency
// retries (invariants I2, I9; read and write sets in README.md).
import { v } from "convex/values";
import { getConvexSize } from "convex/values";
import { mutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  sha256Hex,
  vIngestResult,
  type AnalyticsEvent,
  type IngestResult,
  type Rejection,
} from "../shared.js";
import { MAX_EVENTS_PER_BATCH, enrichedFields, normalizeEvent } from "./events.js";
import { stripPrivateUrlParts } from "./urlPrivacy.js";
import { liveSite } from "./sites.js";

/**
 * The worker reads only batches created at least this long before it started.
 * A mutation runs for at most a second, and its inserts are created no earlier
 * than its start, so no ingest still in flight can insert into that range: the
 * worker's read set and the ingests' writes never meet.
 */
export const SETTLE_MS = 2_000;
/**
 * A site's worker loop runs this often while batches keep arriving. Waiting lets
 * one run drain several batches, which is what keeps function calls per batch
 * low at steady load; it is also the delay before events show in reports.
 */
export const LOOP_INTERVAL_MS = 5_000;
/** A batch document stays far below Convex's 1 MiB; events past this are refused one by one. */
export const MAX_BATCH_BYTES = 256 * 1024;
const MAX_BATCH_ID_LENGTH = 128;

/** A batch id already seen for this site: queued or processed (one table), or dead-lettered. */
async function isDuplicate(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  batchId: string,
): Promise<boolean> {
  for (const table of ["batches", "deadLetters"] as const) {
    const hit = await ctx.db
      .query(table)
      .withIndex("by_batch", (q) => q.eq("siteId", siteId).eq("batchId", batchId))
      .first();
    if (hit) return true;
  }
  return false;
}

/**
 * Schedules the site's worker loop unless it is already scheduled. Under load
 * the flag stays set, so this is a read that no running transaction writes.
 */
export async function wakeLoop(ctx: MutationCtx, siteId: Id<"sites">): Promise<void> {
  const loop = await ctx.db
    .query("siteLoops")
    .withIndex("by_site", (q) => q.eq("siteId", siteId))
    .unique();
  if (loop?.scheduled) return;
  if (loop) await ctx.db.patch("siteLoops", loop._id, { scheduled: true });
  else await ctx.db.insert("siteLoops", { siteId, scheduled: true });
  await ctx.scheduler.runAfter(LOOP_INTERVAL_MS, internal.worker.drainSite, { siteId });
}

/**
 * Queues normalised events as one batch. A retried batchId is a no-op
 * reporting `duplicate: true`. Events that would push the batch document over
 * its byte budget are refused one by one; the rest are kept.
 */
export async function queueBatch(
  ctx: MutationCtx,
  site: Doc<"sites">,
  batchId: string,
  candidates: { index: number; event: AnalyticsEvent }[],
  rejected: Rejection[],
): Promise<IngestResult> {
  if (await isDuplicate(ctx, site._id, batchId))
    return { accepted: 0, duplicate: true, rejected: [] };
  const events: AnalyticsEvent[] = [];
  let bytes = 0;
  for (const { index, event } of candidates) {
    const size = getConvexSize(event);
    if (bytes + size > MAX_BATCH_BYTES) {
      rejected.push({
        index,
        reason: `the batch is over ${MAX_BATCH_BYTES} bytes; send this event in another batch`,
      });
      continue;
    }
    bytes += size;
    events.push(event);
  }
  rejected.sort((a, b) => a.index - b.index);
  if (events.length === 0) return { accepted: 0, duplicate: false, rejected };
  // The batch's one write: its creation time is when it was received, and the worker never rewrites it.
  await ctx.db.insert("batches", { siteId: site._id, batchId, events });
  await wakeLoop(ctx, site._id);
  return { accepted: events.length, duplicate: false, rejected };
}

export function checkBatchShape(batchId: string, events: unknown[]): void {
  if (batchId.length === 0 || batchId.length > MAX_BATCH_ID_LENGTH) {
    throw new Error(`batchId must be 1-${MAX_BATCH_ID_LENGTH} characters`);
  }
  if (events.length > MAX_EVENTS_PER_BATCH)
    throw new Error(`A batch holds at most ${MAX_EVENTS_PER_BATCH} events`);
}

/** Events from a trusted caller (server-side tracking, tests): enriched fields are kept as sent. */
export async function ingestTrustedHandler(
  ctx: MutationCtx,
  site: Doc<"sites">,
  batchId: string,
  raw: unknown[],
): Promise<IngestResult> {
  checkBatchShape(batchId, raw);
  // A disabled site refuses events without failing the caller: a host mutation
  // tracking server-side must not lose its own write because analytics is off.
  if (!site.enabled)
    return {
      accepted: 0,
      duplicate: false,
      rejected: raw.map((_, index) => ({ index, reason: "site is disabled" })),
    };
  const receivedAt = Date.now();
  const candidates: { index: number; event: AnalyticsEvent }[] = [];
  const rejected: Rejection[] = [];
  raw.forEach((event, index) => {
    const result = normalizeEvent(event, receivedAt, enrichedFields(event));
    if (result.ok) {
      stripPrivateUrlParts(result.event, site.settings.keptQueryParams);
      candidates.push({ index, event: result.event });
    } else rejected.push({ index, reason: result.reason });
  });
  return await queueBatch(ctx, site, batchId, candidates, rejected);
}

/**
 * Queues one batch of already-identified events (each carries its visitorId),
 * for server-side callers and tests. Browsers go through the HTTP route's
 * `ingestRequest` instead.
 */
export const ingestBatch = mutation({
  args: { siteId: v.string(), batchId: v.string(), events: v.array(v.any()) },
  returns: vIngestResult,
  handler: async (ctx, args) => {
    const siteId = ctx.db.normalizeId("sites", args.siteId);
    const site = liveSite(siteId && (await ctx.db.get("sites", siteId)));
    if (!site) throw new Error(`Unknown site "${args.siteId}"`);
    return await ingestTrustedHandler(ctx, site, args.batchId, args.events);
  },
});

/**
 * Server-side tracking (the Analytics class): one event from a host mutation,
 * committed with the host's transaction. `site` is a slug or a site id; the
 * event id doubles as the batch id, so a retried host mutation is deduplicated.
 * Never throws for a bad event or an unknown site: the host's own write must not
 * be rolled back by analytics, so the event is refused with a reason instead.
 */
export const trackServer = mutation({
  args: { site: v.string(), event: v.any() },
  returns: vIngestResult,
  handler: async (ctx, { site, event }) => {
    const id = ctx.db.normalizeId("sites", site);
    const doc = liveSite(
      id
        ? await ctx.db.get("sites", id)
        : await ctx.db
            .query("sites")
            .withIndex("by_slug", (q) => q.eq("slug", site))
            .unique(),
    );
    if (!doc)
      return {
        accepted: 0,
        duplicate: false,
        rejected: [{ index: 0, reason: `unknown site "${site.slice(0, 100)}"` }],
      };
    const eventId = typeof event?.id === "string" ? event.id : "";
    // Long ids are hashed so the batch id stays within its limit and stays deterministic.
    const batchId = `server:${eventId.length <= 100 ? eventId : await sha256Hex(eventId)}`;
    return await ingestTrustedHandler(ctx, doc, batchId, [event]);
  },
});
