// German visitors reading the blog, over the last 7 days: a filter combination
// that rollups cannot answer, so the overview is partial while its scan runs.
import { useEffect } from "react";
import { useMutation, useQuery } from "convex/react";
import type { Filter } from "convex-event-analytics";
import { api } from "../convex/_generated/api.js";

const HOUR = 3_600_000;

export function GermanBlogReaders({ siteId }: { siteId: string }) {
  // Whole hours, so the arguments (and the cached scan they name) stay put for an hour.
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  const filters: Filter[] = [
    { dimension: "country", op: "is", value: "DE" },
    { dimension: "page", op: "contains", value: "/blog" },
  ];
  const args = { siteId, from: to - 7 * 24 * HOUR, to, filters };
  const startFilterScan = useMutation(api.analytics.startFilterScan);
  const overview = useQuery(api.analytics.getOverview, args);
  // Start the scan, and again once the answer is stale (new events were processed).
  useEffect(() => {
    if (overview === undefined || overview.stale)
      void startFilterScan({ report: "overview", ...args });
  }, [overview?.stale, to]);
  if (!overview) return <p>Loading…</p>;
  if (overview.error) return <p>Filter failed: {overview.error}</p>;
  return (
    <p>
      {overview.visitors} visitors, {overview.pageviews} blog pageviews
      {overview.complete ? "" : ` (partial: ${overview.scannedEvents} events scanned so far)`}
    </p>
  );
}
