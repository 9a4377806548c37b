// A signup funnel over the last 7 days: partial while its scan runs, then complete.
import { useEffect } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../convex/_generated/api.js";

const HOUR = 3_600_000;

export function SignupFunnel({ siteId }: { siteId: string }) {
  // Whole hours, so the arguments (and the cached scan they name) stay put for an hour.
  const to = Math.ceil(Date.now() / HOUR) * HOUR;
  const args = {
    siteId,
    from: to - 7 * 24 * HOUR,
    to,
    steps: [
      { path: "/pricing" },
      { path: "/signup/**" },
      { event: "signup", props: { plan: "pro" } },
    ],
    mode: "sequential" as const,
    windowMs: 24 * HOUR,
  };
  const startFunnel = useMutation(api.analytics.startFunnel);
  const funnel = useQuery(api.analytics.getFunnel, args);
  // Start the scan, and again once the answer is stale (new events were processed).
  useEffect(() => {
    if (funnel === undefined || funnel.stale) void startFunnel(args);
  }, [funnel?.stale, to]);
  if (!funnel) return <p>Loading…</p>;
  if (funnel.error) return <p>Funnel failed: {funnel.error}</p>;
  return (
    <ol>
      {funnel.steps.map((step, i) => (
        <li key={i}>
          {step.visitors} visitors
          {step.conversionRate === null ? "" : ` (${Math.round(step.conversionRate * 100)}%)`}
          {i > 0 ? `, ${step.dropOff} dropped off` : ""}
        </li>
      ))}
      {!funnel.complete && <li>Partial: {funnel.scannedEvents} events scanned so far</li>}
    </ol>
  );
}
