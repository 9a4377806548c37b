// Rollup rebuilds (src/component/rebuilds.ts): arguments and progress.
import { v, type Infer, type ObjectType } from "convex/values";

/**
 * A rollup rebuild's phases: "running" (recomputing from raw events behind the
 * live worker), "cleaning" (switched; deleting the old rollups), "done", or
 * "failed" (a step threw too often; rebuildRollups resumes it). A rebuild
 * cancelled before its switch (cancelRebuild) goes "cancelling" (deleting its
 * own rollups), then "cancelled".
 */
export const vRebuildStatus = v.union(
  v.literal("running"),
  v.literal("cleaning"),
  v.literal("done"),
  v.literal("failed"),
  v.literal("cancelling"),
  v.literal("cancelled"),
);
/**
 * `timezone`: the IANA zone the rebuilt rollups are cut by, and the site's from the switch on. Default: the site's.
 * `from` / `to` (ms, `to` exclusive): a partial rebuild, widened to whole local months; the months
 * outside are kept as they are (README, "Rebuilding rollups"). `to` needs `from`; a partial rebuild keeps the timezone.
 */
export const vRebuildArgs = {
  siteId: v.string(),
  timezone: v.optional(v.string()),
  from: v.optional(v.number()),
  to: v.optional(v.number()),
};
/** A span of rollup buckets, [from, to). */
export const vBucketSpan = v.object({ from: v.number(), to: v.number() });
export type BucketSpan = Infer<typeof vBucketSpan>;
export type RebuildArgs = ObjectType<typeof vRebuildArgs>;
export const vRebuildIdArgs = { siteId: v.string(), rebuildId: v.string() };
export const vRebuildProgress = v.object({
  rebuildId: v.string(),
  siteId: v.string(),
  status: vRebuildStatus,
  timezone: v.string(),
  /** A partial rebuild's range, widened to whole local months (`to` null: onwards), or null for a full one. */
  from: v.union(v.number(), v.null()),
  to: v.union(v.number(), v.null()),
  /** The months copied from the live rollups as they are (empty for a full rebuild). */
  kept: v.array(vBucketSpan),
  /** Rollup pages copied into the new rollups so far. */
  copied: v.number(),
  /** Raw batches and events recomputed so far. */
  batches: v.number(),
  events: v.number(),
  steps: v.number(),
  /** Rollup documents deleted after the switch (the old ones) or after a cancel (the rebuild's own). */
  deleted: v.number(),
  /** The last step's error, or null. */
  error: v.union(v.string(), v.null()),
  startedAt: v.number(),
  /** When reports moved to the rebuilt rollups, or null while the old ones serve. */
  switchedAt: v.union(v.number(), v.null()),
  finishedAt: v.union(v.number(), v.null()),
});
export type RebuildProgress = Infer<typeof vRebuildProgress>;
