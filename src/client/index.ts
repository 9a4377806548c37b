// What a host app imports. Nothing in the component is callable from a browser:
// hosts re-export the facades below, which run the host's auth callback first.
import {
  internalMutationGeneric,
  mutationGeneric,
  queryGeneric,
  type Crons,
  type FunctionReference,
  type GenericDataModel,
  type GenericMutationCtx,
  type GenericQueryCtx,
} from "convex/server";
import { v } from "convex/values";
import {
  vBotCounts,
  vBotCountsArgs,
  vBreakdown,
  vBreakdownArgs,
  vCreatedReadKey,
  vCreatedSite,
  vCreateReadKeyArgs,
  vCreateSiteArgs,
  vDeadLetter,
  vDeadLettersArgs,
  vEventPage,
  vExportIdArgs,
  vExportProgress,
  vFunnel,
  vFunnelArgs,
  vStartFilterScanArgs,
  vCreateGoalArgs,
  vGoalIdArgs,
  vGoalInfo,
  vGoalsArgs,
  vGoalsReport,
  vListEventsArgs,
  vListSessionsArgs,
  vDeadLetterArgs,
  vDeadLetterOutcome,
  vDeleteVisitorDataArgs,
  vDeletionIdArgs,
  vDeletionProgress,
  vOverview,
  vOverviewArgs,
  vPropertyBreakdownArgs,
  vRealtime,
  vRealtimeArgs,
  vReadKeyIdArgs,
  vReadKeyInfo,
  vRotatedKey,
  vSite,
  vRebuildArgs,
  vRebuildIdArgs,
  vRebuildProgress,
  vSiteIdArgs,
  vSessionPage,
  vStartExportArgs,
  vSlugArgs,
  vTimeseries,
  vTimeseriesArgs,
  vUpdateSiteArgs,
  type IngestResult,
} from "../shared.js";
import type { ComponentApi } from "../component/_generated/component.js";

export { registerRoutes, type RouteOptions } from "./http.js";
export type { ComponentApi };
export * from "../shared.js";

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

/**
 * The admin API: sites, write keys and dead letters, each guarded by `auth`.
 * Write keys are returned only by createSite and rotateWriteKey, once; the
 * component keeps only their SHA-256 hash.
 *
 * @example
 * ```ts
 * export const { createSite, rotateWriteKey, listSites } = exposeAdminApi(components.analytics, {
 *   auth: async (ctx) => { await requireAdmin(ctx); },
 * });
 * ```
 */
