// RFC 4180 CSV, one layout for the dashboard's downloads and the export job.
import type { Breakdown, Timeseries } from "./reports.js";

export type CsvValue = string | number | boolean | null | undefined;

/** One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF, with quotes doubled. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 lines (CRLF-terminated), for the dashboard's downloads and the export job alike. */
export function csvLines(rows: CsvValue[][]): string {
  return rows.map((row) => row.map(csvField).join(",") + "\r\n").join("");
}

export function toCsv(header: string[], rows: CsvValue[][]): string {
  return csvLines([header, ...rows]);
}

/** A breakdown as CSV records, header first: one layout for the dashboard's download and the export job. */
export function breakdownCsvRecords(label: string, rows: Breakdown["rows"]): CsvValue[][] {
  return [
    [label, "visitors", "pageviews", "events", "entries", "bounce_rate"],
    ...rows.map((r) => [r.key, r.visitors, r.pageviews, r.events, r.entries, r.bounceRate]),
  ];
}

/**
 * A timeseries as CSV records, header first: each bucket's start in UTC (ISO 8601), then
 * `local`'s column when given (the dashboard adds the bucket in the site's zone), then its
 * metrics, unformatted, so a spreadsheet sums the same numbers the API returned.
 */
export function timeseriesCsvRecords(
  points: Timeseries["points"],
  local?: { header: string; format: (bucketStart: number) => string },
): CsvValue[][] {
  return [
    [
      "bucket_start_utc",
      ...(local ? [local.header] : []),
      "visitors",
      "pageviews",
      "sessions",
      "events",
      "bounce_rate",
      "avg_session_duration_ms",
    ],
    ...points.map((p) => [
      new Date(p.bucketStart).toISOString(),
      ...(local ? [local.format(p.bucketStart)] : []),
      p.visitors,
      p.pageviews,
      p.sessions,
      p.events,
      p.bounceRate,
      p.avgSessionDurationMs,
    ]),
  ];
}
