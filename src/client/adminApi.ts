// The admin facade (exposeAdminApi): sites, keys, dead letters, goals, deletions and
// rebuilds, each guarded by the host's auth callback, then one component call.
import { mutationGeneric, queryGeneric } from "convex/server";
import { v } from "convex/values";
import {
  vBotCounts,
  vBotCountsArgs,
  vCreatedReadKey,
  vCreatedSite,
  vCreateGoalArgs,
  vCreateReadKeyArgs,
  vCreateSiteArgs,
  vDeadLetter,
  vDeadLetterArgs,
  vDeadLetterOutcome,
  vDeadLettersArgs,
  vDeleteVisitorDataArgs,
  vDeletionIdArgs,
  vDeletionProgress,
  vGoalIdArgs,
  vGoalInfo,
  vReadKeyIdArgs,
  vReadKeyInfo,
  vRebuildArgs,
  vRebuildIdArgs,
  vRebuildProgress,
  vRotatedKey,
  vSite,
  vSiteIdArgs,
  vSlugArgs,
  vUpdateSiteArgs,
} from "../shared.js";
import type { ComponentApi } from "../component/_generated/component.js";
import type { AuthCallback } from "./auth.js";

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
