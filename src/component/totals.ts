// Exact hourly sums of the total counters in an @convex-dev/aggregate BTree,
// namespaced by site: any hour-aligned range's counters in O(log n) reads,
// whatever its shape, over the hours retention keeps (hourlyRollupRetentionDays).
// Written only by compaction and pruned by retention, so the tree is never contended.
import { DirectAggregate } from "@convex-dev/aggregate";
import { components } from "./_generated/api.js";
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import { COUNTERS, type Counters } from "./rows.js";
import { rollupNamespace, type RollupOwner } from "./generations.js";

const hourlyTotals = new DirectAggregate<{ Key: [number, number]; Id: string; Namespace: string }>(
  components.hourlyTotals,
);

/** Records the compacted totals of one hour (replacing what was there). */
export async function writeHourTotals(
  ctx: MutationCtx,
  owner: RollupOwner,
  bucketStart: number,
  totals: Counters,
): Promise<void> {
  const namespace = rollupNamespace(owner);
  for (const [metric, name] of COUNTERS.entries()) {
    const key: [number, number] = [metric, bucketStart];
    const id = `${name}:${bucketStart}`;
    await hourlyTotals.replaceOrInsert(
      ctx,
      { namespace, key, id },
      { namespace, key, sumValue: totals[name] },
    );
  }
}

/** Removes one hour's totals (retention: the hour's pages go with them). */
export async function deleteHourTotals(
  ctx: MutationCtx,
  owner: RollupOwner,
  bucketStart: number,
): Promise<void> {
  const namespace = rollupNamespace(owner);
  for (const [metric, name] of COUNTERS.entries())
    await hourlyTotals.deleteIfExists(ctx, {
      namespace,
      key: [metric, bucketStart],
      id: `${name}:${bucketStart}`,
    });
}

/** Compacted counters summed over the whole hours in [from, to) that are still retained. */
export async function sumHourTotals(
  ctx: QueryCtx,
  owner: RollupOwner,
  from: number,
  to: number,
): Promise<Counters> {
  const namespace = rollupNamespace(owner);
  const sums = await hourlyTotals.sumBatch(
    ctx,
    COUNTERS.map((_, metric) => ({
      namespace,
      bounds: {
        lower: { key: [metric, from] as [number, number], inclusive: true },
        upper: { key: [metric, to] as [number, number], inclusive: false },
      },
    })),
  );
  return Object.fromEntries(COUNTERS.map((name, i) => [name, sums[i]!])) as Counters;
}

/**
 * Removes every hour of a generation from the BTree (a rebuild's old generation,
 * deleteSite). The aggregate has no
 * way to drop a namespace: `clear` deletes its tree (the nodes in scheduled
 * mutations of its own) and leaves an empty one, a tree document and an empty
 * root node that hold no counts. A site whose namespace holds nothing is left
 * alone, since `clear` would create that empty tree.
 */
export async function clearHourTotals(ctx: MutationCtx, owner: RollupOwner): Promise<void> {
  const namespace = rollupNamespace(owner);
  // One path of the tree, where a count would read every node of an unbounded namespace.
  if ((await hourlyTotals.min(ctx, { namespace })) === null) return;
  await hourlyTotals.clear(ctx, { namespace });
}
