// convex-event-analytics/react: the dashboard and its parts. Styles:
// `import "convex-event-analytics/react/styles.css"` once in the host app.
export { AnalyticsDashboard, type AnalyticsDashboardProps } from "./AnalyticsDashboard.js";
export { Delta, MetricCards, type MetricCardsProps } from "./MetricCards.js";
export { GoalsPanel, formatRevenue, type GoalsPanelProps } from "./GoalsPanel.js";
export { FilterBar, filterLabel, withFilter } from "./FilterBar.js";
export { TrendChart, type TrendChartProps } from "./TrendChart.js";
export {
  BreakdownPanel,
  DEVICE_TABS,
  EVENT_TABS,
  LOCATION_TABS,
  PAGE_TABS,
  SOURCE_TABS,
  type BreakdownPanelProps,
  type BreakdownTab,
} from "./BreakdownPanel.js";
export { RangePicker, type RangePickerProps } from "./RangePicker.js";
export { RealtimeBadge } from "./RealtimeBadge.js";
export { EmptyState, ErrorNotice, FilterNotice, Skeleton } from "./states.js";
export {
  useAnalyticsRange,
  useBreakdown,
  useFilterScan,
  useGoals,
  useNow,
  useOverview,
  useRealtime,
  useSite,
  useTimeseries,
  type AnalyticsApi,
  type AnalyticsRange,
  type FilterProgress,
  type ReportOptions,
  type RangeArgs,
  type ReportState,
} from "./hooks.js";
export { METRICS, type Metric, type MetricId } from "./metrics.js";
export {
  RANGE_LABELS,
  RANGE_PRESETS,
  computeRange,
  granularityOptions,
  type CustomRange,
  type RangePreset,
  type TimeRange,
} from "./range.js";
export { breakdownCsv, csvField, timeseriesCsv, toCsv } from "./csv.js";
export {
  countryFlag,
  countryName,
  formatBucket,
  formatCompact,
  formatDecimal,
  formatDuration,
  formatNumber,
  formatPercent,
} from "./format.js";
