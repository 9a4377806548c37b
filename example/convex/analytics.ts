import {
  exposeAdminApi,
  exposeAnalyticsApi,
  exposeMaintenanceApi,
  type AuthCallback,
} from "convex-event-analytics";
import { components } from "./_generated/api.js";

// Who may read dashboards and administer sites. Here: admins are listed by email
// in the ANALYTICS_ADMINS environment variable; any other signed-in user reads
// only the sites they own (the siteOwners table, written by setup:provision).
// ANALYTICS_DEV_OPEN=1 opens everything, for local development only.
const devOpen = () => process.env.ANALYTICS_DEV_OPEN === "1";
const isAdmin = (email: string | undefined) =>
  !!email &&
  (process.env.ANALYTICS_ADMINS ?? "")
    .split(",")
    .map((s) => s.trim())
    .includes(email);

// Reads: the site's owner, or an admin. `siteId` is the site the call is about.
const requireSiteReader: AuthCallback = async (ctx, { siteId }) => {
  if (devOpen()) return;
  const identity = await ctx.auth.getUserIdentity();
  if (!identity) throw new Error("Sign in to see analytics");
  const email = identity.email;
  if (isAdmin(email)) return;
  // The sites this user owns (a handful), from the app's own table.
  const owned = email
    ? await ctx.db
        .query("siteOwners")
        .withIndex("by_email", (q) => q.eq("email", email))
        .collect()
    : [];
  if (!siteId || !owned.some((o) => o.siteId === siteId))
    throw new Error("Only this site's owners may see its analytics");
};

// Sites, write keys, dead letters: admins only.
const requireAdmin: AuthCallback = async (ctx) => {
  if (devOpen()) return;
  const identity = await ctx.auth.getUserIdentity();
  if (!isAdmin(identity?.email)) throw new Error("Only analytics admins may do this");
};

export const {
  getOverview,
  getTimeseries,
  getBreakdown,
  getRealtime,
  listEvents,
  listSessions,
  startExport,
  getExport,
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
  getBotCounts,
  createReadKey,
  listReadKeys,
  revokeReadKey,
} = exposeAdminApi(components.analytics, { auth: requireAdmin });

// Internal: called by the maintenance crons (convex/crons.ts), never by a browser.
export const { kick, applyRetention } = exposeMaintenanceApi(components.analytics);
