// The read facade (exposeAnalyticsApi): the report queries a dashboard calls, each
// guarded by the host's auth callback, then one component call.
import { mutationGeneric, queryGeneric } from "convex/server";
import { v } from "convex/values";
import {
  vBreakdown,
  vBreakdownArgs,
  vEventPage,
  vExportIdArgs,
  vExportProgress,
  vFunnel,
  vFunnelArgs,
  vGoalsArgs,
  vGoalsReport,
  vListEventsArgs,
  vListSessionsArgs,
  vOverview,
  vOverviewArgs,
  vPropertyBreakdownArgs,
  vRealtime,
  vRealtimeArgs,
  vSessionPage,
  vStartExportArgs,
  vStartFilterScanArgs,
  vTimeseries,
  vTimeseriesArgs,
} from "../shared.js";
import type { ComponentApi } from "../component/_generated/component.js";
import type { AuthCallback } from "./auth.js";

/**
 * The read API: report queries for dashboards, each guarded by `auth`.
 *
 * Ranges are `from`/`to` in epoch ms; `from` is rounded down and `to` up to whole
 * hours (whole minutes for minute granularity). A range over 400 days, an
 * inverted range or an unknown site is an error.
 *
 * @example
 * ```ts
 * // convex/analytics.ts
 * export const { getOverview, getTimeseries, getBreakdown, getRealtime } =
 *   exposeAnalyticsApi(components.analytics, {
 *     auth: async (ctx) => {
 *       if (!(await ctx.auth.getUserIdentity())) throw new Error("Not signed in");
 *     },
 *   });
 * ```
 */
