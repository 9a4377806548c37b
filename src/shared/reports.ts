// The reports' arguments and answers: overview, timeseries, breakdowns, property
// breakdowns, realtime and goals, each with its compared period.
import { v, type Infer, type ObjectType } from "convex/values";
import { vDimension, vGranularity } from "./dimensions.js";
import { vFilters } from "./filters.js";

/**
 * The period a report is compared with: the one just before it, of the same
 * length ("previous"); the same dates 364 days earlier, so weekdays line up
 * ("yearOverYear", as Pirsch does); or any range of your own.
 */
export const vCompare = v.union(
  v.literal("previous"),
  v.literal("yearOverYear"),
  v.object({ from: v.number(), to: v.number() }),
);
export type Compare = Infer<typeof vCompare>;
/** The compared period's range, as the report aligned it (epoch ms, `to` exclusive). */
const vComparedRange = { from: v.number(), to: v.number() };

/**
 * A filtered report's progress, present only when filters were given: `complete`
 * once every raw event of the range is in it (rollup-answered filters: always, with
 * `scannedEvents` 0); `stale` when the site has processed events since the scan
 * began (startFilterScan brings it up to date); `error` why a scan stopped short.
 */
const filterProgressFields = {
  complete: v.optional(v.boolean()),
  scannedEvents: v.optional(v.number()),
  stale: v.optional(v.boolean()),
  error: v.optional(v.union(v.string(), v.null())),
};

const overviewFields = {
  visitors: v.number(),
  pageviews: v.number(),
  sessions: v.number(),
  bounceRate: v.union(v.number(), v.null()),
  avgSessionDurationMs: v.union(v.number(), v.null()),
  viewsPerSession: v.union(v.number(), v.null()),
  events: v.number(),
};
/** `comparison`: the same numbers over the compared period, when `compare` was given. */
export const vOverview = v.object({
  ...overviewFields,
  comparison: v.optional(v.object({ ...vComparedRange, ...overviewFields })),
  ...filterProgressFields,
});
export type Overview = Infer<typeof vOverview>;

export const vTimeseriesPoint = v.object({
  bucketStart: v.number(),
  visitors: v.number(),
  pageviews: v.number(),
  sessions: v.number(),
  events: v.number(),
  bounceRate: v.union(v.number(), v.null()),
  avgSessionDurationMs: v.union(v.number(), v.null()),
});
/**
 * `comparison.points[i]` is compared with `points[i]`: the compared period cut
 * at the same granularity, as many points as it has (at most as many as `points`).
 */
export const vTimeseries = v.object({
  granularity: vGranularity,
  points: v.array(vTimeseriesPoint),
  comparison: v.optional(v.object({ ...vComparedRange, points: v.array(vTimeseriesPoint) })),
  ...filterProgressFields,
});
export type Timeseries = Infer<typeof vTimeseries>;

export const vBreakdownRow = v.object({
  key: v.string(),
  visitors: v.number(),
  pageviews: v.number(),
  events: v.number(),
  entries: v.number(),
  bounceRate: v.union(v.number(), v.null()),
});
/** `comparison.rows[i]` is `rows[i]`'s key over the compared period (zeros where it was not seen). */
export const vBreakdown = v.object({
  rows: v.array(vBreakdownRow),
  comparison: v.optional(v.object({ ...vComparedRange, rows: v.array(vBreakdownRow) })),
  ...filterProgressFields,
});
export type Breakdown = Infer<typeof vBreakdown>;

export const vRange = { siteId: v.string(), from: v.number(), to: v.number() };
export const vOverviewArgs = {
  ...vRange,
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
export const vTimeseriesArgs = {
  ...vRange,
  granularity: v.optional(vGranularity),
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
export const vBreakdownArgs = {
  ...vRange,
  dimension: vDimension,
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
/**
 * startFilterScan: the filtered report's own arguments, and which report they are for
 * (`dimension` is the breakdown's, `granularity` the timeseries'; one scan serves every `limit`).
 */
export const vStartFilterScanArgs = {
  report: v.union(v.literal("overview"), v.literal("timeseries"), v.literal("breakdown")),
  ...vRange,
  filters: v.optional(vFilters),
  granularity: v.optional(vGranularity),
  dimension: v.optional(vDimension),
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
};
export type StartFilterScanArgs = ObjectType<typeof vStartFilterScanArgs>;
export type RangeArgs = ObjectType<typeof vRange>;
export type OverviewArgs = ObjectType<typeof vOverviewArgs>;
export type TimeseriesArgs = ObjectType<typeof vTimeseriesArgs>;
export type BreakdownArgs = ObjectType<typeof vBreakdownArgs>;

/**
 * A property's values for one event name (`getPropertyBreakdown`), from the
 * `prop` rollups: each row's `key` is the value. Values beyond a bucket's
 * per-(event, property) cap are counted under "(other)".
 */
export const vPropertyBreakdownArgs = {
  ...vRange,
  event: v.string(),
  property: v.string(),
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
};
export type PropertyBreakdownArgs = ObjectType<typeof vPropertyBreakdownArgs>;

/** `now`: epoch ms, rounded to the minute by the caller so the query's cache is shared. */
export const vRealtimeArgs = { siteId: v.string(), now: v.number() };
const vRealtimeRow = v.object({ key: v.string(), visitors: v.number(), pageviews: v.number() });
/**
 * The live view at `now` (rounded up to the minute): `visitors` are the current
 * visitors, those seen in the 5 minutes before it (Plausible's definition); the
 * rest covers the 30 minutes before it.
 */
export const vRealtime = v.object({
  visitors: v.number(),
  pageviews: v.number(),
  events: v.number(),
  /** The 30 minutes, oldest first, each with its pageviews and visitors (zero-filled). */
  minutes: v.array(
    v.object({ minuteStart: v.number(), pageviews: v.number(), visitors: v.number() }),
  ),
  /** The top 10 pages by visitors, then pageviews. */
  topPages: v.array(vRealtimeRow),
  /** The top 10 referrer domains (the `referrer` dimension's keys) by visitors, then pageviews. */
  topSources: v.array(vRealtimeRow),
});
export type Realtime = Infer<typeof vRealtime>;

export const vGoalsArgs = { ...vRange, compare: v.optional(vCompare) };
export type GoalsArgs = ObjectType<typeof vGoalsArgs>;
const goalMetrics = {
  goalId: v.string(),
  /** Events that matched the goal. */
  conversions: v.number(),
  /** Visitors with at least one conversion. */
  converters: v.number(),
  /** converters / the range's visitors (null when it had none). */
  conversionRate: v.union(v.number(), v.null()),
  /** The revenue property's sum over the conversions, or null for a goal without revenue. */
  revenue: v.union(v.number(), v.null()),
};
/**
 * Per goal (in creation order) over the range. `backfilling`: the goal's counts
 * of events received before it was created are not all in yet. `comparison`:
 * the same goals over the compared period, when `compare` was given.
 */
export const vGoalsReport = v.object({
  visitors: v.number(),
  goals: v.array(
    v.object({
      ...goalMetrics,
      name: v.string(),
      currency: v.union(v.string(), v.null()),
      backfilling: v.boolean(),
    }),
  ),
  comparison: v.optional(
    v.object({ ...vComparedRange, visitors: v.number(), goals: v.array(v.object(goalMetrics)) }),
  ),
});
export type GoalsReport = Infer<typeof vGoalsReport>;