export function exposeAdminApi(component: ComponentApi, options: { auth: AuthCallback }) {
  const { auth } = options;
  return {
    createSite: mutationGeneric({
      args: vCreateSiteArgs,
      returns: vCreatedSite,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "createSite", slug: args.slug });
        return await ctx.runMutation(component.sites.createSite, args);
      },
    }),
    getSite: queryGeneric({
      args: vSiteIdArgs,
      returns: v.union(vSite, v.null()),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getSite", siteId: args.siteId });
        return await ctx.runQuery(component.sites.getSite, args);
      },
    }),
    getSiteBySlug: queryGeneric({
      args: vSlugArgs,
      returns: v.union(vSite, v.null()),
      handler: async (ctx, args) => {
        // Authorised before the lookup, so a refused caller cannot learn which slugs exist.
        await auth(ctx, { operation: "getSiteBySlug", slug: args.slug });
        return await ctx.runQuery(component.sites.getSiteBySlug, args);
      },
    }),
    listSites: queryGeneric({
      args: {},
      returns: v.array(vSite),
      handler: async (ctx) => {
        await auth(ctx, { operation: "listSites" });
        const sites = await ctx.runQuery(component.sites.listSites, {});
        const visible = [];
        for (const site of sites) {
          try {
            await auth(ctx, { operation: "getSite", siteId: site._id });
            visible.push(site);
          } catch {
            // Refused for this site: it is left out, as getSite would refuse it.
          }
        }
        return visible;
      },
    }),
    updateSite: mutationGeneric({
      args: vUpdateSiteArgs,
      returns: vSite,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "updateSite", siteId: args.siteId });
        return await ctx.runMutation(component.sites.updateSite, args);
      },
    }),
    rotateWriteKey: mutationGeneric({
      args: vSiteIdArgs,
      returns: vRotatedKey,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "rotateWriteKey", siteId: args.siteId });
        return await ctx.runMutation(component.sites.rotateWriteKey, args);
      },
    }),
    /** Bots dropped at ingest per UTC day, for the last `days` days (at most 90). */
    getBotCounts: queryGeneric({
      args: vBotCountsArgs,
      returns: vBotCounts,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getBotCounts", siteId: args.siteId });
        return await ctx.runQuery(component.bots.getBotCounts, args);
      },
    }),
    listDeadLetters: queryGeneric({
      args: vDeadLettersArgs,
      returns: v.array(vDeadLetter),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "listDeadLetters", siteId: args.siteId });
        return await ctx.runQuery(component.sites.listDeadLetters, args);
      },
    }),
    /**
     * Creates a read key (`rk_…`) for the stats HTTP API of one site. The key is
     * returned only here; the component keeps its SHA-256 hash. At most 50 per site.
     */
    createReadKey: mutationGeneric({
      args: vCreateReadKeyArgs,
      returns: vCreatedReadKey,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "createReadKey", siteId: args.siteId });
        return await ctx.runMutation(component.readKeys.createReadKey, args);
      },
    }),
    /**
     * Creates a goal (at most 50 a site): a pageview path pattern
     * (`{ path: "/blog/**" }`) or a track event with optional props
     * (`{ event: "signup", props: { plan: "pro" } }`), with optional revenue from
     * a numeric property (`{ property: "amount", currency: "EUR" }`). Counted from
     * now on; events already received are backfilled from the raw events still
     * kept (getGoals says `backfilling` meanwhile). Refused while a rollup rebuild runs.
     *
     * @example
     * ```ts
     * await createGoal({ siteId, name: "Purchase", match: { event: "purchase" },
     *   revenue: { property: "amount", currency: "EUR" } });
     * ```
     */
    createGoal: mutationGeneric({
      args: vCreateGoalArgs,
      returns: v.object({ goalId: v.string() }),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "createGoal", siteId: args.siteId });
        return await ctx.runMutation(component.goals.createGoal, args);
      },
    }),
    /** The site's goals in creation order, each with whether its backfill is still running. */
    listGoals: queryGeneric({
      args: vSiteIdArgs,
      returns: v.array(vGoalInfo),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "listGoals", siteId: args.siteId });
        return await ctx.runQuery(component.goals.listGoals, args);
      },
    }),
    /** Deletes one of the site's goals (reports stop showing it); false if the site has no such goal. */
    deleteGoal: mutationGeneric({
      args: vGoalIdArgs,
      returns: v.boolean(),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "deleteGoal", siteId: args.siteId });
        return await ctx.runMutation(component.goals.deleteGoal, args);
      },
    }),
    /** The site's read keys: id, name, creation time and first characters, never the key or its hash. */
    listReadKeys: queryGeneric({
      args: vSiteIdArgs,
      returns: v.array(vReadKeyInfo),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "listReadKeys", siteId: args.siteId });
        return await ctx.runQuery(component.readKeys.listReadKeys, args);
      },
    }),
    /** Revokes one of the site's read keys (its next request gets 401); false if the site has no such key. */
    revokeReadKey: mutationGeneric({
      args: vReadKeyIdArgs,
      returns: v.boolean(),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "revokeReadKey", siteId: args.siteId });
        return await ctx.runMutation(component.readKeys.revokeReadKey, args);
      },
    }),
    /**
     * Queues a dead letter's events again under its batch id (after a fix); it is counted once.
     * Returns `{ batchId, events }`, or null if it was already retried or discarded.
     */
    retryDeadLetter: mutationGeneric({
      args: vDeadLetterArgs,
      returns: vDeadLetterOutcome,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "retryDeadLetter", siteId: args.siteId });
        return await ctx.runMutation(component.deadLetters.retryDeadLetter, args);
      },
    }),
    /** Deletes a dead letter and its events. Returns `{ batchId, events }`, or null if already gone. */
    discardDeadLetter: mutationGeneric({
      args: vDeadLetterArgs,
      returns: vDeadLetterOutcome,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "discardDeadLetter", siteId: args.siteId });
        return await ctx.runMutation(component.deadLetters.discardDeadLetter, args);
      },
    }),
    /**
     * GDPR erasure: deletes one person's raw events (inside batches and dead
     * letters), sessions and identity links on a site, received before this
     * call. By `visitorId`, or by `userId` (their events, and every event and
     * session of the visitor ids those events carry). It runs in bounded passes
     * in the background; the first runs now, so a small deletion is done when
     * this returns. Returns its progress; watch it with {@link getDeletion}:
     * `deleted` counts what is gone per table, and `events` the raw events.
     * Rollup counts stay (they hold no personal data). Asking again while it
     * runs returns the same job.
     *
     * @example
     * ```ts
     * const { deletionId } = await deleteVisitorData({ siteId, userId: "user_42" });
     * // later, reactively: useQuery(api.analytics.getDeletion, { siteId, deletionId })?.status
     * ```
     */
    deleteVisitorData: mutationGeneric({
      args: vDeleteVisitorDataArgs,
      returns: vDeletionProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "deleteVisitorData", siteId: args.siteId });
        return await ctx.runMutation(component.deletions.deleteVisitorData, args);
      },
    }),
    /**
     * Deletes a site and everything of it, from every table, in bounded passes.
     * From this call on the site takes no events (401) and every read of it is
     * refused; its read keys stop working at once. Idempotent: asking again
     * returns the job's progress (and restarts its passes if they stopped).
     * Watch it with {@link getDeletion}.
     */
    deleteSite: mutationGeneric({
      args: vSiteIdArgs,
      returns: vDeletionProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "deleteSite", siteId: args.siteId });
        return await ctx.runMutation(component.deletions.deleteSite, args);
      },
    }),
    /** A deletion's progress: `status`, `phase`, `waiting`, `deleted` per table. Readable after its site is gone. */
    getDeletion: queryGeneric({
      args: vDeletionIdArgs,
      returns: vDeletionProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getDeletion", siteId: args.siteId });
        return await ctx.runQuery(component.deletions.getDeletion, args);
      },
    }),
    /**
     * Recomputes the site's rollups from its raw events, in the background and in
     * bounded steps, optionally cut by a new `timezone` (the only way to change
     * it). Reports keep the old rollups until the new ones are complete, then
     * switch at once. Only what raw retention still holds is recomputed. Calling
     * it again while one runs returns that one (resuming it if it stopped).
     * Watch it with {@link getRebuild}.
     *
     * With `from` (and optionally `to`, exclusive), only the local months in
     * `[from, to)` are recomputed (widened to whole months, and with every month
     * the live worker may still write, the last 7 days'); every other month is
     * kept exactly as it is, history past raw retention included. A partial
     * rebuild keeps the site's timezone.
     *
     * @example
     * // Recompute since 1 March after changing the session timeout:
     * await ctx.runMutation(api.analytics.rebuildRollups, {
     *   siteId,
     *   from: Date.parse("2026-03-01T00:00:00Z"),
     * });
     */
    rebuildRollups: mutationGeneric({
      args: vRebuildArgs,
      returns: vRebuildProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "rebuildRollups", siteId: args.siteId });
        return await ctx.runMutation(component.rebuilds.rebuildRollups, args);
      },
    }),
    /**
     * Cancels a rebuild that has not switched yet (`running`, or `failed`: say a
     * partial rebuild refused by a late batch). Reports never saw its rollups;
     * they are deleted in the background (`cancelling`, then `cancelled`), and
     * a new rebuild may start at once. Refused once the rebuild has switched.
     */
    cancelRebuild: mutationGeneric({
      args: vRebuildIdArgs,
      returns: vRebuildProgress,
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "cancelRebuild", siteId: args.siteId });
        return await ctx.runMutation(component.rebuilds.cancelRebuild, args);
      },
    }),
    /** A rebuild's progress, or null if the site has no such rebuild. */
    getRebuild: queryGeneric({
      args: vRebuildIdArgs,
      returns: v.union(vRebuildProgress, v.null()),
      handler: async (ctx, args) => {
        await auth(ctx, { operation: "getRebuild", siteId: args.siteId });
        return await ctx.runQuery(component.rebuilds.getRebuild, args);
      },
    }),
  };
}

