// The stats HTTP API and the health check (src/client/statsRoutes.ts): requests and outcomes.
import { v, type Infer } from "convex/values";
import {
  vBreakdown,
  vBreakdownArgs,
  vGoalsArgs,
  vGoalsReport,
  vOverview,
  vOverviewArgs,
  vPropertyBreakdownArgs,
  vRealtime,
  vRealtimeArgs,
  vTimeseries,
  vTimeseriesArgs,
} from "./reports.js";

/** The reports the stats HTTP API serves, each with its facade's arguments. */
export const vStatsRequest = v.union(
  v.object({ report: v.literal("overview"), args: v.object(vOverviewArgs) }),
  v.object({ report: v.literal("timeseries"), args: v.object(vTimeseriesArgs) }),
  v.object({ report: v.literal("breakdown"), args: v.object(vBreakdownArgs) }),
  v.object({ report: v.literal("realtime"), args: v.object(vRealtimeArgs) }),
  v.object({ report: v.literal("propertyBreakdown"), args: v.object(vPropertyBreakdownArgs) }),
  v.object({ report: v.literal("goals"), args: v.object(vGoalsArgs) }),
);
export type StatsRequest = Infer<typeof vStatsRequest>;
export const vStatsOutcome = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("wrong_site") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("invalid_parameter"), message: v.string() }),
  v.object({ status: v.literal("unavailable"), message: v.string() }),
  v.object({
    status: v.literal("ok"),
    body: v.union(vOverview, vTimeseries, vBreakdown, vRealtime, vGoalsReport),
  }),
);
export type StatsOutcome = Infer<typeof vStatsOutcome>;

/** `GET {prefix}/health` with a read key: the key's own site's backlog, same meanings as the global counts. */
export const vSiteHealth = v.object({
  siteId: v.string(),
  pendingBatches: v.number(),
  oldestPendingAgeMs: v.number(),
  deadLetters: v.number(),
  uncompactedShards: v.number(),
  /** Whether this site's counts stopped at their caps or the read budget. */
  partial: v.boolean(),
});
export type SiteHealth = Infer<typeof vSiteHealth>;

/**
 * `GET {prefix}/health`: the pipeline's backlog, with no per-site data and no
 * secrets; `site` only when asked with that site's read key.
 */
export const vHealth = v.object({
  /** "ok", or "behind" when a threshold is passed (the route then answers 503). */
  status: v.union(v.literal("ok"), v.literal("behind")),
  /** Batches received but not yet counted by the worker (capped: see `partial`). */
  pendingBatches: v.number(),
  /** How long the oldest of them has waited, 0 when none. */
  oldestPendingAgeMs: v.number(),
  /** Batches the worker gave up on (capped: see `partial`). */
  deadLetters: v.number(),
  /** Rollup documents compaction should already have folded: hours closed over an hour ago, and staging. */
  uncompactedShards: v.number(),
  /** When compaction last wrote a canonical page or held its lock, or null if never. */
  lastCompactionAt: v.union(v.number(), v.null()),
  /** Whether the counts stopped at their caps or the read budget, so they are lower bounds. */
  partial: v.boolean(),
  /** Why the status is "behind", one sentence each. */
  reasons: v.array(v.string()),
  /** The read key's site, when the request carried one. */
  site: v.optional(vSiteHealth),
});
export type Health = Infer<typeof vHealth>;
/** The health check with a read key: the key's admission, then the health with its site. */
export const vHealthOutcome = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("wrong_site") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("ok"), health: vHealth }),
);
export type HealthOutcome = Infer<typeof vHealthOutcome>;
