// Admins' decisions on dead letters (batches the worker gave up on): retry one,
// which moves its events back to the site's queue as the same batch id, or
// discard it. One document each way, so both are bounded.
import { mutation, type MutationCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { vDeadLetterArgs, vDeadLetterOutcome } from "../shared.js";
import { siteOrThrow } from "./sites.js";
import { wakeLoop } from "./ingest.js";
import { visitorDeletionRunning } from "./deletions.js";

/** The dead letter, if it exists and belongs to the site; null if it is gone (already retried or discarded). */
async function deadLetterOf(
  ctx: MutationCtx,
  siteId: string,
  deadLetterId: string,
): Promise<Doc<"deadLetters"> | null> {
  const site = await siteOrThrow(ctx, siteId);
  const id = ctx.db.normalizeId("deadLetters", deadLetterId);
  if (!id) throw new Error(`Invalid dead letter id "${deadLetterId.slice(0, 100)}"`);
  const letter = await ctx.db.get("deadLetters", id);
  if (letter && letter.siteId !== site._id)
    throw new Error(`Dead letter "${deadLetterId}" belongs to another site`);
  return letter;
}

/**
 * Queues a dead letter's events again, under its batch id, with a fresh attempt
 * count: for after a fix (a deployment, a setting). It was never counted, so
 * counting it now counts it once. A batch that fails again returns to the dead
 * letters with its new error.
 */
export const retryDeadLetter = mutation({
  args: vDeadLetterArgs,
  returns: vDeadLetterOutcome,
  handler: async (ctx, { siteId, deadLetterId }) => {
    const letter = await deadLetterOf(ctx, siteId, deadLetterId);
    if (!letter) return null;
    // A GDPR deletion scans the dead letters after the batches: one moved back meanwhile could escape it.
    if (await visitorDeletionRunning(ctx, letter.siteId))
      throw new Error(
        "A visitor data deletion is running on this site: retry the dead letter once it is done",
      );
    await ctx.db.insert("batches", {
      siteId: letter.siteId,
      batchId: letter.batchId,
      events: letter.events,
    });
    await ctx.db.delete("deadLetters", letter._id);
    await wakeLoop(ctx, letter.siteId);
    return { batchId: letter.batchId, events: letter.events.length };
  },
});

/**
 * Deletes a dead letter and its events. Its batch id is then no longer known:
 * the same batch sent again would be accepted, and counted once, since the
 * dead letter never was.
 */
export const discardDeadLetter = mutation({
  args: vDeadLetterArgs,
  returns: vDeadLetterOutcome,
  handler: async (ctx, { siteId, deadLetterId }) => {
    const letter = await deadLetterOf(ctx, siteId, deadLetterId);
    if (!letter) return null;
    await ctx.db.delete("deadLetters", letter._id);
    return { batchId: letter.batchId, events: letter.events.length };
  },
});
