// The aggregation worker: one loop per site, so one site's volume or input can
// never hold up another's (invariant I8), and a visitor's batches are processed in
// arrival order. Each run drains the site's settled pending batches (bounded in
// batches, events and bytes), writes raw events and sessions, accumulates rollup
// deltas in memory and appends them as new documents (deltas.ts), and removes
// the batches, all in one transaction: a crash anywhere commits nothing, so
// every event is counted exactly once however often a run is retried.
import { v } from "convex/values";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  DEFAULT_SESSION_TIMEOUT_MS,
  continues,
  extendSession,
  isCounted,
  startSession,
  type SessionState,
} from "./sessions.js";
import { Deltas, appendDeltas } from "./deltas.js";
import type { Attribution } from "./events.js";
import { LOOP_INTERVAL_MS, SETTLE_MS } from "./ingest.js";
import { MINUTE_RETENTION_MS } from "./time.js";

/** Bounds on one run, far inside Convex's transaction limits. */
export const MAX_BATCHES_PER_RUN = 100;
export const MAX_EVENTS_PER_RUN = 500;
/** A batch whose processing throws this many times goes to the dead-letter table. */
export const MAX_ATTEMPTS = 3;
/** Encoded rollup deltas one batch may produce; a batch over it could never be stored, so it is dead-lettered at once. */
export const MAX_BATCH_DELTA_BYTES = 256 * 1024;
/** Encoded rollup deltas one run may add (an upper bound: rows that batches share are counted per batch). */
export const MAX_RUN_DELTA_BYTES = 1024 * 1024;
/**
 * Bytes a run may have read or written (ctx.meta.getTransactionMetrics()) before
 * it takes another batch: a quarter of Convex's 16 MiB, less room for the deltas
 * and the merges they trigger.
 */
export const RUN_BYTES_BEFORE_BATCH = 2 * 1024 * 1024;

/** One session as this run sees it; `state` changes only when a whole batch commits. */
type SessionRef = { id: Id<"sessions"> | null; siteId: Id<"sites">; state: SessionState };

/** Sessions touched in this run, by visitor; each written once at the end. */
class SessionStore {
  private readonly latest = new Map<string, SessionRef | null>();
  readonly dirty = new Set<SessionRef>();
  constructor(
    private readonly ctx: MutationCtx,
    private readonly siteId: Id<"sites">,
  ) {}

  async latestFor(visitorId: string): Promise<SessionRef | null> {
    if (!this.latest.has(visitorId)) {
      const doc = await this.ctx.db
        .query("sessions")
        .withIndex("by_visitor", (q) => q.eq("siteId", this.siteId).eq("visitorId", visitorId))
        .order("desc")
        .first();
      this.latest.set(
        visitorId,
        doc ? { id: doc._id, siteId: this.siteId, state: toState(doc) } : null,
      );
    }
    return this.latest.get(visitorId)!;
  }

