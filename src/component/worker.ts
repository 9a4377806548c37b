// The aggregation worker: one scheduled mutation per shard run. It drains the
// shard's pending batches (bounded per run), writes raw events and sessions,
// accumulates rollup deltas in memory and writes them as ONE packed document per
// (site, interval, bucket, shard), and removes the batches, all in one
// transaction: a crash anywhere commits nothing, so every event is counted
// exactly once however often a run is retried.
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import type { Interval } from "../shared.js";
import { DEFAULT_SESSION_TIMEOUT_MS, Deltas, continues, extendSession, isCounted, startSession, type SessionState } from "./sessions.js";
import { DimensionRows, MAX_ROWS_PER_DOC, rowBytes } from "./rows.js";
import type { Attribution } from "./events.js";
import { MINUTE_RETENTION_MS } from "./time.js";

/** Bounds on one run, far inside Convex's transaction limits. */
export const MAX_BATCHES_PER_RUN = 100;
export const MAX_EVENTS_PER_RUN = 500;
/** A batch whose processing throws this many times goes to the dead-letter table. */
export const MAX_ATTEMPTS = 3;
/** An open delta document larger than this is left for compaction and a new one started. */
const MAX_SHARD_DOC_BYTES = 256 * 1024;
/** How long after a new hour opens compaction folds the previous hours. */
export const COMPACTION_DELAY_MS = 60_000;

/** One session as this run sees it; `state` changes only when a whole batch commits. */
type SessionRef = { id: Id<"sessions"> | null; siteId: Id<"sites">; state: SessionState };

/** Sessions touched in this run, by (site, visitor); each written once at the end. */
class SessionStore {
  private readonly latest = new Map<string, SessionRef | null>();
  readonly dirty = new Set<SessionRef>();
  constructor(private readonly ctx: MutationCtx) {}

  async latestFor(siteId: Id<"sites">, visitorId: string): Promise<SessionRef | null> {
    const key = `${siteId}|${visitorId}`;
    if (!this.latest.has(key)) {
      const doc = await this.ctx.db
        .query("sessions")
        .withIndex("by_visitor", (q) => q.eq("siteId", siteId).eq("visitorId", visitorId))
        .order("desc")
        .first();
      this.latest.set(key, doc ? { id: doc._id, siteId, state: toState(doc) } : null);
    }
    return this.latest.get(key)!;
  }

  commit(draft: Map<SessionRef, SessionState>): void {
    for (const [ref, state] of draft) {
      ref.state = state;
      this.dirty.add(ref);
      const key = `${ref.siteId}|${state.visitorId}`;
      const current = this.latest.get(key);
      if (!current || state.lastSeenAt >= current.state.lastSeenAt) this.latest.set(key, ref);
    }
  }

  async write(): Promise<void> {
    for (const ref of this.dirty) {
      const fields = { ...ref.state, attribution: ref.state.attribution as Record<string, string> };
      if (ref.id) await this.ctx.db.patch("sessions", ref.id, fields);
      else await this.ctx.db.insert("sessions", { siteId: ref.siteId, ...fields });
    }
  }
}

function toState(doc: Doc<"sessions">): SessionState {
  const { _id, _creationTime, siteId: _s, attribution, ...state } = doc;
  return { ...state, attribution: attribution as Attribution };
}

/**
 * Applies one batch to the run's state. Work happens on drafts that are merged in
 * only when the whole batch succeeded, so a batch that throws leaves no trace.
 */
async function applyBatch(batch: Doc<"pendingBatches">, site: Doc<"sites">, sessions: SessionStore, deltas: Deltas, minuteCutoff: number): Promise<void> {
  const timeout = site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const batchDeltas = new Deltas(minuteCutoff);
  const draft = new Map<SessionRef, SessionState>();
  const latestInBatch = new Map<string, SessionRef>();
  for (const event of batch.events) {
    if (!isCounted(event)) continue;
    const ref = latestInBatch.get(event.visitorId) ?? (await sessions.latestFor(site._id, event.visitorId));
    const state = ref ? (draft.get(ref) ?? ref.state) : null;
    let next: SessionState;
    if (state && continues(state, event, timeout)) {
      batchDeltas.addSession(state, site.timezone, -1);
      next = extendSession(state, event);
      draft.set(ref!, next);
    } else {
      next = startSession(event);
      const fresh: SessionRef = { id: null, siteId: site._id, state: next };
      draft.set(fresh, next);
      if (!state || next.lastSeenAt >= state.lastSeenAt) latestInBatch.set(event.visitorId, fresh);
    }
    batchDeltas.addSession(next, site.timezone, 1);
    batchDeltas.addEvent(event, next, site.timezone);
  }
  deltas.merge(batchDeltas);
  sessions.commit(draft);
}

