// Exact hourly sums of the total counters in an @convex-dev/aggregate BTree,
// namespaced by site: any hour-aligned range's counters in O(log n) reads,
// whatever its shape, over the hours retention keeps (hourlyRollupRetentionDays).
// Written only by compaction and pruned by retention, so the tree is never contended.
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

/** Removes one hour's totals (retention: the hour's pages go with them). */
export async function deleteHourTotals(
  ctx: MutationCtx,
  siteId: string,
  bucketStart: number,
): Promise<void> {
  for (const [metric, name] of COUNTERS.entries())
    await hourlyTotals.deleteIfExists(ctx, {
      namespace: siteId,
      key: [metric, bucketStart],
      id: `${name}:${bucketStart}`,
    });
}

/** Compacted counters summed over the whole hours in [from, to) that are still retained. */
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
