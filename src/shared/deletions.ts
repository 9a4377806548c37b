// Deletions (src/component/deletions.ts): GDPR erasure of one person, and of a whole site.
import { v, type Infer, type ObjectType } from "convex/values";

/**
 * GDPR deletion of one person's data on one site: by the visitor id their events
 * carry, or by the user id the host identified them with (their events, and every
 * event and session of the visitor ids those events tie to it).
 */
export const vDeleteVisitorDataArgs = {
  siteId: v.string(),
  /** Exactly one of visitorId and userId. */
  visitorId: v.optional(v.string()),
  userId: v.optional(v.string()),
};
export type DeleteVisitorDataArgs = ObjectType<typeof vDeleteVisitorDataArgs>;
export const vDeletionIdArgs = { siteId: v.string(), deletionId: v.string() };
export const vDeletionKind = v.union(v.literal("visitor"), v.literal("site"));
export const vDeletionStatus = v.union(
  v.literal("running"),
  v.literal("done"),
  v.literal("failed"),
);
/**
 * A deletion job's progress (deleteVisitorData, deleteSite). `deleted` counts what
 * is gone so far: documents per table, and `events`, the raw events removed from
 * inside batches and dead letters.
 */
export const vDeletionProgress = v.object({
  deletionId: v.string(),
  siteId: v.string(),
  kind: vDeletionKind,
  status: vDeletionStatus,
  /** The step it is at: which table it is deleting from, or "waiting for the worker". */
  phase: v.string(),
  /** Waiting for the site's worker to count batches that hold the person's events (they are rewritten once counted). */
  waiting: v.boolean(),
  deleted: v.record(v.string(), v.number()),
  /** Bounded passes (transactions) run so far. */
  passes: v.number(),
  startedAt: v.number(),
  finishedAt: v.union(v.number(), v.null()),
  error: v.union(v.string(), v.null()),
});
export type DeletionProgress = Infer<typeof vDeletionProgress>;