export function exposeAnalyticsApi(component: ComponentApi, options: { auth: AuthCallback }) {
  const { auth } = options;
  return {
    /**
     * Visitors, pageviews, sessions, bounce rate, average session duration, views per session, events.
     *
     * Every report takes `compare`: `"previous"` (the period just before, of the
     * same length; the same number of local days for a range of whole days),
     * `"yearOverYear"` (364 days back, so weekdays line up) or `{ from, to }`.
     * The result then holds `comparison`: the same report over that period, with
     * the period's aligned `from` and `to`. It reads about as much again.
     *
     * Overview, timeseries and breakdown take `filters` (up to 10, combined with
     * AND): `[{ dimension, op: "is" | "isNot" | "contains", value }]`. One `is`
     * filter on a session dimension, entryPage, page, hostname or event is read
     * from its rollup row; anything else is answered from the raw-event scan
     * {@link startFilterScan} runs. A filtered result says `complete` and
     * `scannedEvents` (and `stale`, `error`). See README "Filters" for what each
     * metric means under a filter.
     *
     * @example
     * ```ts
     * const { visitors, comparison } = await ctx.runQuery(api.analytics.getOverview, {
     *   siteId, from, to, compare: "previous",
     * });
     * const change = comparison && comparison.visitors > 0 ? visitors / comparison.visitors - 1 : null;
     * ```
     */
    getOverview: queryGeneric({
      args: vOverviewArgs,
      returns: vOverview,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getOverview", siteId: args.siteId });
        return await ctx.runQuery(component.reports.getOverview, args);
      },
    }),
    /**
     * Zero-filled points; granularity is picked from the range's length when omitted.
     * With `compare`, `comparison.points[i]` goes with `points[i]`: the compared
     * period at the same granularity (at most as many points).
     */
    getTimeseries: queryGeneric({
      args: vTimeseriesArgs,
      returns: vTimeseries,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getTimeseries", siteId: args.siteId });
        return await ctx.runQuery(component.reports.getTimeseries, args);
      },
    }),
    /**
     * The exact top `limit` (default 10) keys of a dimension, by visitors then pageviews.
     * With `compare`, `comparison.rows[i]` is `rows[i]`'s key over the compared
     * period (zeros where it was not seen).
     */
    getBreakdown: queryGeneric({
      args: vBreakdownArgs,
      returns: vBreakdown,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getBreakdown", siteId: args.siteId });
        return await ctx.runQuery(component.reports.getBreakdown, args);
      },
    }),
    /**
     * One event's values of one property, e.g. the `plan` of `signup` events:
     * rows keyed by the value, ranked like {@link getBreakdown} and read from
     * rollups (never raw events). Each (event, property) has its own share of a
     * bucket's cardinality cap; values past it count under "(other)". Takes `compare`.
     *
     * @example
     * ```ts
     * const { rows } = await ctx.runQuery(api.analytics.getPropertyBreakdown, {
     *   siteId, from, to, event: "signup", property: "plan",
     * });
     * ```
     */
    getPropertyBreakdown: queryGeneric({
      args: vPropertyBreakdownArgs,
      returns: vBreakdown,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getPropertyBreakdown", siteId: args.siteId });
        return await ctx.runQuery(component.reports.getPropertyBreakdown, args);
      },
    }),
    /**
     * The live view: `visitors` seen in the 5 minutes before `now` (current
     * visitors, as Plausible counts them), and for the 30 minutes before it the
     * pageviews and events, each minute's pageviews and visitors, and the top 10
     * pages and referrer domains. Pass `now` rounded to the minute and advance
     * it on a timer: the result depends only on `now` and the data, so the
     * subscription moves on a quiet site and its cache is shared. Reads the
     * minute rollups of at most two hours.
     */
    getRealtime: queryGeneric({
      args: vRealtimeArgs,
      returns: vRealtime,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getRealtime", siteId: args.siteId });
        return await ctx.runQuery(component.reports.getRealtime, args);
      },
    }),
    /**
     * The site's stored events, newest received first: each as ingest stored it
     * (the cookieless visitor id is the salted hash, never an IP) plus
     * `receivedAt`. Events not yet counted by the worker are included.
     * Filters (`eventName`, `visitorId`, `userId`, `pathPrefix`) combine with
     * AND; each is a bounded scan, so a rarely matching filter can return a
     * short or empty page that is not done: keep loading. A page reads at most
     * 2 MiB and 1,000 batches and returns at most 500 rows.
     *
     * Works with `usePaginatedQuery`; for a live list whose pages never shift,
     * use convex-helpers' `usePaginatedQuery` (convex-helpers/react/cache),
     * which pins each page's end with `endCursor`.
     *
     * @example
     * ```ts
     * const { results, loadMore } = usePaginatedQuery(
     *   api.analytics.listEvents,
     *   { siteId, eventName: "signup" },
     *   { initialNumItems: 50 },
     * );
     * ```
     */
    listEvents: queryGeneric({
      args: vListEventsArgs,
      returns: vEventPage,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "listEvents", siteId: args.siteId });
        return await ctx.runQuery(component.listings.listEvents, args);
      },
    }),
    /**
     * The site's sessions, newest started first. `visitorId` is served by an
     * index; `pathPrefix` (matched against the entry page) by a bounded scan
     * of at most 1,000 sessions a page. Paginated like {@link listEvents}.
     */
    listSessions: queryGeneric({
      args: vListSessionsArgs,
      returns: vSessionPage,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "listSessions", siteId: args.siteId });
        return await ctx.runQuery(component.listings.listSessions, args);
      },
    }),
    /**
     * Starts a CSV export (RFC 4180, UTF-8, a header row) into Convex file
     * storage: `kind` "events" (by occurredAt in [from, to)), "sessions" (by
     * startedAt) or "report" (with `report`: a breakdown or a timeseries). It
     * runs in the background in bounded steps; watch it with {@link getExport}.
     * The file is deleted `expiresInMs` after it is done (default 24 hours).
     *
     * @example
     * ```ts
     * const { exportId } = await startExport({ siteId, kind: "events", from, to });
     * // later, reactively: useQuery(api.analytics.getExport, { siteId, exportId })?.url
     * ```
     */
    startExport: mutationGeneric({
      args: vStartExportArgs,
      returns: v.object({ exportId: v.string() }),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "startExport", siteId: args.siteId });
        return await ctx.runMutation(component.exports.startExport, args);
      },
    }),
    /** An export's progress: `rowsWritten`, `done`, `error`, and the download `url` once done. */
    getExport: queryGeneric({
      args: vExportIdArgs,
      returns: vExportProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getExport", siteId: args.siteId });
        return await ctx.runQuery(component.exports.getExport, args);
      },
    }),
    /**
     * A funnel: visitors per step, conversion from the first step and drop-off
     * from the step before, from the cached raw-event scan of these arguments.
     * Up to 8 steps, each a pageview path pattern (`{ path: "/blog/**" }`; `*` is
     * one segment, `**` any number) or a track event (`{ event, props? }`).
     * `mode` "sequential" (default) allows other events between steps; "strict"
     * allows none of the visitor's pageviews or track events between them.
     * `windowMs` bounds the time from the first step to the last (default: the
     * whole range). The range aligns to whole hours, as every report's does.
     *
     * Until {@link startFunnel} has scanned the range, `complete` is false and
     * the counts are partial (a subset of visitors, exact for them); `stale`
     * says events were processed since the scan began.
     *
     * @example
     * ```ts
     * const args = { siteId, from, to, steps: [{ path: "/pricing" }, { event: "signup" }] };
     * const start = useMutation(api.analytics.startFunnel);
     * const funnel = useQuery(api.analytics.getFunnel, args);
     * useEffect(() => void start(args), [funnel?.stale]);
     * ```
     */
    getFunnel: queryGeneric({
      args: vFunnelArgs,
      returns: vFunnel,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getFunnel", siteId: args.siteId });
        return await ctx.runQuery(component.funnels.getFunnel, args);
      },
    }),
    /**
     * Starts the scan that {@link getFunnel} shows, or resumes it after a
     * failure; cheap when it is running or done for the site's current data.
     */
    startFunnel: mutationGeneric({
      args: vFunnelArgs,
      returns: v.object({ scanId: v.string() }),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "startFunnel", siteId: args.siteId });
        return await ctx.runMutation(component.funnels.startFunnel, args);
      },
    }),
    /**
     * Starts the raw-event scan a filtered {@link getOverview}, {@link getTimeseries}
     * or {@link getBreakdown} shows (the same arguments, and `report` naming which),
     * or resumes it after a failure; `{ scanId: null }` when the filters need none
     * (no filters, or one `is` filter a rollup row answers). Until the scan is done
     * the report says `complete: false` and counts a subset of visitors, exact for
     * them; `stale` says events were processed since it began. See README "Filters".
     *
     * @example
     * ```ts
     * const args = { siteId, from, to, filters: [{ dimension: "country", op: "is", value: "DE" },
     *   { dimension: "page", op: "contains", value: "/blog" }] };
     * const start = useMutation(api.analytics.startFilterScan);
     * const overview = useQuery(api.analytics.getOverview, args);
     * useEffect(() => void start({ report: "overview", ...args }), [overview?.stale]);
     * ```
     */
    startFilterScan: mutationGeneric({
      args: vStartFilterScanArgs,
      returns: v.object({ scanId: v.union(v.string(), v.null()) }),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "startFilterScan", siteId: args.siteId });
        return await ctx.runMutation(component.filters.startFilterScan, args);
      },
    }),
    /**
     * Every goal of the site over the range: `conversions` (matching events),
     * `converters` (visitors with one), `conversionRate` (converters over the
     * range's visitors) and `revenue` (its property's sum, in the goal's
     * `currency`; null without revenue). From rollups, like any breakdown.
     * `backfilling`: a new goal's counts of earlier events are still being
     * added. `compare` gives the same goals over the compared period.
     *
     * @example
     * ```ts
     * const report = useQuery(api.analytics.getGoals, { siteId, from, to, compare: "previous" });
     * const rows = report?.goals.map((g) => [g.name, g.converters, g.conversionRate]);
     * ```
     */
    getGoals: queryGeneric({
      args: vGoalsArgs,
      returns: vGoalsReport,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getGoals", siteId: args.siteId });
        return await ctx.runQuery(component.goals.getGoals, args);
      },
    }),
  };
}
