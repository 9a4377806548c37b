// Bucket boundaries and range plans, checked against hand-computed instants and
// against an independent reading of the local calendar (Intl, formatted as dates).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DAY,
  HOUR,
  MAX_RANGE_MS,
  MINUTE,
  alignRange,
  bucketStart,
  dayStart,
  hourPhase,
  hourStart,
  monthStart,
  nextBucket,
  pickGranularity,
  planRange,
  weekStart,
  type Piece,
} from "./time.js";

const Z = (iso: string) => Date.parse(iso);
const hours = (ms: number) => ms / HOUR;

// ---------------------------------------------------------------------------
// An independent oracle for "which local date / month is instant t in".
const dateFormatters = new Map<string, Intl.DateTimeFormat>();
function localDate(ms: number, timeZone: string): string {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dateFormatters.set(timeZone, f);
  }
  return f.format(new Date(ms)); // "2024-03-10"
}
const localMonth = (ms: number, tz: string) => localDate(ms, tz).slice(0, 7);
const localWeekday = (ms: number, tz: string) =>
  new Intl.DateTimeFormat("en-US", { timeZone: tz, weekday: "short" }).format(new Date(ms));
/** t is the first instant of its local date. */
const isLocalMidnight = (t: number, tz: string) => localDate(t - 1, tz) !== localDate(t, tz);
const isMonthStart = (t: number, tz: string) => localMonth(t - 1, tz) !== localMonth(t, tz);

// The independent phase oracle: where local hours start within a UTC hour, from the zone's offset on 1 January 2026
// as Intl names it ("GMT+05:45"). Local hours start where UTC + offset is a whole hour, at minus the offset modulo
// one hour: :30 for +05:30 and -03:30, but :15 for +05:45.
const oraclePhases = new Map<string, number>();
function phaseOf(tz: string): number {
  if (oraclePhases.has(tz)) return oraclePhases.get(tz)!;
  const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" }).formatToParts(new Date(Z("2026-01-01T00:00:00Z"))).find((p) => p.type === "timeZoneName")!.value;
  const [, sign, h, m] = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(name)!;
  oraclePhases.set(tz, ((((sign === "-" ? 1 : -1) * (Number(h ?? 0) * 60 + Number(m ?? 0)) % 60) + 60) % 60) * MINUTE);
  return phaseOf(tz);
}
/** The start of the site-local hour holding t, by the oracle's phase. */
const localHourOf = (t: number, tz: string) => Math.floor((t - phaseOf(tz)) / HOUR) * HOUR + phaseOf(tz);

const ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC", "Asia/Kolkata"] as const;
const WHOLE_HOUR_ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC"] as const;
/** Zones whose offset is not a whole number of hours, but whose DST (if any) shifts by whole hours. */
const SUB_HOUR_ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide", "America/St_Johns"] as const;

