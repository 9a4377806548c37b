import { exposeAdminApi, exposeAnalyticsApi, exposeMaintenanceApi, type AuthCallback } from "convex-event-analytics";
import { components } from "./_generated/api.js";

// Who may read dashboards and administer sites. Here: any signed-in user reads,
// and admins are listed by email in the ANALYTICS_ADMINS environment variable.
// ANALYTICS_DEV_OPEN=1 opens everything, for local development only.
const devOpen = () => process.env.ANALYTICS_DEV_OPEN === "1";

const requireUser: AuthCallback = async (ctx) => {
  if (devOpen()) return;
  if (!(await ctx.auth.getUserIdentity())) throw new Error("Sign in to see analytics");
};

const requireAdmin: AuthCallback = async (ctx) => {
  if (devOpen()) return;
  const identity = await ctx.auth.getUserIdentity();
  const admins = (process.env.ANALYTICS_ADMINS ?? "").split(",").map((s) => s.trim());
  if (!identity?.email || !admins.includes(identity.email)) throw new Error("Only analytics admins may do this");
};

export const { getOverview, getTimeseries, getBreakdown, getRealtime } = exposeAnalyticsApi(components.analytics, {
  auth: requireUser,
});

export const { createSite, getSite, getSiteBySlug, listSites, updateSite, rotateWriteKey, listDeadLetters, getBotCounts } =
  exposeAdminApi(components.analytics, { auth: requireAdmin });

// Internal: called by the maintenance crons (convex/crons.ts), never by a browser.
export const { kick, applyRetention } = exposeMaintenanceApi(components.analytics);
