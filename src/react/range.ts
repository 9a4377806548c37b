// Date ranges as the dashboard asks for them. Every range ends at the next whole
// hour and starts at a local midnight (or a whole hour), so its arguments change
// once an hour at most: every component and every tab that shows the same range
// shares one Convex subscription and one cached result.
import type { Granularity } from "../shared.js";
import { DAY, HOUR, MAX_RANGE_MS, dayStart } from "../component/time.js";
import { localDate } from "./format.js";

export const RANGE_PRESETS = ["today", "24h", "7d", "30d", "90d", "12mo", "custom"] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export const RANGE_LABELS: Record<RangePreset, string> = {
  today: "Today",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
  "12mo": "Last 12 months",
  custom: "Custom range",
};

/** Inclusive local dates, "YYYY-MM-DD", in the site's timezone. */
export type CustomRange = { start: string; end: string };
export type TimeRange = { from: number; to: number };

/** The end of every range: the whole hour after `now` (reports round `to` up to the hour anyway). */
export function rangeEnd(now: number): number {
  return Math.floor(now / HOUR) * HOUR + HOUR;
}

/** Local midnight of calendar day (year, month 1-12, day) in `timeZone`; out-of-range days roll over. */
export function localDayStart(year: number, month: number, day: number, timeZone: string): number {
  // Noon UTC of that date is on the same local date or the next one for every offset from -12 to +14.
  let noon = Date.UTC(year, month - 1, day, 12);
  const wanted = new Date(noon).toISOString().slice(0, 10);
  if (localDate(noon, timeZone) > wanted) noon -= DAY;
  return dayStart(noon, timeZone);
}

function parseDate(s: string): [number, number, number] | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** The range a preset stands for at `now`, in the site's timezone. Throws for an invalid custom range. */
export function computeRange(
  preset: RangePreset,
  now: number,
  timeZone: string,
  custom?: CustomRange,
): TimeRange {
  const to = rangeEnd(now);
  const [y, m, d] = parseDate(localDate(now, timeZone))!;
  switch (preset) {
    case "today":
      return { from: localDayStart(y, m, d, timeZone), to };
    case "24h":
      return { from: to - 24 * HOUR, to };
    case "7d":
      return { from: localDayStart(y, m, d - 6, timeZone), to };
    case "30d":
      return { from: localDayStart(y, m, d - 29, timeZone), to };
    case "90d":
      return { from: localDayStart(y, m, d - 89, timeZone), to };
    case "12mo":
      return { from: localDayStart(y, m - 11, 1, timeZone), to };
    case "custom": {
      const start = custom && parseDate(custom.start);
      const end = custom && parseDate(custom.end);
      if (!start || !end) throw new Error("Pick a start and an end date");
      const from = localDayStart(start[0], start[1], start[2], timeZone);
      const until = Math.min(localDayStart(end[0], end[1], end[2] + 1, timeZone), to);
      if (until <= from)
        throw new Error("The end date must be on or after the start date, and not in the future");
      if (until - from > MAX_RANGE_MS) throw new Error("A range can cover at most 400 days");
      return { from, to: until };
    }
  }
}

/** The granularities worth offering for a range: not one point, not thousands. */
export function granularityOptions(range: TimeRange): Granularity[] {
  const span = range.to - range.from;
  const out: Granularity[] = [];
  if (span <= 7 * DAY) out.push("hour");
  if (span >= 2 * DAY) out.push("day");
  if (span >= 14 * DAY) out.push("week");
  if (span >= 60 * DAY) out.push("month");
  return out;
}
