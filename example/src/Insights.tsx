// Compared periods, a property breakdown and the live view, straight from the
// read facades (convex/analytics.ts): this week against the week before, the
// plans people sign up for against the same week a year ago, and who is here now.
import { useEffect, useState } from "react";
import { useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The end of the current minute (so this minute's visitors count), advanced on a
 * timer: realtime depends on `now` only, so it moves on a quiet site too.
 */
function useMinute(): number {
  const endOfMinute = () => Math.floor(Date.now() / MINUTE) * MINUTE + MINUTE;
  const [now, setNow] = useState(endOfMinute);
  useEffect(() => {
    const timer = setInterval(() => setNow(endOfMinute()), 10_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** "+12%", or "new" when the compared period had none. */
function change(current: number, before: number | undefined): string {
  if (!before) return current > 0 ? "new" : "–";
  const percent = Math.round((current / before - 1) * 100);
  return `${percent >= 0 ? "+" : ""}${percent}%`;
}

/** The plans of `signup` events over a range, each against the same days a year (52 weeks) ago. */
function useSignupPlans(range: { siteId: string; from: number; to: number }) {
  return useQuery(api.analytics.getPropertyBreakdown, {
    ...range,
    event: "signup",
    property: "plan",
    compare: "yearOverYear",
  });
}

export function Insights({ siteId }: { siteId: string }) {
  const now = useMinute();
  // Whole hours, so the range (and the query's cache) changes once an hour, not every minute.
  const to = Math.ceil(now / HOUR) * HOUR;
  const week = { siteId, from: to - 7 * DAY, to };
  const overview = useQuery(api.analytics.getOverview, { ...week, compare: "previous" });
  const plans = useSignupPlans(week);
  const live = useQuery(api.analytics.getRealtime, { siteId, now });
  return (
    <section className="insights">
      {overview && (
        <p>
          {overview.visitors} {overview.visitors === 1 ? "visitor" : "visitors"} this week (
          {change(overview.visitors, overview.comparison?.visitors)} on the week before)
        </p>
      )}
      {plans && (
        <ul>
          {plans.rows.map((row, i) => (
            <li key={row.key}>
              {row.key}: {row.events} {row.events === 1 ? "signup" : "signups"} (
              {change(row.events, plans.comparison?.rows[i]?.events)} on a year ago)
            </li>
          ))}
        </ul>
      )}
      {live && (
        <p>
          {live.visitors} here now; top page {live.topPages[0]?.key ?? "–"}, top source{" "}
          {live.topSources[0]?.key ?? "–"}
        </p>
      )}
    </section>
  );
}
