// Bucket boundaries: site-local hours (and their phase in half- and quarter-hour
// zones), local days, weeks and months, across DST changes, checked against
// hand-computed instants and against timeOracle.testlib.ts's reading of the local
// calendar. Range plans built from these buckets are time.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  HOUR,
  MINUTE,
  bucketStart,
  dayStart,
  hourPhase,
  hourStart,
  monthStart,
  nextBucket,
  planRange,
  weekStart,
} from "./time.js";
import {
  SUB_HOUR_ZONES,
  ZONES,
  Z,
  hours,
  isLocalMidnight,
  isMonthStart,
  localDate,
  localHourOf,
  localMonth,
  localWeekday,
  phaseOf,
} from "./timeOracle.testlib.js";

describe("site-local hours", () => {
  // [zone, phase in minutes]: minus the UTC offset, modulo one hour.
  // Kolkata +05:30, St John's -03:30 (and -02:30), Adelaide +10:30 (and +09:30), Kathmandu +05:45 (local 00:00 is 18:15 UTC),
  // Chatham +13:45; Lord Howe is +11:00 in January (its summer), and its +10:30 winter is not followed.
  const phases: [string, number][] = [
    ["UTC", 0],
    ["Europe/Berlin", 0],
    ["America/New_York", 0],
    ["Asia/Kolkata", 30],
    ["America/St_Johns", 30],
    ["Australia/Adelaide", 30],
    ["Asia/Kathmandu", 15],
    ["Pacific/Chatham", 15],
    ["Australia/Lord_Howe", 0],
  ];
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
  test.each(starts)(
    "in %s, the instant %s is in the local hour starting %s",
    (tz, iso, startIso) => {
      expect(hourStart(Z(iso), tz)).toBe(Z(startIso));
      expect(bucketStart("hour", Z(iso), tz)).toBe(Z(startIso));
    },
  );

  test("in zones with a sub-hour offset, an hour starts on the local wall clock's hour, all year", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SUB_HOUR_ZONES),
        fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }),
        (tz, t) => {
          const h = hourStart(t, tz);
          expect(h <= t && t < h + HOUR).toBe(true);
          expect(hourStart(h, tz)).toBe(h);
          const wall = new Intl.DateTimeFormat("en-US", {
            timeZone: tz,
            minute: "numeric",
            second: "numeric",
          }).format(new Date(h));
          expect(wall).toBe("00:00");
        },
      ),
      { numRuns: 300 },
    );
  });

  test.each(SUB_HOUR_ZONES)(
    "in %s, every local day is a whole number of stored hours, planned as exactly one day piece",
    (tz) => {
      fc.assert(
        fc.property(
          fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }),
          (t) => {
            const day = dayStart(t, tz);
            const end = nextBucket("day", day, tz);
            expect(hourStart(day, tz)).toBe(day);
            expect(hourStart(end, tz)).toBe(end);
            expect([23, 24, 25]).toContain(hours(end - day));
            expect(planRange(day, end, tz)).toEqual([
              { interval: "day", bucketStart: day, bucketEnd: end },
            ]);
            // No stored hour straddles the midnight: the hour before it ends there, the hour holding it starts there.
            expect(hourStart(day - 1, tz) + HOUR).toBe(day);
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});

describe("local days", () => {
  // [zone, a local date, its first instant (UTC), the next date's first instant, hours in the day]
  const days: [string, string, string, string, number][] = [
    ["America/New_York", "2024-01-15", "2024-01-15T05:00:00Z", "2024-01-16T05:00:00Z", 24],
    [
      "America/New_York",
      "2024-03-10 (DST starts)",
      "2024-03-10T05:00:00Z",
      "2024-03-11T04:00:00Z",
      23,
    ],
    [
      "America/New_York",
      "2024-11-03 (DST ends)",
      "2024-11-03T04:00:00Z",
      "2024-11-04T05:00:00Z",
      25,
    ],
    [
      "Europe/Berlin",
      "2024-03-31 (DST starts)",
      "2024-03-30T23:00:00Z",
      "2024-03-31T22:00:00Z",
      23,
    ],
    ["Europe/Berlin", "2024-10-27 (DST ends)", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z", 25],
    ["Europe/Berlin", "2024-07-01", "2024-06-30T22:00:00Z", "2024-07-01T22:00:00Z", 24],
    [
      "Australia/Sydney",
      "2024-10-06 (DST starts, spring)",
      "2024-10-05T14:00:00Z",
      "2024-10-06T13:00:00Z",
      23,
    ],
    [
      "Australia/Sydney",
      "2024-04-07 (DST ends, autumn)",
      "2024-04-06T13:00:00Z",
      "2024-04-07T14:00:00Z",
      25,
    ],
    ["Australia/Sydney", "2024-07-01 (winter)", "2024-06-30T14:00:00Z", "2024-07-01T14:00:00Z", 24],
    ["UTC", "2024-03-31", "2024-03-31T00:00:00Z", "2024-04-01T00:00:00Z", 24],
    ["UTC", "2024-02-29 (leap day)", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", 24],
    ["Asia/Kolkata", "2024-03-31", "2024-03-30T18:30:00Z", "2024-03-31T18:30:00Z", 24],
  ];
  test.each(days)(
    "in %s, local day %s starts at %s and the next at %s (%i hours)",
    (tz, _label, startIso, endIso, length) => {
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
    },
  );

  test.each(ZONES)(
    "in %s, every day of 2024 has 23, 24 or 25 hours and the days tile the year",
    (tz) => {
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
        "America/New_York": [
          [23, 1],
          [24, 364],
          [25, 1],
        ],
        "Europe/Berlin": [
          [23, 1],
          [24, 364],
          [25, 1],
        ],
        "Australia/Sydney": [
          [23, 1],
          [24, 364],
          [25, 1],
        ],
        UTC: [[24, 366]],
        "Asia/Kolkata": [[24, 366]],
      };
      expect([...lengths].sort((a, b) => a[0] - b[0])).toEqual(expected[tz]);
    },
  );
});

describe("local months and weeks", () => {
  // [zone, instant, month start, next month start, hours in the month]
  const months: [string, string, string, string, number][] = [
    [
      "America/New_York",
      "2024-03-20T12:00:00Z",
      "2024-03-01T05:00:00Z",
      "2024-04-01T04:00:00Z",
      31 * 24 - 1,
    ],
    [
      "America/New_York",
      "2024-03-01T04:59:59.999Z",
      "2024-02-01T05:00:00Z",
      "2024-03-01T05:00:00Z",
      29 * 24,
    ],
    [
      "America/New_York",
      "2024-12-31T23:00:00Z",
      "2024-12-01T05:00:00Z",
      "2025-01-01T05:00:00Z",
      31 * 24,
    ],
    [
      "Europe/Berlin",
      "2024-10-15T00:00:00Z",
      "2024-09-30T22:00:00Z",
      "2024-10-31T23:00:00Z",
      31 * 24 + 1,
    ],
    [
      "Europe/Berlin",
      "2024-12-31T23:30:00Z",
      "2024-12-31T23:00:00Z",
      "2025-01-31T23:00:00Z",
      31 * 24,
    ],
    [
      "Australia/Sydney",
      "2024-10-10T00:00:00Z",
      "2024-09-30T14:00:00Z",
      "2024-10-31T13:00:00Z",
      31 * 24 - 1,
    ],
    [
      "Australia/Sydney",
      "2024-04-10T00:00:00Z",
      "2024-03-31T13:00:00Z",
      "2024-04-30T14:00:00Z",
      30 * 24 + 1,
    ],
    ["UTC", "2024-12-31T23:59:59.999Z", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z", 31 * 24],
    [
      "Asia/Kolkata",
      "2024-02-10T00:00:00Z",
      "2024-01-31T18:30:00Z",
      "2024-02-29T18:30:00Z",
      29 * 24,
    ],
  ];
  test.each(months)(
    "in %s, the instant %s is in the local month starting %s and ending %s (%i hours)",
    (tz, iso, startIso, endIso, length) => {
      expect(monthStart(Z(iso), tz)).toBe(Z(startIso));
      expect(bucketStart("month", Z(iso), tz)).toBe(Z(startIso));
      expect(nextBucket("month", Z(startIso), tz)).toBe(Z(endIso));
      expect(hours(Z(endIso) - Z(startIso))).toBe(length);
    },
  );

  // [zone, instant, Monday it belongs to, next Monday, hours in the week]
  const weeks: [string, string, string, string, number][] = [
    // Sunday 2024-03-10, noon in New York (the DST-start day) belongs to the week of Monday 4 March.
    [
      "America/New_York",
      "2024-03-10T16:00:00Z",
      "2024-03-04T05:00:00Z",
      "2024-03-11T04:00:00Z",
      167,
    ],
    // Monday 00:00 local is the first instant of its own week.
    [
      "America/New_York",
      "2024-03-11T04:00:00Z",
      "2024-03-11T04:00:00Z",
      "2024-03-18T04:00:00Z",
      168,
    ],
    // Sunday 23:59 local is still the previous week.
    [
      "America/New_York",
      "2024-03-18T03:59:00Z",
      "2024-03-11T04:00:00Z",
      "2024-03-18T04:00:00Z",
      168,
    ],
    ["Europe/Berlin", "2024-10-27T12:00:00Z", "2024-10-20T22:00:00Z", "2024-10-27T23:00:00Z", 169],
    [
      "Australia/Sydney",
      "2024-10-06T12:00:00Z",
      "2024-09-29T14:00:00Z",
      "2024-10-06T13:00:00Z",
      167,
    ],
    // Wednesday 1 January 2025 belongs to the week of Monday 30 December 2024.
    ["UTC", "2025-01-01T10:00:00Z", "2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z", 168],
    ["Asia/Kolkata", "2024-03-31T10:00:00Z", "2024-03-24T18:30:00Z", "2024-03-31T18:30:00Z", 168],
  ];
  test.each(weeks)(
    "in %s, the instant %s is in the week starting Monday %s and ending %s (%i hours)",
    (tz, iso, startIso, endIso, length) => {
      expect(weekStart(Z(iso), tz)).toBe(Z(startIso));
      expect(bucketStart("week", Z(iso), tz)).toBe(Z(startIso));
      expect(localWeekday(Z(startIso), tz)).toBe("Mon");
      expect(nextBucket("week", Z(startIso), tz)).toBe(Z(endIso));
      expect(hours(Z(endIso) - Z(startIso))).toBe(length);
    },
  );

  test("for random instants in every zone, each bucket contains the instant and starts on a local calendar boundary", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Z("2000-01-01T00:00:00Z"), max: Z("2040-01-01T00:00:00Z") }),
        (tz, t) => {
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
          expect(
            nextBucket("hour", bucketStart("hour", t, tz), tz) - bucketStart("hour", t, tz),
          ).toBe(HOUR);
        },
      ),
      { numRuns: 300 },
    );
  });
});
