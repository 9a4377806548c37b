// How much one pass that deletes or rewrites documents (retention, deletion jobs)
// may take on: a page of documents, cut short by the bytes the transaction has
// read (ctx.meta.getTransactionMetrics()), far inside Convex's 16 MiB.
import type { MutationCtx } from "./_generated/server.js";

/** Documents one take returns at most. */
export const PRUNE_PAGE = 200;
/**
 * Bytes a pass may have read before it stops and schedules the next: a raw batch
 * holds up to 256 KiB of events, so PRUNE_PAGE of them could pass Convex's 16 MiB
 * read limit and stall the pass for good.
 */
export const PRUNE_READ_BYTES = 2 * 1024 * 1024;

/**
 * Documents of `docs` until PRUNE_PAGE of them or `readBytes` read in this
 * transaction (at least one). A caller that deletes what it takes passes half
 * the budget: a delete reads its document again.
 */
export async function takePrunable<T>(
  ctx: MutationCtx,
  docs: AsyncIterable<T>,
  readBytes = PRUNE_READ_BYTES,
): Promise<T[]> {
  const out: T[] = [];
  for await (const doc of docs) {
    out.push(doc);
    if (out.length >= PRUNE_PAGE) break;
    const { bytesRead } = await ctx.meta.getTransactionMetrics();
    if (bytesRead.used > readBytes) break;
  }
  return out;
}

/**
 * Whether a pass may start on more documents: under PRUNE_READ_BYTES read and
 * written, and a few thousand documents, so one more page keeps it within 4 MiB.
 */
export async function hasRoom(ctx: MutationCtx): Promise<boolean> {
  const { bytesRead, bytesWritten, documentsRead, documentsWritten } =
    await ctx.meta.getTransactionMetrics();
  return (
    bytesRead.used < PRUNE_READ_BYTES &&
    bytesWritten.used < PRUNE_READ_BYTES &&
    documentsRead.used < 10 * PRUNE_PAGE &&
    documentsWritten.used < 10 * PRUNE_PAGE
  );
}
