// Bucket boundaries and range plans. Minutes are UTC; days and months are local
// to the site's IANA timezone, so a DST day has 23 or 25 hours. Hours are the
// site's local hours: UTC hours shifted by the zone's sub-hour offset (30
// minutes in Asia/Kolkata, 45 in Asia/Kathmandu), so every local midnight is an
// hour boundary and every local day is a whole number of stored hours.
import type { Granularity, Interval } from "../shared.js";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** The longest range a report accepts: anything longer is an error, never a scan. */
export const MAX_RANGE_MS = 400 * DAY;
/** "YYYY-MM-DD" in UTC: rate-limit buckets and bot counts rotate at UTC midnight. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Minute rows exist for realtime only; older ones are deleted by the maintenance cron. */
export const MINUTE_RETENTION_MS = 2 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a clear error for a timezone name the runtime does not know. */
export function assertTimezone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(`Unknown IANA timezone "${timeZone}"`);
  }
}

type LocalParts = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
};

function localParts(ms: number, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return parts as LocalParts;
}

/** Offset of local time from UTC at instant `ms`, in ms (positive east of Greenwich). */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The UTC instant of local wall-clock time y-m-d 00:00 (the first instant of that date). */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // Two fixed-point steps settle the offset, also across a DST change.
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  // Where midnight itself is skipped by DST, the day starts at the first instant after it.
  // Compare with the normalised date: callers pass day + 1, day + 7 or month + 1 past the month's end.
  const p = localParts(guess, timeZone);
  if (p.day !== new Date(wall).getUTCDate()) guess += HOUR;
  return guess;
}

const phases = new Map<string, number>();
/**
 * Where the zone's local hours start within a UTC hour, in ms: local time is
 * UTC + offset, so its hours start where UTC is a whole hour minus the offset
 * (30 minutes past in Asia/Kolkata at +05:30, 15 past in Asia/Kathmandu at
 * +05:45). Taken in January; the one zone whose DST shift is not a whole hour
 * (Australia/Lord_Howe, +11:00 in January, +10:30 from April to October) keeps
 * its January phase all year, so its winter days are cut at the UTC hour nearest
 * local midnight.
 */
export function hourPhase(timeZone: string): number {
  let phase = phases.get(timeZone);
  if (phase === undefined) {
    const offset = offsetAt(Date.UTC(2026, 0, 1), timeZone);
    phase = ((-offset % HOUR) + HOUR) % HOUR;
    phases.set(timeZone, phase);
  }
  return phase;
}

/** The index of the last of ascending `starts` at or before `at` (0 if none is). */
export function lastStartAtOrBefore(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function minuteStart(ms: number): number {
  return Math.floor(ms / MINUTE) * MINUTE;
}
/** The start of the site-local hour holding `ms` (see hourPhase). */
export function hourStart(ms: number, timeZone: string): number {
  const phase = hourPhase(timeZone);
  return Math.floor((ms - phase) / HOUR) * HOUR + phase;
}
/** "YYYY-MM-DD", the local date in `timeZone`: cookieless salts rotate at the site's local midnight. */
export function localDay(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}
export function dayStart(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  return localMidnight(p.year, p.month, p.day, timeZone);
}
export function monthStart(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  return localMidnight(p.year, p.month, 1, timeZone);
}
/** Local weeks start on Monday (ISO 8601). */
export function weekStart(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const weekday = (new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7;
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day - weekday));
  return localMidnight(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), timeZone);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucket(granularity: Granularity, start: number, timeZone: string): number {
  const p = localParts(start, timeZone);
  switch (granularity) {
    case "minute":
      return start + MINUTE;
    case "hour":
      return start + HOUR;
    case "day":
      return localMidnight(p.year, p.month, p.day + 1, timeZone);
    case "week":
      return localMidnight(p.year, p.month, p.day + 7, timeZone);
    case "month":
      // Date.UTC normalises month 13 into January of the next year.
      return localMidnight(p.year, p.month + 1, 1, timeZone);
  }
}

export function bucketStart(granularity: Granularity, ms: number, timeZone: string): number {
  switch (granularity) {
    case "minute":
      return minuteStart(ms);
    case "hour":
      return hourStart(ms, timeZone);
    case "day":
      return dayStart(ms, timeZone);
    case "week":
      return weekStart(ms, timeZone);
    case "month":
      return monthStart(ms, timeZone);
  }
}

/** One stored rollup bucket that a range is made of. */
export type Piece = { interval: Interval; bucketStart: number; bucketEnd: number };

/**
 * Cuts [from, to) into the coarsest whole stored buckets: months inside, days at
 * the edges, hours at the partial-day edges (minutes when `minutes` is set, for
 * realtime). Both ends must already be aligned (see `alignRange`).
 */
