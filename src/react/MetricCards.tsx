import type { Overview } from "../shared.js";
import { formatPercent } from "./format.js";
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
  /**
   * The previous period's overview, for when the reports API returns one
   * (compare): each card then shows its change with an arrow and a spoken text.
   */
  comparison?: Overview;
};

/** A card's change against the previous period: percent for counts, points for the bounce rate. */
export function Delta({
  id,
  value,
  previous,
  locale,
}: {
  id: MetricId;
  value: number | null;
  previous: number | null;
  locale?: string;
}) {
  if (value === null || previous === null) return null;
  const points = id === "bounceRate";
  const change = points ? value - previous : previous === 0 ? null : (value - previous) / previous;
  if (change === null) return null;
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  // A higher bounce rate is worse: its colour follows what it means, its arrow what it did.
  const good =
    direction === "flat" ? "flat" : (direction === "up") !== (id === "bounceRate") ? "good" : "bad";
  const size = points
    ? `${Math.abs(Math.round(change * 1000) / 10)} points`
    : formatPercent(Math.abs(change), locale);
  return (
    <span className={`cea-delta cea-delta-${good}`} data-testid={`delta-${id}`}>
      <span aria-hidden="true">{direction === "up" ? "↑" : direction === "down" ? "↓" : "→"}</span>
      <span aria-hidden="true">{size}</span>
      <span className="cea-visually-hidden">
        {direction === "flat"
          ? "unchanged from the previous period"
          : `${direction} ${size} from the previous period`}
      </span>
    </span>
  );
}

/**
 * Visitors, pageviews, sessions, views per session, bounce rate and visit
 * duration for the range, exactly as getOverview returns them.
 */
export function MetricCards({
  api,
  siteId,
  range,
  selected,
  onSelect,
  locale,
  comparison,
}: MetricCardsProps) {
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
            {data && comparison && (
              <Delta
                id={m.id}
                value={overviewValue(data, m.id)}
                previous={overviewValue(comparison, m.id)}
                locale={locale}
              />
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
