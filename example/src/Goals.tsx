// Goals over the last 7 days against the 7 days before, with an admin's button
// that adds a "Purchase" goal (revenue from the event's `amount` prop).
import { useMutation, useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

const HOUR = 3_600_000;

export function Goals({ siteId }: { siteId: string }) {
  // Whole hours, so the range (and the query's cache) changes once an hour.
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  const report = useQuery(api.analytics.getGoals, {
    siteId,
    from: to - 7 * 24 * HOUR,
    to,
    compare: "previous",
  });
  const createGoal = useMutation(api.analytics.createGoal);
  const addPurchase = () =>
    void createGoal({
      siteId,
      name: "Purchase",
      match: { event: "purchase" },
      revenue: { property: "amount", currency: "EUR" },
    });
  if (!report) return <p>Loading…</p>;
  return (
    <section className="goals">
      <ul>
        {report.goals.map((goal, i) => (
          <li key={goal.goalId}>
            {goal.name}: {goal.converters} converted
            {goal.conversionRate === null ? "" : ` (${(goal.conversionRate * 100).toFixed(1)}%)`}
            {goal.revenue === null ? "" : `, ${goal.revenue.toFixed(2)} ${goal.currency}`}
            {` (${report.comparison?.goals[i]?.converters ?? 0} the week before)`}
            {goal.backfilling && " – still counting earlier events"}
          </li>
        ))}
      </ul>
      <button onClick={addPurchase}>Add a purchase goal</button>
    </section>
  );
}
