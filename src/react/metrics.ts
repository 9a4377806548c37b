// The overview's metrics, how each is formatted, and which the trend chart can draw.
import { vTimeseriesPoint, type Compare, type Overview } from "../shared.js";
import { formatDecimal, formatDuration, formatNumber, formatPercent } from "./format.js";

export type MetricId =
  "visitors" | "pageviews" | "sessions" | "viewsPerSession" | "bounceRate" | "avgSessionDurationMs";

export type Metric = {
  id: MetricId;
  label: string;
  format: (value: number | null, locale?: string) => string;
};

const count = (v: number | null, locale?: string) => (v === null ? "–" : formatNumber(v, locale));

export const METRICS: readonly Metric[] = [
  { id: "visitors", label: "Visitors", format: count },
  { id: "pageviews", label: "Pageviews", format: count },
  { id: "sessions", label: "Sessions", format: count },
  { id: "viewsPerSession", label: "Views per session", format: formatDecimal },
  { id: "bounceRate", label: "Bounce rate", format: (v, l) => formatPercent(v, l) },
  { id: "avgSessionDurationMs", label: "Visit duration", format: (v) => formatDuration(v) },
];

export function metric(id: MetricId): Metric {
  return METRICS.find((m) => m.id === id)!;
}

/** A metric the timeseries has per bucket (the chart never derives one from others). */
export function isChartable(id: MetricId): boolean {
  return id in vTimeseriesPoint.fields;
}

export function overviewValue(overview: Overview, id: MetricId): number | null {
  return overview[id];
}

/** How the compared period reads in text: "the previous period", "a year earlier". */
export function periodName(compare: Compare | undefined): string {
  return compare === "yearOverYear" ? "a year earlier" : "the previous period";
}
