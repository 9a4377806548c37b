// A site's place in the `batches` table. Batches are never deleted or rewritten
// when processed: the site's worker loop keeps one cursor document instead
// (siteCursors), written once per run, so a batch costs one write (its insert)
// however it fares. The batches after the cursor are the queue; those before it
// are raw events (or, for a few runs, retries).
//
// Order is creation order (the `by_site` index: siteId, then _creationTime, then
// _id). Creation times only grow, but two transactions can share one, so the
// cursor is a creation time plus the ids already processed at exactly that time.
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";

/** Batches a cursor keeps for retry; past it, a run stops at the next batch that throws. */
export const MAX_RETRYING = 20;

type Reader = Pick<QueryCtx, "db">;
type State = Pick<Doc<"siteCursors">, "creationTime" | "ids" | "retry">;

export class SiteCursor {
  private changed = false;

  private constructor(
    private readonly siteId: Id<"sites">,
    private readonly doc: Doc<"siteCursors"> | null,
    private readonly state: State,
  ) {}

  static async load(ctx: Reader, siteId: Id<"sites">): Promise<SiteCursor> {
    const doc = await ctx.db
      .query("siteCursors")
      .withIndex("by_site", (q) => q.eq("siteId", siteId))
      .unique();
    return SiteCursor.of(siteId, doc);
  }

  /** A site's cursor from its document; none yet means the loop has processed nothing. */
  static of(siteId: Id<"sites">, doc: Doc<"siteCursors"> | null): SiteCursor {
    const { creationTime, ids, retry } = doc ?? { creationTime: -Infinity, ids: [], retry: [] };
    return new SiteCursor(siteId, doc, { creationTime, ids: [...ids], retry: [...retry] });
  }

  /** A cursor kept in another document (a rebuild's), from its state; `snapshot` gives it back. */
  static ofState(siteId: Id<"sites">, { creationTime, ids, retry }: State): SiteCursor {
    return new SiteCursor(siteId, null, { creationTime, ids: [...ids], retry: [...retry] });
  }

  snapshot(): State {
    const { creationTime, ids, retry } = this.state;
    return { creationTime, ids: [...ids], retry: [...retry] };
  }

  /** Whether `id` is past the cursor and waiting for a retry: not counted yet. */
  isRetrying(id: Id<"batches">): boolean {
    return this.state.retry.some((r) => r.id === id);
  }

  /**
   * The batches after the cursor created before `before`, in creation order. It
   * reads the cursor's own batch again (the ones created at exactly its time), so
   * that a batch sharing that time and not yet processed is not skipped.
   */
  async *after(ctx: Reader, before: number): AsyncGenerator<Doc<"batches">> {
    const { creationTime } = this.state;
    const range = ctx.db
      .query("batches")
      .withIndex("by_site", (q) =>
        creationTime === -Infinity
          ? q.eq("siteId", this.siteId).lt("_creationTime", before)
          : q
              .eq("siteId", this.siteId)
              .gte("_creationTime", creationTime)
              .lt("_creationTime", before),
      );
    for await (const batch of range) if (!this.isPast(batch)) yield batch;
  }

  /** Whether the cursor has moved past `batch`: processed, or waiting for a retry. */
  isPast(batch: Doc<"batches">): boolean {
    const { creationTime, ids } = this.state;
    return (
      batch._creationTime < creationTime ||
      (batch._creationTime === creationTime && ids.includes(batch._id))
    );
  }

  /** Whether the loop has counted `batch`: the cursor is past it and it does not wait for a retry. */
  hasCounted(batch: Doc<"batches">): boolean {
    return this.isPast(batch) && !this.state.retry.some((r) => r.id === batch._id);
  }

  /** Batches past the cursor whose processing threw; the next runs take them first. */
  get retry(): readonly Doc<"siteCursors">["retry"][number][] {
    return this.state.retry;
  }

  /**
   * Every batch created before this is processed and not waiting for a retry;
   * of those created at exactly this time, `hasCounted` says which are.
   * Retention deletes only processed batches.
   */
  get processedBefore(): number {
    return Math.min(this.state.creationTime, ...this.state.retry.map((r) => r.creationTime));
  }

  /** The cursor moves past `batch`, the next batch after it in creation order. */
  pass(batch: Doc<"batches">): void {
    const { state } = this;
    if (batch._creationTime === state.creationTime) state.ids.push(batch._id);
    else {
      state.creationTime = batch._creationTime;
      state.ids = [batch._id];
    }
    this.changed = true;
  }

  /** Moves past `batch` and keeps it for a retry; false (and no move) when the retry list is full. */
  passForRetry(batch: Doc<"batches">): boolean {
    if (this.state.retry.length >= MAX_RETRYING) return false;
    this.pass(batch);
    this.state.retry.push({ id: batch._id, creationTime: batch._creationTime });
    return true;
  }

  /** A retried batch is done with: counted, dead-lettered, or deleted by retention. */
  retried(id: Id<"batches">): void {
    this.state.retry = this.state.retry.filter((r) => r.id !== id);
    this.changed = true;
  }

  /** One write, only if the run moved anything. */
  async save(ctx: Pick<MutationCtx, "db">): Promise<void> {
    if (!this.changed) return;
    if (this.doc) await ctx.db.patch("siteCursors", this.doc._id, this.state);
    else await ctx.db.insert("siteCursors", { siteId: this.siteId, ...this.state });
  }
}

/**
 * Whether a batch after the site's cursor, or one waiting for a retry, was
 * created before `before`. A live loop takes every batch within seconds, so one
 * minutes old means the loop's scheduled run was lost.
 */
export async function hasWaitingBatch(
  ctx: Reader,
  siteId: Id<"sites">,
  before: number,
): Promise<boolean> {
  const cursor = await SiteCursor.load(ctx, siteId);
  if (cursor.retry.some((r) => r.creationTime < before)) return true;
  for await (const _batch of cursor.after(ctx, before)) return true;
  return false;
}
