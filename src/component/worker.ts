// The aggregation worker: one loop per site, so one site's volume or input can
// never hold up another's (invariant I8), and a visitor's batches are processed in
// arrival order (except a batch that threw: it is retried after its neighbours,
// faults.worker.test.ts). Each run takes the site's settled batches after its cursor
// (bounded in batches, events and bytes), writes sessions, accumulates rollup
// deltas in memory and appends them as new documents (deltas.ts), and moves the
// cursor past the batches (cursor.ts), all in one transaction: a crash anywhere
// commits nothing, so every event is counted exactly once however often a run is
// retried. The batches stay where ingest wrote them, as the raw events.
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
import { SiteCursor } from "./cursor.js";
import { liveSite } from "./sites.js";
import { liveOwner, type RollupOwner } from "./generations.js";
import { Deltas, appendDeltas } from "./deltas.js";
import type { Attribution } from "./events.js";
import { LOOP_INTERVAL_MS, SETTLE_MS } from "./ingest.js";
import { MINUTE_RETENTION_MS } from "./time.js";
import { NONE_KEY, SESSION_DIMENSIONS } from "../shared.js";
import type { CountedGoal } from "./goalMath.js";
import { loadGoals } from "./goals.js";

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
type SessionRef = { id: Id<"sessions"> | null; state: SessionState };

/**
 * Where a run's output goes: a rollup generation (generations.ts), and the
 * settings its rows are cut by. The live worker writes the site's live
 * generation with the site's own settings; a rebuild writes the next one with
 * the timezone it switches to.
 */
export type RollupTarget = RollupOwner & {
  timezone: string;
  sessionTimeoutMs: number;
  /** The site's goals when the run started (goals.ts loadGoals): each counted event's conversions. */
  goals: readonly CountedGoal[];
};

/** The live generation, the site's settings and its goals: what the worker writes. */
export function liveTarget(site: Doc<"sites">, goals: readonly CountedGoal[]): RollupTarget {
  return {
    ...liveOwner(site),
    timezone: site.timezone,
    sessionTimeoutMs: site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    goals,
  };
}

/** Sessions of one generation touched in this run, by visitor; each written once at the end. */
export class SessionStore {
  private readonly latest = new Map<string, SessionRef | null>();
  readonly dirty = new Set<SessionRef>();
  constructor(
    private readonly ctx: MutationCtx,
    private readonly owner: RollupOwner,
  ) {}

  async latestFor(visitorId: string): Promise<SessionRef | null> {
    if (!this.latest.has(visitorId)) {
      const { siteId, generation } = this.owner;
      const doc = await this.ctx.db
        .query("sessions")
        .withIndex("by_generation_visitor", (q) =>
          q.eq("siteId", siteId).eq("generation", generation).eq("visitorId", visitorId),
        )
        .order("desc")
        .first();
      this.latest.set(visitorId, doc ? { id: doc._id, state: toState(doc) } : null);
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
      const fields = { ...ref.state, attribution: storedAttribution(ref.state.attribution) };
      if (ref.id) await this.ctx.db.patch("sessions", ref.id, fields);
      else {
        const { siteId, generation } = this.owner;
        await this.ctx.db.insert("sessions", { siteId, generation, ...fields });
      }
    }
  }
}

/**
 * A session is written about once per event at low traffic, and most of its
 * attribution is "(none)" (no UTM tags, often no referrer): only the other
 * values are stored, and reading fills the rest back in.
 */
function storedAttribution(attribution: Attribution): Record<string, string> {
  return Object.fromEntries(Object.entries(attribution).filter(([, value]) => value !== NONE_KEY));
}

function toState(doc: Doc<"sessions">): SessionState {
  const { _id, _creationTime, siteId: _s, generation: _g, attribution, ...state } = doc;
  const full = Object.fromEntries(SESSION_DIMENSIONS.map((d) => [d, attribution[d] ?? NONE_KEY]));
  return { ...state, attribution: full as Attribution };
}

export type AppliedBatch = { deltas: Deltas; draft: Map<SessionRef, SessionState> };

/**
 * Works one batch out on drafts: nothing is merged into the run's state until
 * the caller commits it, so a batch that throws, or that does not fit the run's
 * budget, leaves no trace.
 */
export async function applyBatch(
  batch: Doc<"batches">,
  target: RollupTarget,
  sessions: SessionStore,
  minuteCutoff: number,
): Promise<AppliedBatch> {
  const { timezone, sessionTimeoutMs: timeout } = target;
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
      deltas.addSession(state, timezone, -1);
      next = extendSession(state, event);
      draft.set(ref!, next);
    } else {
      next = startSession(event);
      const fresh: SessionRef = { id: null, state: next };
      draft.set(fresh, next);
      if (!state || next.lastSeenAt >= state.lastSeenAt) latestInBatch.set(event.visitorId, fresh);
    }
    deltas.addSession(next, timezone, 1);
    deltas.addEvent(event, next, timezone);
    deltas.addConversions(event, target.goals, timezone);
  }
  return { deltas, draft };
}

