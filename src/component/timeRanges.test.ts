// Range alignment (alignRange), the chart's granularity (pickGranularity) and
// compared periods (comparisonRange), checked against hand-computed instants and
// against timeOracle.testlib.ts's reading of the local calendar. Range plans are
// time.test.ts; the buckets themselves (hours, days, weeks, months) are timeBuckets.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DAY,
  HOUR,
  MAX_RANGE_MS,
  MINUTE,
  alignRange,
  comparisonRange,
  dayStart,
  hourPhase,
  nextBucket,
  pickGranularity,
} from "./time.js";
import {
  SUB_HOUR_ZONES,
  ZONES,
  Z,
  isLocalMidnight,
  localDate,
  localHourOf,
  localWeekday,
} from "./timeOracle.testlib.js";

describe("alignRange", () => {
  const at = Z("2024-01-15T10:00:00Z");
  test("rounds from down and to up to whole hours (or minutes)", () => {
    expect(alignRange(at + 20 * MINUTE, at + 2 * HOUR + MINUTE)).toEqual({
      from: at,
      to: at + 3 * HOUR,
    });
    expect(alignRange(at, at + HOUR)).toEqual({ from: at, to: at + HOUR });
    expect(alignRange(at + 20 * MINUTE + 5, at + 40 * MINUTE + 5, MINUTE)).toEqual({
      from: at + 20 * MINUTE,
      to: at + 41 * MINUTE,
    });
  });

  test("with a phase, rounds to hours starting that far past the UTC hour", () => {
    const [p30, p45] = [30 * MINUTE, 45 * MINUTE];
    expect(alignRange(at + 20 * MINUTE, at + 2 * HOUR + MINUTE, HOUR, p30)).toEqual({
      from: at - HOUR + p30,
      to: at + 2 * HOUR + p30,
    });
    expect(alignRange(at + p30, at + HOUR + p30, HOUR, p30)).toEqual({
      from: at + p30,
      to: at + HOUR + p30,
    });
    expect(alignRange(at + 50 * MINUTE, at + 50 * MINUTE + 1, HOUR, p45)).toEqual({
      from: at + p45,
      to: at + HOUR + p45,
    });
    expect(alignRange(at - 1, at, HOUR, p45)).toEqual({ from: at - HOUR + p45, to: at + p45 });
  });

  test("aligned ranges are the smallest site-local-hour ranges covering [from, to)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES, ...SUB_HOUR_ZONES),
        fc.integer({ min: at - 1000 * DAY, max: at }),
        fc.integer({ min: 1, max: 399 * DAY }),
        (tz, from, length) => {
          const r = alignRange(from, from + length, HOUR, hourPhase(tz));
          expect(r.from).toBe(localHourOf(from, tz));
          expect(r.to).toBe(localHourOf(from + length - 1, tz) + HOUR);
        },
      ),
    );
  });

  test("accepts exactly 400 days", () => {
    expect(alignRange(at, at + 400 * DAY)).toEqual({ from: at, to: at + MAX_RANGE_MS });
  });

  const invalid: [string, number, number, RegExp][] = [
    ["an inverted range", at + 2 * HOUR, at, /to .* must be after from/],
    [
      "an inverted range inside one hour",
      at + 40 * MINUTE,
      at + 20 * MINUTE,
      /to .* must be after from/,
    ],
    ["an empty range on an hour", at, at, /to .* must be after from/],
    [
      "an empty range inside an hour",
      at + 30 * MINUTE,
      at + 30 * MINUTE,
      /to .* must be after from/,
    ],
    ["400 days and one hour", at, at + 400 * DAY + HOUR, /at most 400 days/],
    [
      "400 days that round out to more",
      at + 30 * MINUTE,
      at + 30 * MINUTE + 400 * DAY,
      /at most 400 days/,
    ],
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

describe("comparisonRange", () => {
  const NY = "America/New_York";
  const KOLKATA = "Asia/Kolkata";
  // [label, zone, from, to, compare, expected from, expected to], all hand-computed.
  const table: [
    string,
    string,
    string,
    string,
    Parameters<typeof comparisonRange>[2],
    string,
    string,
  ][] = [
    [
      "previous of a week of whole New York days over the DST change is the 7 local days before (one 25-hour day inside)",
      NY,
      "2026-11-02T05:00:00Z",
      "2026-11-09T05:00:00Z",
      "previous",
      "2026-10-26T04:00:00Z",
      "2026-11-02T05:00:00Z",
    ],
    [
      "previous of 3 hours is the 3 hours before",
      NY,
      "2026-11-02T15:00:00Z",
      "2026-11-02T18:00:00Z",
      "previous",
      "2026-11-02T12:00:00Z",
      "2026-11-02T15:00:00Z",
    ],
    [
      "yearOverYear of a Monday is the Monday 364 days earlier, at the same local time",
      NY,
      "2026-11-02T05:00:00Z",
      "2026-11-03T05:00:00Z",
      "yearOverYear",
      "2025-11-03T05:00:00Z",
      "2025-11-04T05:00:00Z",
    ],
    [
      "yearOverYear of a summer day in New York (EDT) lands on an EDT day, at local midnight",
      NY,
      "2026-07-06T04:00:00Z",
      "2026-07-07T04:00:00Z",
      "yearOverYear",
      "2025-07-07T04:00:00Z",
      "2025-07-08T04:00:00Z",
    ],
    [
      "previous of a Kolkata day (+05:30) is the day before, on its half-hour phase",
      KOLKATA,
      "2026-03-09T18:30:00Z",
      "2026-03-10T18:30:00Z",
      "previous",
      "2026-03-08T18:30:00Z",
      "2026-03-09T18:30:00Z",
    ],
    [
      "a custom period is aligned like the report's own range",
      "UTC",
      "2026-03-10T00:00:00Z",
      "2026-03-11T00:00:00Z",
      { from: Z("2026-02-01T00:10:00Z"), to: Z("2026-02-03T23:50:00Z") },
      "2026-02-01T00:00:00Z",
      "2026-02-04T00:00:00Z",
    ],
  ];
  test.each(table)("%s", (_label, tz, from, to, compare, wantFrom, wantTo) => {
    const range = comparisonRange(Z(from), Z(to), compare, tz, HOUR, hourPhase(tz));
    expect({
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
    }).toEqual({
      from: new Date(Z(wantFrom)).toISOString(),
      to: new Date(Z(wantTo)).toISOString(),
    });
  });

  test("yearOverYear keeps the weekday and the local time of day in every zone", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Z("2025-06-01T00:00:00Z"), max: Z("2028-06-01T00:00:00Z") }),
        (tz, t) => {
          const from = dayStart(t, tz);
          const to = nextBucket("day", from, tz);
          const then = comparisonRange(from, to, "yearOverYear", tz, HOUR, hourPhase(tz));
          expect(localWeekday(then.from, tz)).toBe(localWeekday(from, tz));
          expect(localDate(then.from, tz) < localDate(from, tz)).toBe(true);
          expect(isLocalMidnight(then.from, tz)).toBe(true);
          expect(then.to).toBe(nextBucket("day", then.from, tz));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("previous of whole local days ends where the range starts and has as many local days", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Z("2025-06-01T00:00:00Z"), max: Z("2028-06-01T00:00:00Z") }),
        fc.integer({ min: 1, max: 60 }),
        (tz, t, days) => {
          const from = dayStart(t, tz);
          let to = from;
          for (let i = 0; i < days; i++) to = nextBucket("day", to, tz);
          const then = comparisonRange(from, to, "previous", tz, HOUR, hourPhase(tz));
          expect(then.to).toBe(from);
          let d = then.from;
          let n = 0;
          while (d < then.to) {
            d = nextBucket("day", d, tz);
            n++;
          }
          expect([d, n]).toEqual([from, days]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
