// Deleting one generation of a site's rollups (generations.ts) in bounded steps:
// the old generation once a rebuild has switched the site to its new one, or the
// new generation of a rebuild that was cancelled before it went live. Neither is
// the live generation, so the worker and reports never touch it; compaction
// drops what it still finds of it (generations.ts `siteOf` answers null).
import type { MutationCtx } from "./_generated/server.js";
import type { Id, TableNames } from "./_generated/dataModel.js";
import type { RollupOwner } from "./generations.js";
import { clearHourTotals } from "./totals.js";

/** Bytes a cleanup step reads (deletes read what they delete) before it stops. */
const CLEANUP_STEP_BYTES = 2 * 1024 * 1024;
/** Documents one cleanup step deletes at most. */
const CLEANUP_STEP_DOCS = 1_000;

/**
 * Deletes a bounded part of `owner`'s generation: its deltas, staging, pages
 * and sessions, then its hourly totals. Returns the documents deleted and
 * whether any are left (call again until `more` is false).
 */
export async function deleteGenerationStep(
  ctx: MutationCtx,
  owner: RollupOwner,
): Promise<{ deleted: number; more: boolean }> {
  const { siteId, generation } = owner;
  let deleted = 0;
  const roomLeft = async () => {
    const { bytesRead } = await ctx.meta.getTransactionMetrics();
    return deleted < CLEANUP_STEP_DOCS && bytesRead.used < CLEANUP_STEP_BYTES;
  };
  const sweep = async <T extends TableNames>(table: T, docs: AsyncIterable<{ _id: Id<T> }>) => {
    for await (const doc of docs) {
      if (!(await roomLeft())) return true;
      await ctx.db.delete(table, doc._id);
      deleted++;
    }
    return false;
  };
  // Deltas first: compaction turns them into staging and pages (or, for a
  // generation no longer live, drops them), so each table only shrinks once the
  // ones before it are empty.
  const more =
    (await sweep(
      "rollupDeltas",
      ctx.db
        .query("rollupDeltas")
        .withIndex("by_bucket", (q) => q.eq("siteId", siteId).eq("generation", generation)),
    )) ||
    (await sweep(
      "rollupStaging",
      ctx.db
        .query("rollupStaging")
        .withIndex("by_dimension", (q) => q.eq("siteId", siteId).eq("generation", generation)),
    )) ||
    (await sweep(
      "rollups",
      ctx.db
        .query("rollups")
        .withIndex("by_part", (q) => q.eq("siteId", siteId).eq("generation", generation)),
    )) ||
    (await sweep(
      "sessions",
      ctx.db
        .query("sessions")
        .withIndex("by_generation_visitor", (q) =>
          q.eq("siteId", siteId).eq("generation", generation),
        ),
    ));
  if (!more) await clearHourTotals(ctx, owner);
  return { deleted, more };
}
