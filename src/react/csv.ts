// CSV export (RFC 4180): CRLF line ends, a field quoted when it holds a comma,
// a double quote, CR or LF, and quotes inside doubled. Values are the report's,
// unformatted, so a spreadsheet sums the same numbers the API returned.
import {
  breakdownCsvRecords,
  csvLines,
  timeseriesCsvRecords,
  type Breakdown,
  type Timeseries,
} from "../shared.js";

export { csvField, toCsv, type CsvValue } from "../shared.js";
import { formatBucket } from "./format.js";

/** A breakdown's rows as the report returned them; `label` names the key column (e.g. "page"). */
export function breakdownCsv(label: string, rows: Breakdown["rows"]): string {
  return csvLines(breakdownCsvRecords(label, rows));
}

/** A timeseries: each bucket's start in UTC (ISO 8601) and in the site's timezone, then its metrics. */
export function timeseriesCsv(timeseries: Timeseries, timeZone: string, locale?: string): string {
  const g = timeseries.granularity;
  return csvLines(
    timeseriesCsvRecords(timeseries.points, {
      header: `bucket_${g}_${timeZone}`,
      format: (bucketStart) => formatBucket(bucketStart, g, timeZone, locale),
    }),
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