export function planRange(from: number, to: number, timeZone: string, minutes = false): Piece[] {
  const pieces: Piece[] = [];
  let cursor = from;
  while (cursor < to) {
    if (minutes) {
      pieces.push({ interval: "minute", bucketStart: cursor, bucketEnd: cursor + MINUTE });
      cursor += MINUTE;
      continue;
    }
    const day = dayStart(cursor, timeZone);
    if (day === cursor) {
      const month = monthStart(cursor, timeZone);
      const monthEnd = nextBucket("month", cursor, timeZone);
      if (month === cursor && monthEnd <= to) {
        pieces.push({ interval: "month", bucketStart: cursor, bucketEnd: monthEnd });
        cursor = monthEnd;
        continue;
      }
      const dayEnd = nextBucket("day", cursor, timeZone);
      if (dayEnd <= to) {
        pieces.push({ interval: "day", bucketStart: cursor, bucketEnd: dayEnd });
        cursor = dayEnd;
        continue;
      }
    }
    pieces.push({ interval: "hour", bucketStart: cursor, bucketEnd: cursor + HOUR });
    cursor += HOUR;
  }
  return pieces;
}

/**
 * Reports work on whole site-local hours (whole minutes for minute
 * granularity): `from` is rounded down and `to` rounded up. An inverted or
 * over-long range is an error. `phase` is the zone's hourPhase (hours only).
 */
export function alignRange(
  from: number,
  to: number,
  unit: number = HOUR,
  phase = 0,
): { from: number; to: number } {
  if (!Number.isFinite(from) || !Number.isFinite(to))
    throw new Error("from and to must be finite epoch milliseconds");
  // Checked before rounding: an inverted or empty range inside one unit would otherwise round to a whole unit.
  if (to <= from) throw new Error(`Invalid range: to (${to}) must be after from (${from})`);
  const alignedFrom = Math.floor((from - phase) / unit) * unit + phase;
  const alignedTo = Math.ceil((to - phase) / unit) * unit + phase;
  if (alignedTo - alignedFrom > MAX_RANGE_MS)
    throw new Error("Invalid range: at most 400 days can be reported at once");
  return { from: alignedFrom, to: alignedTo };
}

/** `ms` moved by `days` local calendar days, keeping its time since local midnight (so across DST too). */
export function shiftLocalDays(ms: number, days: number, timeZone: string): number {
  const midnight = dayStart(ms, timeZone);
  const p = localParts(midnight, timeZone);
  return localMidnight(p.year, p.month, p.day + days, timeZone) + (ms - midnight);
}

/** yearOverYear goes back 52 weeks, so a Monday is compared with a Monday (Pirsch's rule). */
export const YEAR_OVER_YEAR_DAYS = 364;

/**
 * The period a report over the aligned range [from, to) is compared with
 * (src/shared/reports.ts vCompare), aligned as the report aligns its own range (`unit`,
 * `phase`: see alignRange). "previous" is the same number of local days just
 * before a range of whole local days, else the same length in ms just before.
 */
export function comparisonRange(
  from: number,
  to: number,
  compare: "previous" | "yearOverYear" | { from: number; to: number },
  timeZone: string,
  unit: number = HOUR,
  phase = 0,
): { from: number; to: number } {
  if (typeof compare === "object") return alignRange(compare.from, compare.to, unit, phase);
  if (compare === "yearOverYear") {
    return alignRange(
      shiftLocalDays(from, -YEAR_OVER_YEAR_DAYS, timeZone),
      shiftLocalDays(to, -YEAR_OVER_YEAR_DAYS, timeZone),
      unit,
      phase,
    );
  }
  if (unit >= HOUR && dayStart(from, timeZone) === from && dayStart(to, timeZone) === to) {
    let days = 0;
    // Bounded: an aligned range is at most MAX_RANGE_MS (400 days).
    for (let d = from; d < to; d = nextBucket("day", d, timeZone)) days++;
    return { from: shiftLocalDays(from, -days, timeZone), to: from };
  }
  return alignRange(from - (to - from), from, unit, phase);
}

/**
 * Plausible-style automatic granularity. Minutes are never picked automatically:
 * minute rows are kept for realtime only (MINUTE_RETENTION_MS).
 */
export function pickGranularity(from: number, to: number): Granularity {
  const span = to - from;
  if (span <= 2 * DAY) return "hour";
  if (span <= 90 * DAY) return "day";
  if (span <= 180 * DAY) return "week";
  return "month";
}

/** [from, to) cut at the site's local midnights: a run of hours, one piece per local day. */
export function byLocalDay(from: number, to: number, timeZone: string) {
  const days: { day: number; from: number; to: number }[] = [];
  for (let at = from; at < to;) {
    const day = dayStart(at, timeZone);
    const end = Math.min(nextBucket("day", day, timeZone), to);
    days.push({ day, from: at, to: end });
    at = end;
  }
  return days;
}
