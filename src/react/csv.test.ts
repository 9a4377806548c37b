import { describe, expect, test } from "vitest";
import { breakdownCsv, csvField, timeseriesCsv, toCsv } from "./csv.js";

describe("RFC 4180", () => {
  test("a field is quoted only when it holds a comma, a double quote, CR or LF, and quotes inside are doubled", () => {
    expect(csvField("/pricing")).toBe("/pricing");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField(" padded ")).toBe(" padded ");
    expect(csvField(null)).toBe("");
    expect(csvField(0)).toBe("0");
  });
  test("records end with CRLF, the last one included", () => {
    expect(toCsv(["a", "b"], [[1, "x,y"]])).toBe('a,b\r\n1,"x,y"\r\n');
  });
});

describe("report exports", () => {
  test("a breakdown exports the API's numbers unformatted, an unknown bounce rate as an empty field", () => {
    const csv = breakdownCsv("referrer", [
      {
        key: "news.ycombinator.com",
        visitors: 1234,
        pageviews: 2000,
        events: 2100,
        entries: 1300,
        bounceRate: 0.4567,
      },
      {
        key: 'odd "key", really',
        visitors: 1,
        pageviews: 0,
        events: 1,
        entries: 0,
        bounceRate: null,
      },
    ]);
    expect(csv).toBe(
      "referrer,visitors,pageviews,events,entries,bounce_rate\r\n" +
        "news.ycombinator.com,1234,2000,2100,1300,0.4567\r\n" +
        '"odd ""key"", really",1,0,1,0,\r\n',
    );
  });
  test("a timeseries exports each bucket in UTC and in the site's timezone", () => {
    const csv = timeseriesCsv(
      {
        granularity: "hour",
        points: [
          {
            bucketStart: Date.UTC(2026, 2, 8, 7),
            visitors: 3,
            pageviews: 5,
            sessions: 4,
            events: 6,
            bounceRate: 0.25,
            avgSessionDurationMs: 61_000,
          },
        ],
      },
      "America/New_York",
      "en-US",
    );
    expect(csv).toBe(
      "bucket_start_utc,bucket_hour_America/New_York,visitors,pageviews,sessions,events,bounce_rate,avg_session_duration_ms\r\n" +
        '2026-03-08T07:00:00.000Z,"Sun, Mar 8, 03:00",3,5,4,6,0.25,61000\r\n',
    );
  });
});
