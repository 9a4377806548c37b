import type { AnalyticsApi } from "./hooks.js";
import { useOverview } from "./hooks.js";
import { METRICS, isChartable, overviewValue, type MetricId } from "./metrics.js";
import type { TimeRange } from "./range.js";
import { ErrorNotice } from "./states.js";

export type MetricCardsProps = {
  api: AnalyticsApi;
  siteId: string;
  range: TimeRange;
  /** The metric the chart shows; its card is pressed. */
  selected?: MetricId;
  /** Clicking a chartable card selects it. */
  onSelect?: (metric: MetricId) => void;
  locale?: string;
};

/**
 * Visitors, pageviews, sessions, views per session, bounce rate and visit
 * duration for the range, exactly as getOverview returns them.
 */
export function MetricCards({ api, siteId, range, selected, onSelect, locale }: MetricCardsProps) {
  const { data, error } = useOverview(api, siteId, range);
  if (error) return <ErrorNotice error={error} what="the overview" />;
  return (
    <div className="cea-cards" data-testid="cea-cards">
      {METRICS.map((m) => {
        const value = data ? m.format(overviewValue(data, m.id), locale) : undefined;
        const body = (
          <>
            <span className="cea-card-label">{m.label}</span>
            {value === undefined ? (
              <span
                className="cea-card-value cea-skeleton-line"
                aria-busy="true"
                aria-label="Loading"
              />
            ) : (
              <span className="cea-card-value" data-testid={`card-${m.id}`}>
                {value}
              </span>
            )}
          </>
        );
        if (!onSelect || !isChartable(m.id)) {
          return (
            <div key={m.id} className="cea-card" data-metric={m.id}>
              {body}
            </div>
          );
        }
        return (
          <button
            key={m.id}
            type="button"
            className="cea-card cea-card-button"
            data-metric={m.id}
            aria-pressed={selected === m.id}
            onClick={() => onSelect(m.id)}
            title={`Show ${m.label.toLowerCase()} on the chart`}
          >
            {body}
          </button>
        );
      })}
    </div>
  );
}
