// Range plans (planRange), checked against hand-computed instants and against
// timeOracle.testlib.ts's reading of the local calendar. Range alignment, the
// chart's granularity and compared periods are timeRanges.test.ts; the buckets
// themselves (hours, days, weeks, months) are timeBuckets.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DAY,
  HOUR,
  MAX_RANGE_MS,
  MINUTE,
  alignRange,
  dayStart,
  hourPhase,
  nextBucket,
  planRange,
  type Piece,
} from "./time.js";
import {
  SUB_HOUR_ZONES,
  WHOLE_HOUR_ZONES,
  Z,
  isLocalMidnight,
  isMonthStart,
  localDate,
  localHourOf,
  localMonth,
  phaseOf,
} from "./timeOracle.testlib.js";

/** Every property the brief asks of a plan; returns the first violation, or null. */
function planViolation(pieces: Piece[], from: number, to: number, tz: string): string | null {
  if (pieces.length === 0) return "no pieces";
  if (pieces[0]!.bucketStart !== from) return "does not start at from";
  if (pieces[pieces.length - 1]!.bucketEnd !== to) return "does not end at to";
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (i > 0 && pieces[i - 1]!.bucketEnd !== p.bucketStart)
      return `gap or overlap before piece ${i}`;
    if (p.bucketEnd <= p.bucketStart) return `empty piece ${i}`;
    switch (p.interval) {
      case "hour":
        if (
          localHourOf(p.bucketStart, tz) !== p.bucketStart ||
          p.bucketEnd - p.bucketStart !== HOUR
        )
          return `piece ${i} is not a stored (site-local) hour`;
        break;
      case "day":
        if (
          !isLocalMidnight(p.bucketStart, tz) ||
          !isLocalMidnight(p.bucketEnd, tz) ||
          localDate(p.bucketEnd - 1, tz) !== localDate(p.bucketStart, tz)
        ) {
          return `piece ${i} is not one whole local day`;
        }
        break;
      case "month":
        if (
          !isMonthStart(p.bucketStart, tz) ||
          !isMonthStart(p.bucketEnd, tz) ||
          localMonth(p.bucketEnd - 1, tz) !== localMonth(p.bucketStart, tz)
        ) {
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
  for (let i = 0; i < pieces.length;) {
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
  pieces.reduce<Record<string, number>>(
    (acc, p) => ({ ...acc, [p.interval]: (acc[p.interval] ?? 0) + 1 }),
    {},
  );

describe("planRange", () => {
  test("a range from mid-afternoon on 10 January to 09:00 on 3 April in New York is hours, days, two months, days, hours", () => {
    const tz = "America/New_York";
    const from = Z("2024-01-10T20:00:00Z"); // 15:00 local
    const to = Z("2024-04-03T13:00:00Z"); // 09:00 local (EDT)
    const pieces = planRange(from, to, tz);
    expect(planViolation(pieces, from, to, tz)).toBeNull();
    // 9 hours to midnight, 21 days of January, February and March, 2 days of April, 9 hours.
    expect(pieces.map((p) => p.interval).join(",")).toBe(
      [
        ...Array(9).fill("hour"),
        ...Array(21).fill("day"),
        "month",
        "month",
        ...Array(2).fill("day"),
        ...Array(9).fill("hour"),
      ].join(","),
    );
    expect(
      pieces.find((p) => p.interval === "month" && p.bucketStart === Z("2024-03-01T05:00:00Z"))
        ?.bucketEnd,
    ).toBe(Z("2024-04-01T04:00:00Z"));
  });

  test("a whole local month in Berlin, including the 25-hour DST-end day, is exactly one month piece", () => {
    const tz = "Europe/Berlin";
    const from = Z("2024-09-30T22:00:00Z");
    const to = Z("2024-10-31T23:00:00Z");
    expect(planRange(from, to, tz)).toEqual([
      { interval: "month", bucketStart: from, bucketEnd: to },
    ]);
  });

  test("the 23-hour DST-start day in Sydney is one day piece", () => {
    const tz = "Australia/Sydney";
    const from = Z("2024-10-05T14:00:00Z");
    const to = Z("2024-10-06T13:00:00Z");
    expect(planRange(from, to, tz)).toEqual([
      { interval: "day", bucketStart: from, bucketEnd: to },
    ]);
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
    const aligned = alignRange(
      Z("2024-01-01T00:00:00Z"),
      Z("2024-01-31T00:00:00Z"),
      HOUR,
      hourPhase(tz),
    );
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
    pieces.forEach((p, i) =>
      expect(p).toEqual({
        interval: "minute",
        bucketStart: to - (30 - i) * MINUTE,
        bucketEnd: to - (29 - i) * MINUTE,
      }),
    );
  });

  test("an empty range has no pieces", () => {
    expect(planRange(Z("2024-05-01T00:00:00Z"), Z("2024-05-01T00:00:00Z"), "UTC")).toEqual([]);
  });

  const hourAlignedRange = fc
    .tuple(
      fc.integer({ min: Z("2020-01-01T00:00:00Z") / HOUR, max: Z("2030-01-01T00:00:00Z") / HOUR }),
      fc.integer({ min: 1, max: 400 * 24 }),
    )
    .map(([fromHour, length]) => ({ from: fromHour * HOUR, to: (fromHour + length) * HOUR }));
  // Ranges that start or end exactly on local midnights, so days and months are exercised often.
  const midnightRange = (tz: string) =>
    fc
      .tuple(
        fc.integer({ min: Z("2020-01-01T00:00:00Z"), max: Z("2030-01-01T00:00:00Z") }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 23 }),
      )
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
        fc.property(
          fc.oneof(
            hourAlignedRange.map(({ from, to }) => ({ from: from + phase, to: to + phase })),
            midnightRange(tz),
          ),
          ({ from, to }) => {
            const pieces = planRange(from, to, tz);
            expect(planViolation(pieces, from, to, tz)).toBeNull();
            // Sanity bound: a coarsest plan of at most 400 days has at most 13 months, 2 x 30 days and 2 x 24 hours.
            expect(pieces.length).toBeLessThanOrEqual(14 + 60 + 48);
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  test("the plan checker used above flags a gap, a split month, a split day and a non-bucket piece", () => {
    const tz = "UTC";
    const from = Z("2024-03-01T00:00:00Z");
    const to = Z("2024-04-01T00:00:00Z");
    const days = Array.from({ length: 31 }, (_, i): Piece => ({
      interval: "day",
      bucketStart: from + i * DAY,
      bucketEnd: from + (i + 1) * DAY,
    }));
    expect(
      planViolation([{ interval: "month", bucketStart: from, bucketEnd: to }], from, to, tz),
    ).toBeNull();
    expect(planViolation(days, from, to, tz)).toMatch(/contain a whole local month/);
    expect(
      planViolation(
        days.filter((_, i) => i !== 3),
        from,
        to,
        tz,
      ),
    ).toMatch(/gap/);
    const hours24 = Array.from({ length: 24 }, (_, i): Piece => ({
      interval: "hour",
      bucketStart: from + i * HOUR,
      bucketEnd: from + (i + 1) * HOUR,
    }));
    expect(planViolation(hours24, from, from + DAY, tz)).toMatch(/contain a whole local day/);
    expect(
      planViolation(
        [{ interval: "day", bucketStart: from + HOUR, bucketEnd: from + DAY + HOUR }],
        from + HOUR,
        from + DAY + HOUR,
        tz,
      ),
    ).toMatch(/not one whole local day/);
  });
});