/** Appends a run's rollup deltas to its generation. */
export async function writeDeltas(
  ctx: MutationCtx,
  owner: RollupOwner,
  deltas: Deltas,
): Promise<void> {
  for (const { interval, bucketStart, rows } of deltas.buckets.values())
    await appendDeltas(ctx, owner, interval, bucketStart, rows.toDeltaRows());
}

/** Moves a batch out of the raw events: a dead letter is kept for admins and for dedup, never counted. */
async function deadLetter(
  ctx: MutationCtx,
  batch: Doc<"batches">,
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
  await ctx.db.delete("batches", batch._id);
}

type Taken = { batch: Doc<"batches">; retried: boolean };

export async function drainSiteHandler(
  ctx: MutationCtx,
  { siteId }: { siteId: Id<"sites"> },
): Promise<null> {
  // A site being deleted (or deleted) is not drained: deleteSite removes its batches and this loop's state.
  const site = liveSite(await ctx.db.get("sites", siteId));
  if (!site) return null;
  const now = Date.now();
  const minuteCutoff = now - MINUTE_RETENTION_MS;
  const cursor = await SiteCursor.load(ctx, siteId);
  // Reading the goals orders this run with createGoal: a goal is counted live from the
  // first run after it, and its backfill counts what the runs before it had (goalBackfills.ts).
  const target = liveTarget(site, await loadGoals(ctx, siteId));
  const sessions = new SessionStore(ctx, target);
  const runDeltas = new Deltas(minuteCutoff);
  let runDeltaBytes = 0;
  let events = 0;
  // Batches to retry first, then only batches that have settled: no ingest still
  // running can insert among them. Taken one at a time so the run stops as soon as
  // it has read its fill of bytes; the first is always taken, so the loop moves on.
  const taken: Taken[] = [];
  let full = false;
  const take = async (batch: Doc<"batches">, retried: boolean): Promise<boolean> => {
    const { bytesRead } = await ctx.meta.getTransactionMetrics();
    if (
      taken.length > 0 &&
      (taken.length >= MAX_BATCHES_PER_RUN ||
        events + batch.events.length > MAX_EVENTS_PER_RUN ||
        bytesRead.used > RUN_BYTES_BEFORE_BATCH)
    )
      return false;
    taken.push({ batch, retried });
    events += batch.events.length;
    return true;
  };
  for (const { id } of [...cursor.retry]) {
    const batch = await ctx.db.get("batches", id);
    if (!batch) {
      cursor.retried(id); // deleted by retention: nothing left to count
      continue;
    }
    if (await take(batch, true)) continue;
    full = true;
    break;
  }
  if (!full)
    for await (const batch of cursor.after(ctx, now - SETTLE_MS)) {
      if (await take(batch, false)) continue;
      full = true;
      break;
    }

  for (const { batch, retried } of taken) {
    const done = () => (retried ? cursor.retried(batch._id) : cursor.pass(batch));
    let applied: AppliedBatch;
    try {
      applied = await applyBatch(batch, target, sessions, minuteCutoff);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const attempts = (batch.attempts ?? 0) + 1;
      if (attempts >= MAX_ATTEMPTS) {
        await deadLetter(ctx, batch, attempts, message);
        done();
        continue;
      }
      // Its neighbours go on; the batch waits past the cursor for the next run.
      if (!retried && !cursor.passForRetry(batch)) {
        full = true;
        break;
      }
      await ctx.db.patch("batches", batch._id, { attempts, lastError: message });
      continue;
    }
    const bytes = applied.deltas.byteLength();
    if (bytes > MAX_BATCH_DELTA_BYTES) {
      await deadLetter(
        ctx,
        batch,
        batch.attempts ?? 0,
        `its rollup deltas are ${bytes} bytes, over the ${MAX_BATCH_DELTA_BYTES}-byte budget of one batch`,
      );
      done();
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
    done();
  }

  await sessions.write();
  if (target) await writeDeltas(ctx, target, runDeltas);
  await cursor.save(ctx);
  const busy = taken.length > 0 || cursor.retry.length > 0;
  await scheduleNext(ctx, siteId, full ? 0 : busy ? LOOP_INTERVAL_MS : null, now);
  return null;
}

/**
 * Keeps the loop going, or hands it off to idle. Only the hand-off reads the
 * range ingest inserts into (batches not settled yet): if an ingest commits
 * during it, this run retries and sees the batch; if this run commits first,
 * that ingest retries, sees the loop idle and schedules it. Either way no batch
 * is left without a loop, and under load the hand-off never happens.
 */
async function scheduleNext(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  delay: number | null,
  now: number,
): Promise<void> {
  if (delay === null) {
    // This run took nothing settled, so whatever is after the cursor is newer than that.
    const waiting = await ctx.db
      .query("batches")
      .withIndex("by_site", (q) => q.eq("siteId", siteId).gte("_creationTime", now - SETTLE_MS))
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
