import { describe, expect, test } from "vitest";
import {
  countryFlag,
  countryName,
  formatBucket,
  formatDecimal,
  formatDuration,
  formatNumber,
  formatPercent,
  formatTick,
  formatTimezone,
} from "./format.js";
import { computeRange, granularityOptions, localDayStart, rangeEnd } from "./range.js";

const NY = "America/New_York";
const KOLKATA = "Asia/Kolkata";

describe("numbers", () => {
  test("counts are grouped and never rounded into thousands", () => {
    expect(formatNumber(20431, "en-US")).toBe("20,431");
    expect(formatNumber(0, "en-US")).toBe("0");
    expect(formatNumber(1234567, "de-DE")).toBe("1.234.567");
  });
  test("ratios show as percentages with at most one decimal, and a missing ratio as a dash", () => {
    expect(formatPercent(0.4567, "en-US")).toBe("45.7%");
    expect(formatPercent(1, "en-US")).toBe("100%");
    expect(formatPercent(0, "en-US")).toBe("0%");
    expect(formatPercent(null, "en-US")).toBe("–");
  });
  test("views per session keep two decimals", () => {
    expect(formatDecimal(2.3456, "en-US")).toBe("2.35");
    expect(formatDecimal(null, "en-US")).toBe("–");
  });
});

describe("durations", () => {
  test("a visit duration reads in seconds, minutes and hours", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(42_400)).toBe("42s");
    expect(formatDuration(65_000)).toBe("1m 5s");
    expect(formatDuration(3_780_000)).toBe("1h 3m");
    expect(formatDuration(null)).toBe("–");
  });
});

describe("dates in the site's timezone", () => {
  // 2026-03-08 is the US spring-forward day: New York midnight is 05:00 UTC, the next midnight 04:00 UTC.
  const nyMidnight = Date.UTC(2026, 2, 8, 5);
  test("a day bucket is labelled with the site's local date, not UTC's", () => {
    // 02:00 UTC on 9 March is still 8 March in New York.
    expect(formatBucket(Date.UTC(2026, 2, 9, 2), "day", NY, "en-US")).toBe("Sun, Mar 8, 2026");
    expect(formatBucket(nyMidnight, "day", NY, "en-US")).toBe("Sun, Mar 8, 2026");
  });
  test("hour buckets show the local wall-clock hour, across a DST change", () => {
    expect(formatBucket(Date.UTC(2026, 2, 8, 6), "hour", NY, "en-US")).toBe("Sun, Mar 8, 01:00");
    expect(formatBucket(Date.UTC(2026, 2, 8, 7), "hour", NY, "en-US")).toBe("Sun, Mar 8, 03:00");
    expect(formatTick(Date.UTC(2026, 2, 8, 7), "hour", NY, "en-US")).toBe("03:00");
  });
  test("a half-hour timezone shows half hours", () => {
    expect(formatTick(Date.UTC(2026, 11, 1, 10), "hour", KOLKATA, "en-US")).toBe("15:30");
  });
  test("week and month buckets name their period", () => {
    expect(formatBucket(Date.UTC(2026, 10, 30, 5), "week", NY, "en-US")).toBe(
      "Week of Nov 30, 2026",
    );
    expect(formatBucket(Date.UTC(2026, 11, 1, 5), "month", NY, "en-US")).toBe("December 2026");
  });
  test("the timezone is shown with its current offset", () => {
    expect(formatTimezone(NY, Date.UTC(2026, 11, 2), "en-US")).toBe("America/New_York (GMT-05:00)");
    expect(formatTimezone(NY, Date.UTC(2026, 6, 2), "en-US")).toBe("America/New_York (GMT-04:00)");
  });
});

describe("countries", () => {
  test("an ISO code becomes its flag (regional indicators) and its name", () => {
    expect(countryFlag("DE")).toBe("\u{1F1E9}\u{1F1EA}");
    expect(countryName("DE", "en-US")).toBe("Germany");
    expect(countryName("JP", "de-DE")).toBe("Japan");
  });
  test("placeholders and unknown values are left as they are", () => {
    expect(countryFlag("(none)")).toBe("");
    expect(countryName("(other)", "en-US")).toBe("(other)");
  });
});

describe("ranges", () => {
  // 2026-12-02 03:20 UTC is 2026-12-01 22:20 in New York.
  const now = Date.UTC(2026, 11, 2, 3, 20);
  test("every range ends at the next whole hour", () => {
    expect(rangeEnd(now)).toBe(Date.UTC(2026, 11, 2, 4));
    expect(rangeEnd(Date.UTC(2026, 11, 2, 4))).toBe(Date.UTC(2026, 11, 2, 5));
  });
  test("today starts at the site's local midnight", () => {
    expect(computeRange("today", now, NY)).toEqual({
      from: Date.UTC(2026, 11, 1, 5),
      to: Date.UTC(2026, 11, 2, 4),
    });
    expect(computeRange("today", now, "UTC").from).toBe(Date.UTC(2026, 11, 2));
  });
  test("N days are N local days including today; 12 months start on a local first of the month", () => {
    expect(computeRange("7d", now, NY).from).toBe(Date.UTC(2026, 10, 25, 5));
    expect(computeRange("30d", now, NY).from).toBe(Date.UTC(2026, 10, 2, 5));
    expect(computeRange("90d", now, NY).from).toBe(Date.UTC(2026, 8, 3, 4)); // before DST ended: UTC-4
    expect(computeRange("12mo", now, NY).from).toBe(Date.UTC(2026, 0, 1, 5));
    expect(computeRange("24h", now, NY)).toEqual({
      from: Date.UTC(2026, 11, 1, 4),
      to: Date.UTC(2026, 11, 2, 4),
    });
  });
  test("a custom range covers its whole local days, and never the future", () => {
    expect(computeRange("custom", now, NY, { start: "2026-11-01", end: "2026-11-30" })).toEqual({
      from: Date.UTC(2026, 10, 1, 4),
      to: Date.UTC(2026, 11, 1, 5),
    });
    expect(computeRange("custom", now, NY, { start: "2026-11-30", end: "2026-12-31" }).to).toBe(
      rangeEnd(now),
    );
    expect(() =>
      computeRange("custom", now, NY, { start: "2026-11-30", end: "2026-11-01" }),
    ).toThrow(/after the start/);
    expect(() =>
      computeRange("custom", now, NY, { start: "2024-01-01", end: "2026-11-01" }),
    ).toThrow(/400 days/);
  });
  test("local midnight is found for the far ends of the offset range", () => {
    expect(localDayStart(2026, 12, 2, "Pacific/Kiritimati")).toBe(Date.UTC(2026, 11, 1, 10));
    expect(localDayStart(2026, 12, 2, "Etc/GMT+12")).toBe(Date.UTC(2026, 11, 2, 12));
  });
  test("only granularities that make sense for the range are offered", () => {
    const day = 86_400_000;
    expect(granularityOptions({ from: 0, to: day })).toEqual(["hour"]);
    expect(granularityOptions({ from: 0, to: 7 * day })).toEqual(["hour", "day"]);
    expect(granularityOptions({ from: 0, to: 30 * day })).toEqual(["day", "week"]);
    expect(granularityOptions({ from: 0, to: 365 * day })).toEqual(["day", "week", "month"]);
  });
});
