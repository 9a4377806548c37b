// Exact hourly sums of the total counters in an @convex-dev/aggregate BTree,
// namespaced by site: any hour-aligned range's counters in O(log n) reads,
// whatever its shape. Written only by compaction, so the tree is never contended.
import { DirectAggregate } from "@convex-dev/aggregate";
import { components } from "./_generated/api.js";
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import { COUNTERS, type Counters } from "./rows.js";

const hourlyTotals = new DirectAggregate<{ Key: [number, number]; Id: string; Namespace: string }>(
  components.hourlyTotals,
);

/** Records the compacted totals of one hour (replacing what was there). */
export async function writeHourTotals(
  ctx: MutationCtx,
  siteId: string,
  bucketStart: number,
  totals: Counters,
): Promise<void> {
  for (const [metric, name] of COUNTERS.entries()) {
    const key: [number, number] = [metric, bucketStart];
    const id = `${name}:${bucketStart}`;
    await hourlyTotals.replaceOrInsert(
      ctx,
      { namespace: siteId, key, id },
      { namespace: siteId, key, sumValue: totals[name] },
    );
  }
}

/** Compacted counters summed over the whole hours in [from, to). */
export async function sumHourTotals(
  ctx: QueryCtx,
  siteId: string,
  from: number,
  to: number,
): Promise<Counters> {
  const sums = await hourlyTotals.sumBatch(
    ctx,
    COUNTERS.map((_, metric) => ({
      namespace: siteId,
      bounds: {
        lower: { key: [metric, from] as [number, number], inclusive: true },
        upper: { key: [metric, to] as [number, number], inclusive: false },
      },
    })),
  );
  return Object.fromEntries(COUNTERS.map((name, i) => [name, sums[i]!])) as Counters;
}

/**
 * Removes every hour of a site from the BTree (deleteSite). The aggregate has no
 * way to drop a namespace: `clear` deletes its tree (the nodes in scheduled
 * mutations of its own) and leaves an empty one, a tree document and an empty
 * root node that hold no counts. A site whose namespace holds nothing is left
 * alone, since `clear` would create that empty tree.
 */
export async function clearHourTotals(ctx: MutationCtx, siteId: string): Promise<void> {
  // One path of the tree, where a count would read every node of an unbounded namespace.
  if ((await hourlyTotals.min(ctx, { namespace: siteId })) === null) return;
  await hourlyTotals.clear(ctx, { namespace: siteId });
}