describe("site-local hours", () => {
  // [zone, phase in minutes]: minus the UTC offset, modulo one hour.
  // Kolkata +05:30, St John's -03:30 (and -02:30), Adelaide +10:30 (and +09:30), Kathmandu +05:45 (local 00:00 is 18:15 UTC),
  // Chatham +13:45; Lord Howe is +11:00 in January (its summer), and its +10:30 winter is not followed.
  const phases: [string, number][] = [["UTC", 0], ["Europe/Berlin", 0], ["America/New_York", 0], ["Asia/Kolkata", 30], ["America/St_Johns", 30],
    ["Australia/Adelaide", 30], ["Asia/Kathmandu", 15], ["Pacific/Chatham", 15], ["Australia/Lord_Howe", 0]];
  test.each(phases)("in %s, local hours start %i minutes past the UTC hour", (tz, minutes) => {
    expect(hourPhase(tz)).toBe(minutes * MINUTE);
    expect(phaseOf(tz)).toBe(minutes * MINUTE);
  });

  // [zone, instant, the start of its site-local hour]
  const starts: [string, string, string][] = [
    ["UTC", "2024-03-31T10:59:59.999Z", "2024-03-31T10:00:00Z"],
    ["Asia/Kolkata", "2024-03-31T10:29:59.999Z", "2024-03-31T09:30:00Z"],
    ["Asia/Kolkata", "2024-03-31T10:30:00Z", "2024-03-31T10:30:00Z"],
    ["Asia/Kathmandu", "2024-03-31T10:00:00Z", "2024-03-31T09:15:00Z"],
    ["America/St_Johns", "2024-07-01T02:45:00Z", "2024-07-01T02:30:00Z"], // 00:15 local (NDT, -02:30)
    ["Australia/Adelaide", "2024-07-01T14:29:00Z", "2024-07-01T13:30:00Z"], // 23:59 local (ACST, +09:30)
  ];
  test.each(starts)("in %s, the instant %s is in the local hour starting %s", (tz, iso, startIso) => {
    expect(hourStart(Z(iso), tz)).toBe(Z(startIso));
    expect(bucketStart("hour", Z(iso), tz)).toBe(Z(startIso));
  });

  test("in zones with a sub-hour offset, an hour starts on the local wall clock's hour, all year", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SUB_HOUR_ZONES), fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }), (tz, t) => {
        const h = hourStart(t, tz);
        expect(h <= t && t < h + HOUR).toBe(true);
        expect(hourStart(h, tz)).toBe(h);
        const wall = new Intl.DateTimeFormat("en-US", { timeZone: tz, minute: "numeric", second: "numeric" }).format(new Date(h));
        expect(wall).toBe("00:00");
      }),
      { numRuns: 300 },
    );
  });

  test.each(SUB_HOUR_ZONES)("in %s, every local day is a whole number of stored hours, planned as exactly one day piece", (tz) => {
    fc.assert(
      fc.property(fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }), (t) => {
        const day = dayStart(t, tz);
        const end = nextBucket("day", day, tz);
        expect(hourStart(day, tz)).toBe(day);
        expect(hourStart(end, tz)).toBe(end);
        expect([23, 24, 25]).toContain(hours(end - day));
        expect(planRange(day, end, tz)).toEqual([{ interval: "day", bucketStart: day, bucketEnd: end }]);
        // No stored hour straddles the midnight: the hour before it ends there, the hour holding it starts there.
        expect(hourStart(day - 1, tz) + HOUR).toBe(day);
      }),
      { numRuns: 200 },
    );
  });
});