export async function drainShardHandler(ctx: MutationCtx, { shard }: { shard: number }): Promise<null> {
  const queued = await ctx.db
    .query("pendingBatches")
    .withIndex("by_shard", (q) => q.eq("shard", shard))
    .take(MAX_BATCHES_PER_RUN);
  const batches: Doc<"pendingBatches">[] = [];
  let eventCount = 0;
  for (const b of queued) {
    if (batches.length > 0 && eventCount + b.events.length > MAX_EVENTS_PER_RUN) break;
    batches.push(b);
    eventCount += b.events.length;
  }
  if (batches.length === 0) return null;

  const minuteCutoff = Date.now() - MINUTE_RETENTION_MS;
  const sites = new Map<Id<"sites">, Doc<"sites"> | null>();
  const sessions = new SessionStore(ctx);
  const deltasBySite = new Map<Id<"sites">, Deltas>();
  let retryAfter: number | null = null;

  for (const batch of batches) {
    if (!sites.has(batch.siteId)) sites.set(batch.siteId, await ctx.db.get("sites", batch.siteId));
    const site = sites.get(batch.siteId)!;
    let deltas = deltasBySite.get(batch.siteId);
    if (!deltas) deltasBySite.set(batch.siteId, (deltas = new Deltas(minuteCutoff)));
    try {
      if (!site) throw new Error(`Site ${batch.siteId} no longer exists`);
      await applyBatch(batch, site, sessions, deltas, minuteCutoff);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const attempts = batch.attempts + 1;
      if (attempts >= MAX_ATTEMPTS) {
        await ctx.db.insert("deadLetters", { siteId: batch.siteId, batchId: batch.batchId, events: batch.events, attempts, error: message });
        await ctx.db.delete("pendingBatches", batch._id);
      } else {
        await ctx.db.patch("pendingBatches", batch._id, { attempts, lastError: message });
        retryAfter = Math.max(retryAfter ?? 0, 1_000 * 2 ** attempts);
      }
      continue;
    }
    await ctx.db.insert("rawBatches", { siteId: batch.siteId, batchId: batch.batchId, receivedAt: batch.receivedAt, events: batch.events });
    await ctx.db.delete("pendingBatches", batch._id);
  }

  await sessions.write();
  for (const [siteId, deltas] of deltasBySite) await writeDeltas(ctx, siteId, shard, deltas);

  if (queued.length > batches.length || queued.length === MAX_BATCHES_PER_RUN) {
    await ctx.scheduler.runAfter(0, internal.worker.drainShard, { shard });
  }
  if (retryAfter !== null) await ctx.scheduler.runAfter(retryAfter, internal.worker.drainShard, { shard });
  return null;
}

/** Merges the run's deltas into this shard's open document for each bucket, or starts one. */
async function writeDeltas(ctx: MutationCtx, siteId: Id<"sites">, shard: number, deltas: Deltas): Promise<void> {
  let opened = false;
  for (const { interval, bucketStart, rows } of deltas.buckets.values()) {
    const fresh = rows.toDeltaRows();
    if (fresh.length === 0) continue;
    const open = await openShardDoc(ctx, siteId, interval, bucketStart, shard);
    if (open) {
      const merged = new DimensionRows();
      merged.addDeltaRows(open.rows);
      merged.addDeltaRows(fresh);
      const mergedRows = merged.toDeltaRows();
      const bytes = mergedRows.reduce((sum, r) => sum + rowBytes(r), 0);
      if (bytes <= MAX_SHARD_DOC_BYTES && mergedRows.length <= MAX_ROWS_PER_DOC) {
        await ctx.db.patch("rollupShards", open._id, { rows: mergedRows, bytes });
        continue;
      }
    }
    await ctx.db.insert("rollupShards", {
      siteId,
      interval,
      bucketStart,
      shard,
      rows: fresh,
      bytes: fresh.reduce((sum, r) => sum + rowBytes(r), 0),
    });
    // A new hour (or an overflowing document) is the moment to fold what came before.
    if (interval === "hour" || open) opened = true;
  }
  if (opened) await ctx.scheduler.runAfter(COMPACTION_DELAY_MS, internal.compaction.compact, {});
}

async function openShardDoc(ctx: MutationCtx, siteId: Id<"sites">, interval: Interval, bucketStart: number, shard: number) {
  // The newest document of this bucket and shard is the open one.
  return await ctx.db
    .query("rollupShards")
    .withIndex("by_bucket", (q) => q.eq("siteId", siteId).eq("interval", interval).eq("bucketStart", bucketStart).eq("shard", shard))
    .order("desc")
    .first();
}

export const drainShard = internalMutation({
  args: { shard: v.number() },
  returns: v.null(),
  handler: drainShardHandler,
});
