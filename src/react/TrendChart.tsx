import {
  Area,
  AreaChart,
  CartesianGrid,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { Compare, Filter, Granularity, Timeseries } from "../shared.js";
import { timeseriesCsv, downloadCsv } from "./csv.js";
import {
  formatBucket,
  formatCompact,
  formatDuration,
  formatPercent,
  formatTick,
} from "./format.js";
import { reportArgs, useFilterScan, useTimeseries, type AnalyticsApi } from "./hooks.js";
import { isChartable, metric, periodName, type MetricId } from "./metrics.js";
import { granularityOptions, type TimeRange } from "./range.js";
import { ErrorNotice, FilterNotice, Skeleton } from "./states.js";

export type TrendChartProps = {
  api: AnalyticsApi;
  siteId: string;
  range: TimeRange;
  /** The site's timezone: axis labels and tooltips show its dates. */
  timeZone: string;
  metric?: MetricId;
  /** Omitted: the API picks the granularity from the range. */
  granularity?: Granularity;
  onGranularityChange?: (granularity: Granularity | undefined) => void;
  locale?: string;
  height?: number;
  /** Filters (AND) the series is counted under. */
  filters?: readonly Filter[];
  /** A compared period: its series (the API's `comparison`) is drawn dashed, bucket by bucket. */
  compare?: Compare;
  /**
   * The compared period's series, if you have it from elsewhere (default: the
   * `comparison` the API returns for `compare`): drawn as a dashed line, bucket by bucket.
   */
  previous?: Timeseries;
};

const GRANULARITY_LABELS: Record<Granularity, string> = {
  minute: "Minute",
  hour: "Hour",
  day: "Day",
  week: "Week",
  month: "Month",
};

type Point = Timeseries["points"][number];

/** Each point with the previous period's value of the same bucket index (the API aligns them). */
function withPrevious(points: Point[], previous: Timeseries | undefined, id: MetricId) {
  if (!previous) return points;
  return points.map((p, i) => ({
    ...p,
    previous: (previous.points[i] as Record<string, number | null> | undefined)?.[id] ?? null,
  }));
}

function axisFormat(id: MetricId, locale?: string): (v: number) => string {
  if (id === "bounceRate") return (v) => formatPercent(v, locale);
  if (id === "avgSessionDurationMs") return (v) => formatDuration(v);
  return (v) => formatCompact(v, locale);
}

/** The selected metric per bucket (zero-filled by the API), with a granularity switch and CSV export. */
export function TrendChart({
  api,
  siteId,
  range,
  timeZone,
  metric: metricId = "visitors",
  granularity,
  onGranularityChange,
  locale,
  height = 260,
  filters,
  compare,
  previous: given,
}: TrendChartProps) {
  const reportOptions = { filters, compare };
  const { data, error } = useTimeseries(api, siteId, range, granularity, reportOptions);
  const scanError = useFilterScan(
    api,
    {
      report: "timeseries",
      ...reportArgs(siteId, range, reportOptions),
      ...(granularity ? { granularity } : {}),
    },
    data,
  );
  const previous =
    given ??
    (data?.comparison
      ? { granularity: data.granularity, points: data.comparison.points }
      : undefined);
  const period = periodName(compare);
  const id = isChartable(metricId) ? metricId : "visitors";
  const m = metric(id);
  const shown = data?.granularity ?? granularity;
  const options = granularityOptions(range);
  return (
    <section
      className="cea-panel cea-chart"
      aria-label={`${m.label} over time`}
      data-testid="cea-chart"
    >
      <header className="cea-panel-header">
        <h3 className="cea-panel-title">
          {m.label}
          {shown && <span className="cea-muted"> per {shown}</span>}
          {previous && (
            <span className="cea-legend" data-testid="cea-chart-legend">
              <span className="cea-legend-dash" aria-hidden="true" /> {period}
            </span>
          )}
        </h3>
        <div className="cea-panel-actions">
          {onGranularityChange && options.length > 1 && (
            <div className="cea-segmented" role="group" aria-label="Granularity">
              {options.map((g) => (
                <button
                  key={g}
                  type="button"
                  className="cea-segment"
                  aria-pressed={shown === g}
                  onClick={() => onGranularityChange(g)}
                >
                  {GRANULARITY_LABELS[g]}
                </button>
              ))}
            </div>
          )}
          <button
            type="button"
            className="cea-button cea-button-small"
            disabled={!data}
            onClick={() =>
              data &&
              downloadCsv(
                `timeseries-${data.granularity}.csv`,
                timeseriesCsv(data, timeZone, locale),
              )
            }
            data-testid="cea-export-timeseries"
          >
            CSV
          </button>
        </div>
      </header>
      <FilterNotice
        progress={data}
        scanError={scanError}
        canScan={!!api.startFilterScan}
        locale={locale}
      />
      {error ? (
        <ErrorNotice error={error} what="the chart" />
      ) : !data ? (
        <Skeleton rows={1} height={height} />
      ) : (
        <div className="cea-chart-body" style={{ height }}>
          <ResponsiveContainer width="100%" height="100%" initialDimension={{ width: 640, height }}>
            <AreaChart
              data={withPrevious(data.points, previous, id)}
              margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
            >
              <defs>
                <linearGradient id="cea-area-fill" x1="0" y1="0" x2="0" y2="1">
                  <stop offset="0%" className="cea-area-stop-top" />
                  <stop offset="100%" className="cea-area-stop-bottom" />
                </linearGradient>
              </defs>
              <CartesianGrid vertical={false} />
              <XAxis
                dataKey="bucketStart"
                tickFormatter={(v: number) => formatTick(v, data.granularity, timeZone, locale)}
                minTickGap={24}
                tickLine={false}
                axisLine={false}
                className="cea-axis"
              />
              <YAxis
                tickFormatter={axisFormat(id, locale)}
                width={48}
                tickLine={false}
                axisLine={false}
                allowDecimals={id === "bounceRate"}
                className="cea-axis"
              />
              <Tooltip
                cursor={{ className: "cea-cursor" }}
                content={({ active, payload }) => {
                  const p = active ? (payload?.[0]?.payload as Point | undefined) : undefined;
                  if (!p) return null;
                  return (
                    <div className="cea-tooltip">
                      <div className="cea-tooltip-date">
                        {formatBucket(p.bucketStart, data.granularity, timeZone, locale)}
                      </div>
                      <div>
                        <strong>
                          {m.format((p as Record<string, number | null>)[id] ?? null, locale)}
                        </strong>{" "}
                        {m.label.toLowerCase()}
                      </div>
                      {previous && (
                        <div className="cea-muted">
                          {m.format((p as { previous?: number | null }).previous ?? null, locale)}{" "}
                          in {period}
                        </div>
                      )}
                    </div>
                  );
                }}
              />
              <Area
                type="monotone"
                dataKey={id}
                className="cea-area"
                fill="url(#cea-area-fill)"
                strokeWidth={2}
                isAnimationActive={false}
              />
              {previous && (
                <Line
                  type="monotone"
                  dataKey="previous"
                  className="cea-previous"
                  strokeDasharray="5 4"
                  strokeWidth={1.5}
                  dot={false}
                  isAnimationActive={false}
                />
              )}
            </AreaChart>
          </ResponsiveContainer>
        </div>
      )}
    </section>
  );
}