describe("local days", () => {
  // [zone, a local date, its first instant (UTC), the next date's first instant, hours in the day]
  const days: [string, string, string, string, number][] = [
    ["America/New_York", "2024-01-15", "2024-01-15T05:00:00Z", "2024-01-16T05:00:00Z", 24],
    ["America/New_York", "2024-03-10 (DST starts)", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z", 23],
    ["America/New_York", "2024-11-03 (DST ends)", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z", 25],
    ["Europe/Berlin", "2024-03-31 (DST starts)", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z", 23],
    ["Europe/Berlin", "2024-10-27 (DST ends)", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z", 25],
    ["Europe/Berlin", "2024-07-01", "2024-06-30T22:00:00Z", "2024-07-01T22:00:00Z", 24],
    ["Australia/Sydney", "2024-10-06 (DST starts, spring)", "2024-10-05T14:00:00Z", "2024-10-06T13:00:00Z", 23],
    ["Australia/Sydney", "2024-04-07 (DST ends, autumn)", "2024-04-06T13:00:00Z", "2024-04-07T14:00:00Z", 25],
    ["Australia/Sydney", "2024-07-01 (winter)", "2024-06-30T14:00:00Z", "2024-07-01T14:00:00Z", 24],
    ["UTC", "2024-03-31", "2024-03-31T00:00:00Z", "2024-04-01T00:00:00Z", 24],
    ["UTC", "2024-02-29 (leap day)", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", 24],
    ["Asia/Kolkata", "2024-03-31", "2024-03-30T18:30:00Z", "2024-03-31T18:30:00Z", 24],
  ];
  test.each(days)("in %s, local day %s starts at %s and the next at %s (%i hours)", (tz, _label, startIso, endIso, length) => {
    const start = Z(startIso);
    const end = Z(endIso);
    // Any instant of the day maps to its first instant: the start, the middle, the last millisecond.
    for (const t of [start, start + Math.floor((end - start) / 2), end - 1]) {
      expect(dayStart(t, tz)).toBe(start);
      expect(bucketStart("day", t, tz)).toBe(start);
    }
    expect(dayStart(end, tz)).toBe(end);
    expect(nextBucket("day", start, tz)).toBe(end);
    expect(hours(end - start)).toBe(length);
  });

  test.each(ZONES)("in %s, every day of 2024 has 23, 24 or 25 hours and the days tile the year", (tz) => {
    let t = dayStart(Z("2024-01-01T12:00:00Z"), tz);
    const lengths = new Map<number, number>();
    for (let i = 0; i < 366; i++) {
      const next = nextBucket("day", t, tz);
      expect(isLocalMidnight(t, tz)).toBe(true);
      expect(localDate(next - 1, tz)).toBe(localDate(t, tz));
      lengths.set(hours(next - t), (lengths.get(hours(next - t)) ?? 0) + 1);
      t = next;
    }
    expect(localDate(t, tz)).toBe("2025-01-01");
    const expected: Record<string, [number, number][]> = {
      "America/New_York": [[23, 1], [24, 364], [25, 1]],
      "Europe/Berlin": [[23, 1], [24, 364], [25, 1]],
      "Australia/Sydney": [[23, 1], [24, 364], [25, 1]],
      UTC: [[24, 366]],
      "Asia/Kolkata": [[24, 366]],
    };
    expect([...lengths].sort((a, b) => a[0] - b[0])).toEqual(expected[tz]);
  });
});

describe("local months and weeks", () => {
  // [zone, instant, month start, next month start, hours in the month]
  const months: [string, string, string, string, number][] = [
    ["America/New_York", "2024-03-20T12:00:00Z", "2024-03-01T05:00:00Z", "2024-04-01T04:00:00Z", 31 * 24 - 1],
    ["America/New_York", "2024-03-01T04:59:59.999Z", "2024-02-01T05:00:00Z", "2024-03-01T05:00:00Z", 29 * 24],
    ["America/New_York", "2024-12-31T23:00:00Z", "2024-12-01T05:00:00Z", "2025-01-01T05:00:00Z", 31 * 24],
    ["Europe/Berlin", "2024-10-15T00:00:00Z", "2024-09-30T22:00:00Z", "2024-10-31T23:00:00Z", 31 * 24 + 1],
    ["Europe/Berlin", "2024-12-31T23:30:00Z", "2024-12-31T23:00:00Z", "2025-01-31T23:00:00Z", 31 * 24],
    ["Australia/Sydney", "2024-10-10T00:00:00Z", "2024-09-30T14:00:00Z", "2024-10-31T13:00:00Z", 31 * 24 - 1],
    ["Australia/Sydney", "2024-04-10T00:00:00Z", "2024-03-31T13:00:00Z", "2024-04-30T14:00:00Z", 30 * 24 + 1],
    ["UTC", "2024-12-31T23:59:59.999Z", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", 31 * 24],
    ["Asia/Kolkata", "2024-02-10T00:00:00Z", "2024-01-31T18:30:00Z", "2024-02-29T18:30:00Z", 29 * 24],
  ];
  test.each(months)("in %s, the instant %s is in the local month starting %s and ending %s (%i hours)", (tz, iso, startIso, endIso, length) => {
    expect(monthStart(Z(iso), tz)).toBe(Z(startIso));
    expect(bucketStart("month", Z(iso), tz)).toBe(Z(startIso));
    expect(nextBucket("month", Z(startIso), tz)).toBe(Z(endIso));
    expect(hours(Z(endIso) - Z(startIso))).toBe(length);
  });

  // [zone, instant, Monday it belongs to, next Monday, hours in the week]
  const weeks: [string, string, string, string, number][] = [
    // Sunday 2024-03-10, noon in New York (the DST-start day) belongs to the week of Monday 4 March.
    ["America/New_York", "2024-03-10T16:00:00Z", "2024-03-04T05:00:00Z", "2024-03-11T04:00:00Z", 167],
    // Monday 00:00 local is the first instant of its own week.
    ["America/New_York", "2024-03-11T04:00:00Z", "2024-03-11T04:00:00Z", "2024-03-18T04:00:00Z", 168],
    // Sunday 23:59 local is still the previous week.
    ["America/New_York", "2024-03-18T03:59:00Z", "2024-03-11T04:00:00Z", "2024-03-18T04:00:00Z", 168],
    ["Europe/Berlin", "2024-10-27T12:00:00Z", "2024-10-20T22:00:00Z", "2024-10-27T23:00:00Z", 169],
    ["Australia/Sydney", "2024-10-06T12:00:00Z", "2024-09-29T14:00:00Z", "2024-10-06T13:00:00Z", 167],
    // Wednesday 1 January 2025 belongs to the week of Monday 30 December 2024.
    ["UTC", "2025-01-01T10:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z", 168],
    ["Asia/Kolkata", "2024-03-31T10:00:00Z", "2024-03-24T18:30:00Z", "2024-03-31T18:30:00Z", 168],
  ];
  test.each(weeks)("in %s, the instant %s is in the week starting Monday %s and ending %s (%i hours)", (tz, iso, startIso, endIso, length) => {
    expect(weekStart(Z(iso), tz)).toBe(Z(startIso));
    expect(bucketStart("week", Z(iso), tz)).toBe(Z(startIso));
    expect(localWeekday(Z(startIso), tz)).toBe("Mon");
    expect(nextBucket("week", Z(startIso), tz)).toBe(Z(endIso));
    expect(hours(Z(endIso) - Z(startIso))).toBe(length);
  });

  test("for random instants in every zone, each bucket contains the instant and starts on a local calendar boundary", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }), (tz, t) => {
        const day = dayStart(t, tz);
        const dayEnd = nextBucket("day", day, tz);
        expect(day <= t && t < dayEnd).toBe(true);
        expect(localDate(day, tz)).toBe(localDate(t, tz));
        expect(isLocalMidnight(day, tz) && isLocalMidnight(dayEnd, tz)).toBe(true);
        expect([23, 24, 25]).toContain(hours(dayEnd - day));

        const month = monthStart(t, tz);
        const monthEnd = nextBucket("month", month, tz);
        expect(month <= t && t < monthEnd).toBe(true);
        expect(localMonth(month, tz)).toBe(localMonth(t, tz));
        expect(isMonthStart(month, tz) && isMonthStart(monthEnd, tz)).toBe(true);

        const week = weekStart(t, tz);
        const weekEnd = nextBucket("week", week, tz);
        expect(week <= t && t < weekEnd).toBe(true);
        expect(localWeekday(week, tz)).toBe("Mon");
        expect(isLocalMidnight(week, tz)).toBe(true);
        expect([167, 168, 169]).toContain(hours(weekEnd - week));

        expect(bucketStart("hour", t, tz)).toBe(localHourOf(t, tz));
        expect(bucketStart("minute", t, tz)).toBe(Math.floor(t / MINUTE) * MINUTE);
        expect(nextBucket("hour", bucketStart("hour", t, tz), tz) - bucketStart("hour", t, tz)).toBe(HOUR);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------
// Range plans.

/** Every property the brief asks of a plan; returns the first violation, or null. */
function planViolation(pieces: Piece[], from: number, to: number, tz: string): string | null {
  if (pieces.length === 0) return "no pieces";
  if (pieces[0]!.bucketStart !== from) return "does not start at from";
  if (pieces[pieces.length - 1]!.bucketEnd !== to) return "does not end at to";
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (i > 0 && pieces[i - 1]!.bucketEnd !== p.bucketStart) return `gap or overlap before piece ${i}`;
    if (p.bucketEnd <= p.bucketStart) return `empty piece ${i}`;
    switch (p.interval) {
      case "hour":
        if (localHourOf(p.bucketStart, tz) !== p.bucketStart || p.bucketEnd - p.bucketStart !== HOUR) return `piece ${i} is not a stored (site-local) hour`;
        break;
      case "day":
        if (!isLocalMidnight(p.bucketStart, tz) || !isLocalMidnight(p.bucketEnd, tz) || localDate(p.bucketEnd - 1, tz) !== localDate(p.bucketStart, tz)) {
          return `piece ${i} is not one whole local day`;
        }
        break;
      case "month":
        if (!isMonthStart(p.bucketStart, tz) || !isMonthStart(p.bucketEnd, tz) || localMonth(p.bucketEnd - 1, tz) !== localMonth(p.bucketStart, tz)) {
          return `piece ${i} is not one whole local month`;
        }
        break;
      default:
        return `piece ${i} has interval ${p.interval}`;
    }
  }
  // Coarsest: buckets nest (hour < day < month, as hours are site-local), so the cut is
  // coarsest iff no maximal run of hour pieces contains a whole local day and no
  // maximal run of day pieces contains a whole local month.
  for (let i = 0; i < pieces.length; ) {
    let j = i;
    while (j + 1 < pieces.length && pieces[j + 1]!.interval === pieces[i]!.interval) j++;
    const runStart = pieces[i]!.bucketStart;
    const runEnd = pieces[j]!.bucketEnd;
    if (pieces[i]!.interval === "hour") {
      let midnights = 0;
      for (let t = runStart; t <= runEnd; t += HOUR) if (isLocalMidnight(t, tz)) midnights++;
      if (midnights >= 2) return `hour pieces ${i}..${j} contain a whole local day`;
    } else if (pieces[i]!.interval === "day") {
      let monthStarts = 0;
      for (let k = i; k <= j; k++) if (isMonthStart(pieces[k]!.bucketStart, tz)) monthStarts++;
      if (isMonthStart(runEnd, tz)) monthStarts++;
      if (monthStarts >= 2) return `day pieces ${i}..${j} contain a whole local month`;
    }
    i = j + 1;
  }
  return null;
}

const counts = (pieces: Piece[]) =>
  pieces.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.interval]: (acc[p.interval] ?? 0) + 1 }), {});

describe("planRange", () => {
  test("a range from mid-afternoon on 10 January to 09:00 on 3 April in New York is hours, days, two months, days, hours", () => {
    const tz = "America/New_York";
    const from = Z("2024-01-10T20:00:00Z"); // 15:00 local
    const to = Z("2024-04-03T13:00:00Z"); // 09:00 local (EDT)
    const pieces = planRange(from, to, tz);
    expect(planViolation(pieces, from, to, tz)).toBeNull();
    // 9 hours to midnight, 21 days of January, February and March, 2 days of April, 9 hours.
    expect(pieces.map((p) => p.interval).join(",")).toBe(
      [...Array(9).fill("hour"), ...Array(21).fill("day"), "month", "month", ...Array(2).fill("day"), ...Array(9).fill("hour")].join(","),
    );
    expect(pieces.find((p) => p.interval === "month" && p.bucketStart === Z("2024-03-01T05:00:00Z"))?.bucketEnd).toBe(Z("2024-04-01T04:00:00Z"));
  });

  test("a whole local month in Berlin, including the 25-hour DST-end day, is exactly one month piece", () => {
    const tz = "Europe/Berlin";
    const from = Z("2024-09-30T22:00:00Z");
    const to = Z("2024-10-31T23:00:00Z");
    expect(planRange(from, to, tz)).toEqual([{ interval: "month", bucketStart: from, bucketEnd: to }]);
  });

  test("the 23-hour DST-start day in Sydney is one day piece", () => {
    const tz = "Australia/Sydney";
    const from = Z("2024-10-05T14:00:00Z");
    const to = Z("2024-10-06T13:00:00Z");
    expect(planRange(from, to, tz)).toEqual([{ interval: "day", bucketStart: from, bucketEnd: to }]);
  });

  test("a range that ends one hour before a local midnight keeps that day as 23 hour pieces", () => {
    const tz = "UTC";
    const from = Z("2024-05-01T00:00:00Z");
    const to = Z("2024-05-01T23:00:00Z");
    const pieces = planRange(from, to, tz);
    expect(counts(pieces)).toEqual({ hour: 23 });
  });

  test("in Asia/Kolkata (+05:30) hours start at half past the UTC hour, so a local month is one month piece and a local year twelve", () => {
    const tz = "Asia/Kolkata";
    const from = Z("2023-12-31T18:30:00Z"); // 1 January 2024, 00:00 local
    const to = Z("2024-12-31T18:30:00Z");
    const year = planRange(from, to, tz);
    expect(planViolation(year, from, to, tz)).toBeNull();
    expect(counts(year)).toEqual({ month: 12 });
    // A range of UTC days is aligned to local hours first; 23:30Z is 05:00 local: 19 hours, 29 days, then 6 hours.
    const aligned = alignRange(Z("2024-01-01T00:00:00Z"), Z("2024-01-31T00:00:00Z"), HOUR, hourPhase(tz));
    expect(aligned).toEqual({ from: Z("2023-12-31T23:30:00Z"), to: Z("2024-01-31T00:30:00Z") });
    const pieces = planRange(aligned.from, aligned.to, tz);
    expect(planViolation(pieces, aligned.from, aligned.to, tz)).toBeNull();
    expect(counts(pieces)).toEqual({ hour: 19 + 6, day: 29 });
  });

  test("30 days from 1 June at local midnight is exactly one month piece in every zone, sub-hour offsets included", () => {
    const got = [...WHOLE_HOUR_ZONES, ...SUB_HOUR_ZONES].map((tz) => {
      const from = dayStart(Z("2024-06-01T12:00:00Z"), tz);
      return [tz, counts(planRange(from, from + 30 * DAY, tz))];
    });
    expect(got).toEqual([...WHOLE_HOUR_ZONES, ...SUB_HOUR_ZONES].map((tz) => [tz, { month: 1 }]));
  });

  test("minute plans are contiguous whole minutes covering the range", () => {
    const to = Z("2024-05-01T12:00:00Z");
    const pieces = planRange(to - 30 * MINUTE, to, "Europe/Berlin", true);
    expect(pieces).toHaveLength(30);
    pieces.forEach((p, i) => expect(p).toEqual({ interval: "minute", bucketStart: to - (30 - i) * MINUTE, bucketEnd: to - (29 - i) * MINUTE }));
  });

  test("an empty range has no pieces", () => {
    expect(planRange(Z("2024-05-01T00:00:00Z"), Z("2024-05-01T00:00:00Z"), "UTC")).toEqual([]);
  });

  const hourAlignedRange = fc
    .tuple(fc.integer({ min: Z("2020-01-01T00:00:00Z") / HOUR, max: Z("2030-01-01T00:00:00Z") / HOUR }), fc.integer({ min: 1, max: 400 * 24 }))
    .map(([fromHour, length]) => ({ from: fromHour * HOUR, to: (fromHour + length) * HOUR }));
  // Ranges that start or end exactly on local midnights, so days and months are exercised often.
  const midnightRange = (tz: string) =>
    fc
      .tuple(fc.integer({ min: Z("2020-01-01T00:00:00Z"), max: Z("2030-01-01T00:00:00Z") }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 23 }))
      .map(([t, days, extraHours]) => {
        const from = dayStart(t, tz);
        let to = from;
        for (let i = 0; i < days; i++) to = nextBucket("day", to, tz);
        to = Math.min(to - extraHours * HOUR, from + MAX_RANGE_MS);
        return { from, to: Math.max(to, from + HOUR) };
      });

  test.each([...WHOLE_HOUR_ZONES, ...SUB_HOUR_ZONES])(
    "in %s, every plan of a random range up to 400 days aligned to site-local hours is a disjoint, contiguous, exact and coarsest cut into whole stored buckets",
    (tz) => {
      const phase = phaseOf(tz);
      fc.assert(
        fc.property(fc.oneof(hourAlignedRange.map(({ from, to }) => ({ from: from + phase, to: to + phase })), midnightRange(tz)), ({ from, to }) => {
          const pieces = planRange(from, to, tz);
          expect(planViolation(pieces, from, to, tz)).toBeNull();
          // Sanity bound: a coarsest plan of at most 400 days has at most 13 months, 2 x 30 days and 2 x 24 hours.
          expect(pieces.length).toBeLessThanOrEqual(14 + 60 + 48);
        }),
        { numRuns: 100 },
      );
    },
  );

  test("the plan checker used above flags a gap, a split month, a split day and a non-bucket piece", () => {
    const tz = "UTC";
    const from = Z("2024-03-01T00:00:00Z");
    const to = Z("2024-04-01T00:00:00Z");
    const days = Array.from({ length: 31 }, (_, i): Piece => ({ interval: "day", bucketStart: from + i * DAY, bucketEnd: from + (i + 1) * DAY }));
    expect(planViolation([{ interval: "month", bucketStart: from, bucketEnd: to }], from, to, tz)).toBeNull();
    expect(planViolation(days, from, to, tz)).toMatch(/contain a whole local month/);
    expect(planViolation(days.filter((_, i) => i !== 3), from, to, tz)).toMatch(/gap/);
    const hours24 = Array.from({ length: 24 }, (_, i): Piece => ({ interval: "hour", bucketStart: from + i * HOUR, bucketEnd: from + (i + 1) * HOUR }));
    expect(planViolation(hours24, from, from + DAY, tz)).toMatch(/contain a whole local day/);
    expect(planViolation([{ interval: "day", bucketStart: from + HOUR, bucketEnd: from + DAY + HOUR }], from + HOUR, from + DAY + HOUR, tz)).toMatch(/not one whole local day/);
  });
});

describe("alignRange", () => {
  const at = Z("2024-01-15T10:00:00Z");
  test("rounds from down and to up to whole hours (or minutes)", () => {
    expect(alignRange(at + 20 * MINUTE, at + 2 * HOUR + MINUTE)).toEqual({ from: at, to: at + 3 * HOUR });
    expect(alignRange(at, at + HOUR)).toEqual({ from: at, to: at + HOUR });
    expect(alignRange(at + 20 * MINUTE + 5, at + 40 * MINUTE + 5, MINUTE)).toEqual({ from: at + 20 * MINUTE, to: at + 41 * MINUTE });
  });

  test("with a phase, rounds to hours starting that far past the UTC hour", () => {
    const [p30, p45] = [30 * MINUTE, 45 * MINUTE];
    expect(alignRange(at + 20 * MINUTE, at + 2 * HOUR + MINUTE, HOUR, p30)).toEqual({ from: at - HOUR + p30, to: at + 2 * HOUR + p30 });
    expect(alignRange(at + p30, at + HOUR + p30, HOUR, p30)).toEqual({ from: at + p30, to: at + HOUR + p30 });
    expect(alignRange(at + 50 * MINUTE, at + 50 * MINUTE + 1, HOUR, p45)).toEqual({ from: at + p45, to: at + HOUR + p45 });
    expect(alignRange(at - 1, at, HOUR, p45)).toEqual({ from: at - HOUR + p45, to: at + p45 });
  });

  test("aligned ranges are the smallest site-local-hour ranges covering [from, to)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES, ...SUB_HOUR_ZONES), fc.integer({ min: at - 1000 * DAY, max: at }), fc.integer({ min: 1, max: 399 * DAY }), (tz, from, length) => {
        const r = alignRange(from, from + length, HOUR, hourPhase(tz));
        expect(r.from).toBe(localHourOf(from, tz));
        expect(r.to).toBe(localHourOf(from + length - 1, tz) + HOUR);
      }),
    );
  });

  test("accepts exactly 400 days", () => {
    expect(alignRange(at, at + 400 * DAY)).toEqual({ from: at, to: at + MAX_RANGE_MS });
  });

  const invalid: [string, number, number, RegExp][] = [
    ["an inverted range", at + 2 * HOUR, at, /to .* must be after from/],
    ["an inverted range inside one hour", at + 40 * MINUTE, at + 20 * MINUTE, /to .* must be after from/],
    ["an empty range on an hour", at, at, /to .* must be after from/],
    ["an empty range inside an hour", at + 30 * MINUTE, at + 30 * MINUTE, /to .* must be after from/],
    ["400 days and one hour", at, at + 400 * DAY + HOUR, /at most 400 days/],
    ["400 days that round out to more", at + 30 * MINUTE, at + 30 * MINUTE + 400 * DAY, /at most 400 days/],
    ["NaN from", Number.NaN, at, /finite/],
    ["Infinity to", at, Number.POSITIVE_INFINITY, /finite/],
    ["-Infinity from", Number.NEGATIVE_INFINITY, at, /finite/],
  ];
  test.each(invalid)("rejects %s with a clear error", (_label, from, to, message) => {
    expect(() => alignRange(from, to)).toThrow(message);
  });
});

describe("pickGranularity", () => {
  const from = Z("2024-01-01T00:00:00Z");
  const table: [string, string, number][] = [
    ["1 hour", "hour", HOUR],
    ["exactly 2 days", "hour", 2 * DAY],
    ["2 days and an hour", "day", 2 * DAY + HOUR],
    ["30 days", "day", 30 * DAY],
    ["exactly 90 days", "day", 90 * DAY],
    ["90 days and an hour", "week", 90 * DAY + HOUR],
    ["exactly 180 days", "week", 180 * DAY],
    ["180 days and an hour", "month", 180 * DAY + HOUR],
    ["400 days", "month", 400 * DAY],
  ];
  test.each(table)("a span of %s is shown by %s", (_label, granularity, span) => {
    expect(pickGranularity(from, from + span)).toBe(granularity);
  });
});
