// Compaction folds the packed delta shards into canonical rows (and the hourly
// totals BTree) and deletes them. It is the only writer of canonical rows and of
// the BTree, so neither is ever contended. An action drives bounded mutations;
// each folds one (site, interval, bucket) group atomically, so a fold that fails
// or races a worker is retried whole and nothing is counted twice.
import { v } from "convex/values";
import { internalAction, internalMutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { Dimension, Interval } from "../shared.js";
import { DimensionRows, RowMap, capRows, isZero, paginateRows, type Row } from "./rows.js";
import { TOTAL_KEY } from "./sessions.js";
import { estimate } from "./sketch.js";
import { monthStart } from "./time.js";
import { writeHourTotals } from "./totals.js";

export const DEFAULT_CARDINALITY_CAP = 2_000;
/** Shard documents folded per step, and steps per action run. */
const MAX_SHARDS_PER_STEP = 16;
const MAX_STEPS_PER_RUN = 200;
/** Canonical rows are split into pages of about this size. */
const MAX_PAGE_BYTES = 256 * 1024;
/** (cap x largest row) / page size, with room to spare: the most pages one (bucket, dimension) can have. */
const MAX_PAGES = 256;

/** Merges `delta` into the canonical pages of one (bucket, dimension); returns the merged rows. */
async function foldIntoCanonical(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  interval: Interval,
  bucketStart: number,
  dimension: Dimension,
  delta: Row[],
  cap: number,
): Promise<RowMap> {
  const pages = await ctx.db
    .query("rollups")
    .withIndex("by_bucket", (q) => q.eq("siteId", siteId).eq("interval", interval).eq("bucketStart", bucketStart).eq("dimension", dimension))
    .take(MAX_PAGES);
  const merged = new RowMap();
  for (const page of pages) merged.addAll(page.rows);
  merged.addAll(delta);
  const rows = capRows(merged.values().filter((r) => !isZero(r)), cap, estimate);
  const newPages = paginateRows(rows, MAX_PAGE_BYTES);
  for (const [page, pageRows] of newPages.entries()) {
    const existing = pages[page];
    if (existing) await ctx.db.patch("rollups", existing._id, { rows: pageRows });
    else await ctx.db.insert("rollups", { siteId, interval, bucketStart, dimension, page, rows: pageRows });
  }
  for (const stale of pages.slice(newPages.length)) await ctx.db.delete("rollups", stale._id);
  return merged;
}

export async function compactStepHandler(ctx: MutationCtx): Promise<{ folded: number }> {
  const oldest = await ctx.db.query("rollupShards").order("asc").first();
  if (!oldest) return { folded: 0 };
  const { siteId, interval, bucketStart } = oldest;
  const group = await ctx.db
    .query("rollupShards")
    .withIndex("by_bucket", (q) => q.eq("siteId", siteId).eq("interval", interval).eq("bucketStart", bucketStart))
    .take(MAX_SHARDS_PER_STEP);
  const site = await ctx.db.get("sites", siteId);
  if (site) {
    const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
    const delta = new DimensionRows();
    for (const doc of group) delta.addDeltaRows(doc.rows);
    // Months are folded from the days, so long ranges read a handful of rows.
    const targets: [Interval, number][] = [[interval, bucketStart]];
    if (interval === "day") targets.push(["month", monthStart(bucketStart, site.timezone)]);
    for (const [targetInterval, targetStart] of targets) {
      for (const [dimension, rows] of delta.byDimension) {
        const merged = await foldIntoCanonical(ctx, siteId, targetInterval, targetStart, dimension, rows.values(), cap);
        if (targetInterval === "hour" && dimension === "total") await writeHourTotals(ctx, siteId, targetStart, merged.get(TOTAL_KEY));
      }
    }
  }
  for (const doc of group) await ctx.db.delete("rollupShards", doc._id);
  return { folded: group.length };
}

export const compactStep = internalMutation({
  args: {},
  returns: v.object({ folded: v.number() }),
  handler: compactStepHandler,
});

/** Folds every shard there is, in bounded steps; reschedules itself if there is more than one run's worth. */
export const compact = internalAction({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    for (let step = 0; step < MAX_STEPS_PER_RUN; step++) {
      const { folded } = await ctx.runMutation(internal.compaction.compactStep, {});
      if (folded === 0) return null;
    }
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return null;
  },
});
