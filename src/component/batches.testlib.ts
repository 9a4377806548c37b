// Tests' view of the one batches table: which batches each site's worker loop has
// processed (its raw events) and which still wait for it (queued after the cursor,
// or kept for a retry), read through the same cursor the loop uses (cursor.ts).
import type { QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { SiteCursor } from "./cursor.js";

type Batch = Doc<"batches">;

/** Processed: the cursor is past it and it does not wait for a retry. */
export function isProcessed(cursor: SiteCursor, batch: Batch): boolean {
  return cursor.hasCounted(batch);
}

export async function batchesByState(
  ctx: Pick<QueryCtx, "db">,
): Promise<{ processed: Batch[]; queued: Batch[] }> {
  const all = await ctx.db.query("batches").collect();
  const cursors = new Map<Id<"sites">, SiteCursor>();
  const processed: Batch[] = [];
  const queued: Batch[] = [];
  for (const batch of all) {
    let cursor = cursors.get(batch.siteId);
    if (!cursor) cursors.set(batch.siteId, (cursor = await SiteCursor.load(ctx, batch.siteId)));
    (cursor.hasCounted(batch) ? processed : queued).push(batch);
  }
  return { processed, queued };
}
