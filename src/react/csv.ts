// CSV export (RFC 4180): CRLF line ends, a field quoted when it holds a comma,
// a double quote, CR or LF, and quotes inside doubled. Values are the report's,
// unformatted, so a spreadsheet sums the same numbers the API returned.
import { toCsv, type Breakdown, type Granularity, type Timeseries } from "../shared.js";

export { csvField, toCsv, type CsvValue } from "../shared.js";
import { formatBucket } from "./format.js";

/** A breakdown's rows as the report returned them; `label` names the key column (e.g. "page"). */
export function breakdownCsv(label: string, rows: Breakdown["rows"]): string {
  return toCsv(
    [label, "visitors", "pageviews", "events", "entries", "bounce_rate"],
    rows.map((r) => [r.key, r.visitors, r.pageviews, r.events, r.entries, r.bounceRate]),
  );
}

/** A timeseries: each bucket's start in UTC (ISO 8601) and in the site's timezone, then its metrics. */
export function timeseriesCsv(timeseries: Timeseries, timeZone: string, locale?: string): string {
  const g: Granularity = timeseries.granularity;
  return toCsv(
    [
      "bucket_start_utc",
      `bucket_${g}_${timeZone}`,
      "visitors",
      "pageviews",
      "sessions",
      "events",
      "bounce_rate",
      "avg_session_duration_ms",
    ],
    timeseries.points.map((p) => [
      new Date(p.bucketStart).toISOString(),
      formatBucket(p.bucketStart, g, timeZone, locale),
      p.visitors,
      p.pageviews,
      p.sessions,
      p.events,
      p.bounceRate,
      p.avgSessionDurationMs,
    ]),
  );
}

/** Saves `csv` as a file: a Blob behind a temporary link (no server round trip). */
export function downloadCsv(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
