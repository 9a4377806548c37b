import {
  exposeAdminApi,
  exposeAnalyticsApi,
  exposeMaintenanceApi,
  type AuthCallback,
} from "convex-event-analytics";
import type { UserIdentity } from "convex/server";
import { components } from "./_generated/api.js";

// Who may read dashboards and administer sites. Here: admins are listed by email
// in the ANALYTICS_ADMINS environment variable; any other signed-in user reads
// and manages only the sites they own (the siteOwners table, written by
// setup:provision). An email counts only once the identity provider has verified
// it: anyone can sign up claiming an admin's address.
// ANALYTICS_DEV_OPEN=1 opens everything, for local development only.
const devOpen = () => process.env.ANALYTICS_DEV_OPEN === "1";
const verifiedEmail = (identity: UserIdentity | null) =>
  identity?.emailVerified === true ? identity.email : undefined;
const isAdmin = (email: string | undefined) =>
  !!email &&
  (process.env.ANALYTICS_ADMINS ?? "")
    .split(",")
    .map((s) => s.trim())
    .includes(email);

/** Whether `email` owns `siteId`, from the app's own table (a user owns a handful of sites). */
async function ownsSite(
  ctx: Parameters<AuthCallback>[0],
  email: string | undefined,
  siteId: string | undefined,
) {
  if (!email || !siteId) return false;
  const owned = await ctx.db
    .query("siteOwners")
    .withIndex("by_email", (q) => q.eq("email", email))
    .collect();
  return owned.some((o) => o.siteId === siteId);
}

// Reads: the site's owner, or an admin. `siteId` is the site the call is about.
const requireSiteReader: AuthCallback = async (ctx, { siteId }) => {
  if (devOpen()) return;
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) throw new Error("Sign in to see analytics");
  const email = verifiedEmail(identity);
  if (isAdmin(email) || (await ownsSite(ctx, email, siteId))) return;
  throw new Error("Only this site's owners may see its analytics");
};

// Administration: admins do everything. An owner manages their own site (settings,
// write key, dead letters, bot counts, GDPR deletions, rollup rebuilds, goals) and lists only
// their sites; creating sites, looking them up by slug and deleting them are for admins.
const requireSiteAdmin: AuthCallback = async (ctx, { operation, siteId }) => {
  if (devOpen()) return;
  const email = verifiedEmail(await ctx.auth.getUserIdentity());
  if (isAdmin(email)) return;
  // listSites without a site: any verified user may ask; each site is then checked as getSite.
  if (operation === "listSites" && !siteId && email) return;
  const ownerMay = !["createSite", "getSiteBySlug", "deleteSite"].includes(operation);
  if (ownerMay && (await ownsSite(ctx, email, siteId))) return;
  throw new Error("Only analytics admins may do this");
};

export const {
  getOverview,
  getTimeseries,
  getBreakdown,
  getPropertyBreakdown,
  getRealtime,
  listEvents,
  listSessions,
  startExport,
  getExport,
  getFunnel,
  startFunnel,
  startFilterScan,
  getGoals,
} = exposeAnalyticsApi(components.analytics, {
  auth: requireSiteReader,
});

export const {
  createSite,
  getSite,
  getSiteBySlug,
  listSites,
  updateSite,
  rotateWriteKey,
  listDeadLetters,
  retryDeadLetter,
  discardDeadLetter,
  getBotCounts,
  createReadKey,
  listReadKeys,
  revokeReadKey,
  deleteVisitorData,
  deleteSite,
  getDeletion,
  rebuildRollups,
  cancelRebuild,
  getRebuild,
  createGoal,
  listGoals,
  deleteGoal,
} = exposeAdminApi(components.analytics, { auth: requireSiteAdmin });

// Internal: called by the maintenance crons (convex/crons.ts), never by a browser.
export const { kick, applyRetention } = exposeMaintenanceApi(components.analytics);