  commit(draft: Map<SessionRef, SessionState>): void {
    for (const [ref, state] of draft) {
      ref.state = state;
      this.dirty.add(ref);
      const current = this.latest.get(state.visitorId);
      if (!current || state.lastSeenAt >= current.state.lastSeenAt)
        this.latest.set(state.visitorId, ref);
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

type AppliedBatch = { deltas: Deltas; draft: Map<SessionRef, SessionState> };

/**
 * Works one batch out on drafts: nothing is merged into the run's state until
 * the caller commits it, so a batch that throws, or that does not fit the run's
 * budget, leaves no trace.
 */
async function applyBatch(
  batch: Doc<"pendingBatches">,
  site: Doc<"sites">,
  sessions: SessionStore,
  minuteCutoff: number,
): Promise<AppliedBatch> {
  const timeout = site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const deltas = new Deltas(minuteCutoff);
  const draft = new Map<SessionRef, SessionState>();
  const latestInBatch = new Map<string, SessionRef>();
  for (const event of batch.events) {
    if (!isCounted(event)) continue;
    // Ingest never queues one, but a bad time would write a bucket no report can find.
    if (!Number.isFinite(event.occurredAt))
      throw new Error(`event ${event.id} has no valid occurredAt`);
    const ref = latestInBatch.get(event.visitorId) ?? (await sessions.latestFor(event.visitorId));
    const state = ref ? (draft.get(ref) ?? ref.state) : null;
    let next: SessionState;
    if (state && continues(state, event, timeout)) {
      deltas.addSession(state, site.timezone, -1);
      next = extendSession(state, event);
      draft.set(ref!, next);
    } else {
      next = startSession(event);
      const fresh: SessionRef = { id: null, siteId: site._id, state: next };
      draft.set(fresh, next);
      if (!state || next.lastSeenAt >= state.lastSeenAt) latestInBatch.set(event.visitorId, fresh);
    }
    deltas.addSession(next, site.timezone, 1);
    deltas.addEvent(event, next, site.timezone);
  }
  return { deltas, draft };
}

async function deadLetter(
  ctx: MutationCtx,
  batch: Doc<"pendingBatches">,
  attempts: number,
  error: string,
): Promise<void> {
  await ctx.db.insert("deadLetters", {
    siteId: batch.siteId,
    batchId: batch.batchId,
    events: batch.events,
    attempts,
    error,
  });
  await ctx.db.delete("pendingBatches", batch._id);
}

export async function drainSiteHandler(
  ctx: MutationCtx,
  { siteId }: { siteId: Id<"sites"> },
): Promise<null> {
  const site = await ctx.db.get("sites", siteId);
  const now = Date.now();
  const minuteCutoff = now - MINUTE_RETENTION_MS;
  const sessions = new SessionStore(ctx, siteId);
  const runDeltas = new Deltas(minuteCutoff);
  let runDeltaBytes = 0;
  let events = 0;
  // Only batches that have settled: no ingest still running can insert among them.
  // Taken one at a time so the run stops as soon as it has read its fill of bytes.
  const batches: Doc<"pendingBatches">[] = [];
  let full = false;
  const settled = ctx.db
    .query("pendingBatches")
    .withIndex("by_site_received", (q) => q.eq("siteId", siteId).lt("receivedAt", now - SETTLE_MS));
  for await (const batch of settled) {
    const { bytesRead } = await ctx.meta.getTransactionMetrics();
    if (
      batches.length >= MAX_BATCHES_PER_RUN ||
      (batches.length > 0 && events + batch.events.length > MAX_EVENTS_PER_RUN) ||
      bytesRead.used > RUN_BYTES_BEFORE_BATCH
    ) {
      full = true;
      break;
    }
    batches.push(batch);
    events += batch.events.length;
  }

  for (const batch of batches) {
    let applied: AppliedBatch;
    try {
      if (!site) throw new Error(`Site ${siteId} no longer exists`);
      applied = await applyBatch(batch, site, sessions, minuteCutoff);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const attempts = batch.attempts + 1;
      if (attempts >= MAX_ATTEMPTS) await deadLetter(ctx, batch, attempts, message);
      else await ctx.db.patch("pendingBatches", batch._id, { attempts, lastError: message });
      continue;
    }
    const bytes = applied.deltas.byteLength();
    if (bytes > MAX_BATCH_DELTA_BYTES) {
      await deadLetter(
        ctx,
        batch,
        batch.attempts,
        `its rollup deltas are ${bytes} bytes, over the ${MAX_BATCH_DELTA_BYTES}-byte budget of one batch`,
      );
      continue;
    }
    const { bytesWritten } = await ctx.meta.getTransactionMetrics();
    if (runDeltaBytes + bytes > MAX_RUN_DELTA_BYTES || bytesWritten.used > RUN_BYTES_BEFORE_BATCH) {
      // The rest waits for the next run, which starts at once.
      full = true;
      break;
    }
    runDeltaBytes += bytes;
    runDeltas.merge(applied.deltas);
    sessions.commit(applied.draft);
    await ctx.db.insert("rawBatches", {
      siteId,
      batchId: batch.batchId,
      receivedAt: batch.receivedAt,
      events: batch.events,
    });
    await ctx.db.delete("pendingBatches", batch._id);
  }

  await sessions.write();
  for (const { interval, bucketStart, rows } of runDeltas.buckets.values()) {
    await appendDeltas(ctx, siteId, interval, bucketStart, rows.toDeltaRows());
  }
  await scheduleNext(ctx, siteId, full ? 0 : batches.length > 0 ? LOOP_INTERVAL_MS : null);
  return null;
}

/**
 * Keeps the loop going, or hands it off to idle. Only the hand-off reads the
 * whole pending range, which concurrent ingests write: if one commits during
 * it, this run retries and sees the batch; if this run commits first, that
 * ingest retries, sees the loop idle and schedules it. Either way no batch is
 * left without a loop, and under load the hand-off never happens.
 */
async function scheduleNext(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  delay: number | null,
): Promise<void> {
  if (delay === null) {
    const waiting = await ctx.db
      .query("pendingBatches")
      .withIndex("by_site_received", (q) => q.eq("siteId", siteId))
      .first();
    if (!waiting) {
      const loop = await ctx.db
        .query("siteLoops")
        .withIndex("by_site", (q) => q.eq("siteId", siteId))
        .unique();
      if (loop) await ctx.db.patch("siteLoops", loop._id, { scheduled: false });
      return;
    }
    delay = LOOP_INTERVAL_MS;
  }
  await ctx.scheduler.runAfter(delay, internal.worker.drainSite, { siteId });
}

export const drainSite = internalMutation({
  args: { siteId: v.id("sites") },
  returns: v.null(),
  handler: drainSiteHandler,
});