/**
 * Internal mutations for the host's crons to call (Convex crons can only name the
 * app's own functions). Export them from one module and pass that module's
 * `internal` references to {@link registerMaintenanceCrons}. They are internal:
 * no browser can call them.
 *
 * @example
 * ```ts
 * // convex/analytics.ts
 * export const { kick, applyRetention } = exposeMaintenanceApi(components.analytics);
 * ```
 */
export function exposeMaintenanceApi(component: ComponentApi) {
  return {
    /**
     * Restarts worker loops a failed run stopped, export steps and deletion passes that died,
     * and starts compaction when a closed hour waits.
     */
    kick: internalMutationGeneric({
      args: {},
      returns: v.null(),
      handler: async (ctx) => {
        await ctx.runMutation(component.maintenance.kick, {});
        return null;
      },
    }),
    /** Deletes minute rollups past realtime's window, old raw batches and sessions, and old salts. */
    applyRetention: internalMutationGeneric({
      args: {},
      returns: v.null(),
      handler: async (ctx) => {
        await ctx.runMutation(component.maintenance.applyRetention, {});
        return null;
      },
    }),
  };
}

type MaintenanceRef = FunctionReference<"mutation", "internal", Record<string, never>, null>;

/**
 * Schedules the component's maintenance. Every minute, a kick: it restarts the
 * worker loop of any site whose batches waited over 2 minutes (a failed run),
 * and starts compaction when an hour closed over an hour ago waits (a few reads
 * when there is nothing to do); it also restarts export steps and deletion
 * passes that died. Every hour, retention: minute rollups, raw
 * events, sessions, bot counts and dead letters past each site's retention, old salts and rate-limit
 * buckets, a page at a time.
 *
 * @example
 * ```ts
 * // convex/crons.ts
 * const crons = cronJobs();
 * registerMaintenanceCrons(crons, internal.analytics);
 * export default crons;
 * ```
 */
