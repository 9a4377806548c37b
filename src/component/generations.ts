// A site's rollups belong to a generation: every rollup document (rollupDeltas,
// rollupStaging, rollups), every session and the hourly-totals BTree namespace
// is addressed by (siteId, generation). The site's `rollupGeneration` (absent: 0)
// is the live one, which the worker writes and reports read. A rebuild
// (rebuilds.ts) writes the next generation beside it, and switches the site to it
// in one mutation once it has caught up, so reports never see a half-built one.
import type { QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { HOUR } from "./time.js";

export type RollupOwner = { siteId: Id<"sites">; generation: number };

/** The generation a site's worker writes and its reports read. */
export function liveGeneration(site: Pick<Doc<"sites">, "rollupGeneration">): number {
  return site.rollupGeneration ?? 0;
}

/** The owner of a site's live rollups. */
export function liveOwner(site: Pick<Doc<"sites">, "_id" | "rollupGeneration">): RollupOwner {
  return { siteId: site._id, generation: liveGeneration(site) };
}

/** The BTree namespace of a generation: generation 0 keeps the bare site id it always had. */
export function rollupNamespace({ siteId, generation }: RollupOwner): string {
  return generation === 0 ? siteId : `${siteId}:${generation}`;
}

/**
 * The site as the rollups of `owner` are cut: the live generation by the site's
 * own timezone, a rebuild's by the timezone it switches to. Null for a deleted
 * site, and for a generation that is neither (an old one being deleted after a
 * switch): compaction drops such rows, which no report reads.
 */
export async function siteOf(ctx: QueryCtx, owner: RollupOwner): Promise<Doc<"sites"> | null> {
  const site = await ctx.db.get("sites", owner.siteId);
  if (!site || owner.generation === liveGeneration(site)) return site;
  const rebuild = await ctx.db
    .query("rebuilds")
    .withIndex("by_site", (q) => q.eq("siteId", owner.siteId).eq("generation", owner.generation))
    .unique();
  return rebuild?.status === "running" || rebuild?.status === "failed"
    ? { ...site, timezone: rebuild.timezone }
    : null;
}

/**
 * The closed-hour delta and staging documents of a generation (what compaction
 * has still to fold), counted up to `limit`: reports read these besides
 * canonical rows, at most MAX_DELTA_DOCS_PER_READ per range, so the writers
 * that can outpace compaction (a rebuild, a goal backfill) wait on this.
 */
export async function countUncompacted(
  ctx: QueryCtx,
  { siteId, generation }: RollupOwner,
  now: number,
  limit: number,
): Promise<number> {
  const deltas = await ctx.db
    .query("rollupDeltas")
    .withIndex("by_bucket", (q) =>
      q
        .eq("siteId", siteId)
        .eq("generation", generation)
        .eq("interval", "hour")
        .lt("bucketStart", now - HOUR),
    )
    .take(limit);
  const staged = await ctx.db
    .query("rollupStaging")
    .withIndex("by_dimension", (q) => q.eq("siteId", siteId).eq("generation", generation))
    .take(limit - deltas.length);
  return deltas.length + staged.length;
}
