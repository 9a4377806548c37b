// Who may call a facade: the host's auth callback, which every facade call runs first.
import type { GenericDataModel, GenericQueryCtx } from "convex/server";

/** What a facade call is about to do, for the host's auth callback. */
export type AnalyticsOperation =
  | "getOverview"
  | "getTimeseries"
  | "getBreakdown"
  | "getPropertyBreakdown"
  | "getRealtime"
  | "listEvents"
  | "listSessions"
  | "startExport"
  | "getExport"
  | "getFunnel"
  | "startFunnel"
  | "startFilterScan"
  | "getGoals"
  | "createSite"
  | "getSite"
  | "getSiteBySlug"
  | "listSites"
  | "updateSite"
  | "rotateWriteKey"
  | "listDeadLetters"
  | "retryDeadLetter"
  | "discardDeadLetter"
  | "getBotCounts"
  | "createReadKey"
  | "listReadKeys"
  | "revokeReadKey"
  | "deleteVisitorData"
  | "deleteSite"
  | "getDeletion"
  | "rebuildRollups"
  | "cancelRebuild"
  | "getRebuild"
  | "createGoal"
  | "listGoals"
  | "deleteGoal";

/**
 * Decides whether the caller may run `operation` (on `siteId`, when there is one).
 * Throw to refuse. It runs before every facade call; the ctx is a query ctx for
 * reads and a mutation ctx for writes.
 *
 * Every operation on one site passes its `siteId` (`getSiteBySlug` and
 * `createSite` pass the `slug`), so a host can authorise per site. `listSites`
 * calls it once without a site (may this caller list sites at all?), then once
 * per site as `{ operation: "getSite", siteId }`, and returns only the sites
 * that check lets through: a caller lists exactly the sites it could read.
 */
export type AuthCallback = (
  ctx: GenericQueryCtx<GenericDataModel>,
  request: { operation: AnalyticsOperation; siteId?: string; slug?: string },
) => Promise<void>;