export function registerMaintenanceCrons(
  crons: Crons,
  maintenance: { kick: MaintenanceRef; applyRetention: MaintenanceRef },
): void {
  crons.interval("analytics: restart loops and compact", { minutes: 1 }, maintenance.kick, {});
  crons.interval("analytics: retention", { hours: 1 }, maintenance.applyRetention, {});
}

type Props = Record<string, string | number | boolean>;

/**
 * Server-side tracking from the host's own mutations: the event is recorded if
 * and only if the host's transaction commits. `Events` types event names and props.
 *
 * @example
 * ```ts
 * const analytics = new Analytics<{ signup: { plan: string } }>(components.analytics);
 * export const signup = mutation({
 *   handler: async (ctx, { plan }) => {
 *     const userId = await ctx.db.insert("users", { plan });
 *     await analytics.track(ctx, { site: "default", name: "signup", props: { plan }, userId });
 *   },
 * });
 * ```
 */
export class Analytics<Events extends Record<string, Props> = Record<string, Props>> {
  constructor(private readonly component: ComponentApi) {}

  /**
   * Records one event. `site` is a site's slug or id; `visitorId` defaults to
   * `user:<userId>`. Never throws for a bad event or an unknown site (that would
   * roll back the host's mutation): the result's `rejected` says why instead.
   */
  async track<Name extends keyof Events & string>(
    ctx: Pick<GenericMutationCtx<GenericDataModel>, "runMutation">,
    event: {
      site: string;
      name: Name;
      props?: Events[Name];
      userId?: string;
      visitorId?: string;
      url?: string;
      id?: string;
    },
  ): Promise<IngestResult> {
    const visitorId = event.visitorId ?? (event.userId ? `user:${event.userId}` : undefined);
    // Refused, not thrown: the host's own write must never be rolled back by analytics.
    if (!visitorId)
      return {
        accepted: 0,
        duplicate: false,
        rejected: [{ index: 0, reason: "track needs a visitorId or a userId" }],
      };
    return await ctx.runMutation(this.component.ingest.trackServer, {
      site: event.site,
      event: {
        id: event.id ?? crypto.randomUUID(),
        type: "track",
        name: event.name,
        occurredAt: Date.now(),
        url: event.url ?? "https://server.invalid/",
        visitorId,
        ...(event.userId ? { userId: event.userId } : {}),
        ...(event.props ? { props: event.props } : {}),
      },
    });
  }
}
