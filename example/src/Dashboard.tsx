// The dashboard: the package's <AnalyticsDashboard> for the "default" site
// (DashboardPage.tsx adds the example's own panels below it).
import { useQuery } from "convex/react";
import { AnalyticsDashboard } from "convex-event-analytics/react";
import "convex-event-analytics/react/styles.css";
import { api } from "../convex/_generated/api.js";

export function Dashboard() {
  const site = useQuery(api.analytics.getSiteBySlug, { slug: "default" });
  if (site === undefined) return null;
  if (site === null)
    return <p>No site with slug "default": run `npx convex run setup:provision`.</p>;
  return <AnalyticsDashboard api={api.analytics} siteId={site._id} />;
}
