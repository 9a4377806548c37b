import type { Compare, Filter, Overview } from "../shared.js";
import { formatPercent } from "./format.js";
import type { AnalyticsApi } from "./hooks.js";
import { reportArgs, useFilterScan, useOverview } from "./hooks.js";
import { METRICS, isChartable, overviewValue, periodName, type MetricId } from "./metrics.js";
import type { TimeRange } from "./range.js";
import { ErrorNotice, FilterNotice } from "./states.js";

export type MetricCardsProps = {
  api: AnalyticsApi;
  siteId: string;
  range: TimeRange;
  /** The metric the chart shows; its card is pressed. */
  selected?: MetricId;
  /** Clicking a chartable card selects it. */
  onSelect?: (metric: MetricId) => void;
  locale?: string;
  /** Filters (AND) every number is counted under. */
  filters?: readonly Filter[];
  /** A compared period: each card then shows its change against it. */
  compare?: Compare;
  /**
   * The compared period's overview, if you have it from elsewhere (default: the
   * `comparison` the API returns for `compare`): each card then shows its change
   * with an arrow and a spoken text.
   */
  comparison?: Overview;
};

/**
 * A change against the compared period, with an arrow and a spoken text: percent
 * for counts ("+12%", "−3%"; "—" when the compared value was 0), points for rates.
 */
export function Delta({
  value,
  previous,
  points = false,
  lowerIsBetter = false,
  period = "the previous period",
  locale,
  testId,
}: {
  value: number | null;
  previous: number | null;
  /** A rate: its change in percentage points, not percent. */
  points?: boolean;
  /** A rise reads as bad (the bounce rate): the colour follows what it means, the arrow what it did. */
  lowerIsBetter?: boolean;
  period?: string;
  locale?: string;
  testId?: string;
}) {
  if (value === null || previous === null) return null;
  if (!points && previous === 0) {
    return (
      <span className="cea-delta cea-delta-flat" data-testid={testId}>
        <span aria-hidden="true">—</span>
        <span className="cea-visually-hidden">none in {period} to compare with</span>
      </span>
    );
  }
  const change = points ? value - previous : (value - previous) / previous;
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  const good =
    direction === "flat" ? "flat" : (direction === "up") !== lowerIsBetter ? "good" : "bad";
  const size = points
    ? `${Math.abs(Math.round(change * 1000) / 10)} points`
    : formatPercent(Math.abs(change), locale);
  const sign = direction === "up" ? "+" : direction === "down" ? "\u2212" : "";
  const shown = points ? `${sign}${Math.abs(Math.round(change * 1000) / 10)} pts` : sign + size;
  return (
    <span className={`cea-delta cea-delta-${good}`} data-testid={testId}>
      <span aria-hidden="true">{direction === "up" ? "↑" : direction === "down" ? "↓" : "→"}</span>
      <span aria-hidden="true">{shown}</span>
      <span className="cea-visually-hidden">
        {direction === "flat" ? `unchanged from ${period}` : `${direction} ${size} from ${period}`}
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
  filters,
  compare,
  comparison: given,
}: MetricCardsProps) {
  const options = { filters, compare };
  const { data, error } = useOverview(api, siteId, range, options);
  const scanError = useFilterScan(
    api,
    { report: "overview", ...reportArgs(siteId, range, options) },
    data,
  );
  if (error) return <ErrorNotice error={error} what="the overview" />;
  const comparison = given ?? data?.comparison;
  return (
    <>
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
                  value={overviewValue(data, m.id)}
                  previous={overviewValue(comparison, m.id)}
                  points={m.id === "bounceRate"}
                  lowerIsBetter={m.id === "bounceRate"}
                  period={periodName(compare)}
                  locale={locale}
                  testId={`delta-${m.id}`}
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
      <FilterNotice
        progress={data}
        scanError={scanError}
        canScan={!!api.startFilterScan}
        locale={locale}
      />
    </>
  );
}
