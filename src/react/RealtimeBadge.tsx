import { useRealtime, type AnalyticsApi } from "./hooks.js";
import { formatNumber } from "./format.js";

/**
 * "N current visitors": visitors of the last 5 minutes (Plausible's definition), live. Its `now` is
 * rounded to the minute and advanced by a timer, so it moves on a quiet site too.
 */
export function RealtimeBadge({
  api,
  siteId,
  locale,
}: {
  api: AnalyticsApi;
  siteId: string;
  locale?: string;
}) {
  const { data, error } = useRealtime(api, siteId);
  if (error) {
    return (
      <span className="cea-live cea-live-error" role="status" title={error.message}>
        Current visitors unavailable
      </span>
    );
  }
  const n = data?.visitors;
  return (
    <span
      className="cea-live"
      role="status"
      aria-live="polite"
      title="Visitors in the last 5 minutes"
      data-testid="cea-realtime"
    >
      <span className="cea-live-dot" aria-hidden="true" />
      {n === undefined ? (
        "… current visitors"
      ) : (
        <>
          <span data-testid="cea-realtime-visitors">{formatNumber(n, locale)}</span> current visitor
          {n === 1 ? "" : "s"}
        </>
      )}
    </span>
  );
}
