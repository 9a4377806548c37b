// The example's dashboard page: the package's dashboard, then panels of the
// example's own built on the facades (Insights.tsx, Goals.tsx). The site query
// has the same arguments as Dashboard's, so the two share one subscription.
import { useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";
import { Dashboard } from "./Dashboard.js";
import { Goals } from "./Goals.js";
import { Insights } from "./Insights.js";

export function DashboardPage() {
  const site = useQuery(api.analytics.getSiteBySlug, { slug: "default" });
  return (
    <>
      <Dashboard />
      {site && (
        <>
          <Insights siteId={site._id} />
          <Goals siteId={site._id} />
        </>
      )}
    </>
  );
}
