// The abuse suite: hostile input through the real ingest route (t.fetch), each case
// ending in a clear status with nothing lost or mis-stored (the stored and counted state
// is asserted). The cases that already have their test elsewhere are not repeated here:
// - invalid keys (missing, empty, numeric, over 200 characters, unknown, rotated) and
//   disabled sites: http.test.ts ("400 bad request", "401 and 403");
// - wrong origins and a missing Origin with allowedOrigins set, an empty allowedOrigins:
//   http.test.ts ("401 and 403"), origins.test.ts (normalisation, wildcards, punycode);
// - oversized bodies (64 KiB in bytes, Content-Length, 101 events) and malformed JSON:
//   http.test.ts ("413 too large", "fuzz");
// - lone surrogates: http.test.ts ("unicode"), storedStrings.test.ts;
// - a flood from one client (rotating headers and user agents, bots, a site's budget):
//   rateLimitAbuse.test.ts, ingestHardening.test.ts ("rate limits");
// - hostile 64 KiB batches built for rollup rows: isolation.test.ts.
// Here: deeply nested bodies, prototype-pollution keys, unicode edge cases, timestamps far
// in the past or future, and a site with 100,000 distinct paths.
import { describe, expect, test, vi } from "vitest";
import { api, components, internal } from "../example/convex/_generated/api.js";
import {
  documentWriteStats,
  enforceConvexDocumentLimits,
} from "../src/component/convexLimits.testlib.js";
import { MAX_EVENTS_NESTING } from "../src/component/events.js";
import { readCanonicalRows } from "../src/component/canonical.js";
import type { DataModel, Id } from "../src/component/_generated/dataModel.js";
import type { GenericMutationCtx } from "convex/server";
import { initApp, batches, inComponent, useFixedClock, type App } from "./app.setup.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

useFixedClock(NOW);
enforceConvexDocumentLimits();

async function createSite(t: App, settings: Record<string, number> = {}) {
  return await t.mutation(components.analytics.sites.createSite, {
    slug: "shop",
    name: "Shop",
    settings,
  });
}

function post(t: App, body: unknown, ip = "198.51.100.7") {
  return t
    .withRequestMetadata({ ip, userAgent: "Mozilla/5.0 Firefox/128.0" })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
}

const pageview = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "pageview",
  occurredAt: NOW - MINUTE,
  url: "https://shop.example.org/",
  visitorId: "visitor-1",
  ...extra,
});

const drain = (t: App) => t.finishAllScheduledFunctions(vi.runAllTimers);
const range = (siteId: string) => ({ siteId, from: NOW - 8 * DAY, to: NOW + DAY });

async function stored(t: App) {
  const { processed, queued } = await batches(t);
  return [...processed, ...queued].flatMap((b) => b.events);
}

describe("deeply nested bodies", () => {
  /** `n` objects nested as text: a runtime's JSON.stringify could not even build it. */
  const nestedText = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  const envelopeText = (key: string, eventsText: string) =>
    `{"key":${JSON.stringify(key)},"batchId":"deep","sentAt":${NOW},"events":${eventsText}}`;

  test.each([
    ["events nested 20,000 arrays deep", `${"[".repeat(20_000)}${"]".repeat(20_000)}`],
    [
      "a prop value nested 10,000 objects deep",
      `[${JSON.stringify(pageview("flat"))},{"id":"deep","type":"pageview","occurredAt":${NOW - MINUTE},"url":"https://shop.example.org/","visitorId":"v","props":{"x":${nestedText(10_000)}}}]`,
    ],
    ["an event 9 levels deep", `[{"props":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}]`],
  ])(
    "%s is answered 400 invalid_shape (it used to be a 503, which the tracker retries forever) and stores nothing",
    async (_, eventsText) => {
      const t = initApp();
      const { writeKey } = await createSite(t);
      const res = await post(t, envelopeText(writeKey, eventsText));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: {
          code: "invalid_shape",
          message: `events may nest at most ${MAX_EVENTS_NESTING} levels of arrays and objects`,
        },
      });
      await drain(t);
      expect(await stored(t)).toEqual([]);
    },
  );

  test("a body nested 20,000 arrays deep is answered 400 invalid_shape and stores nothing", async () => {
    const t = initApp();
    await createSite(t);
    const res = await post(t, `${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_shape");
    expect(await stored(t)).toEqual([]);
  });

  test("a nested prop value within the nesting limit rejects that event with its reason; the batch's other event is kept and counted", async () => {
    const t = initApp();
    const { writeKey, siteId } = await createSite(t);
    const res = await post(t, {
      key: writeKey,
      batchId: "nested",
      sentAt: NOW,
      events: [pageview("nested", { props: { x: { a: { b: 1 } } } }), pageview("flat")],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 1,
      duplicate: false,
      rejected: [{ index: 0, reason: "props.x must be a string, a finite number or a boolean" }],
    });
    await drain(t);
    expect((await stored(t)).map((e) => e.id)).toEqual(["flat"]);
    expect((await t.query(api.analytics.getOverview, range(siteId))).pageviews).toBe(1);
  });
});

describe("prototype-pollution keys", () => {
  test("__proto__, constructor and prototype as body keys, event fields, prop keys and an event name pollute nothing; the events are stored as sent and counted", async () => {
    const t = initApp();
    const { writeKey, siteId } = await createSite(t);
    // Written as text: JSON.parse makes "__proto__" an own property, as a browser's body would.
    const body = `{
      "__proto__": { "polluted": "body" },
      "constructor": { "prototype": { "polluted": "ctor" } },
      "key": ${JSON.stringify(writeKey)}, "batchId": "proto", "sentAt": ${NOW},
      "events": [
        { "id": "p1", "type": "pageview", "occurredAt": ${NOW - MINUTE},
          "url": "https://shop.example.org/", "visitorId": "v1",
          "__proto__": { "type": "track", "polluted": "event" },
          "constructor": "event-ctor",
          "props": { "constructor": "c", "prototype": "p", "toString": "t", "hasOwnProperty": "h" } },
        { "id": "p2", "type": "track", "name": "__proto__", "occurredAt": ${NOW - MINUTE},
          "url": "https://shop.example.org/__proto__/constructor", "visitorId": "v1",
          "props": { "__proto__": "x" } }
      ]
    }`;
    const res = await post(t, body);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2, duplicate: false, rejected: [] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    await drain(t);
    const events = await stored(t);
    expect(events.map((e) => [e.id, e.type, e.name, e.props])).toEqual([
      [
        "p1",
        "pageview",
        undefined,
        { constructor: "c", prototype: "p", toString: "t", hasOwnProperty: "h" },
      ],
      // Convex field names may not start with "_": the key is kept, escaped (events.ts).
      ["p2", "track", "__proto__", { "p:__proto__": "x" }],
    ]);
    expect(Object.keys(events[0]!)).not.toContain("polluted");
    const breakdown = async (dimension: "prop" | "event" | "page") =>
      (await t.query(api.analytics.getBreakdown, { ...range(siteId), dimension, limit: 100 })).rows
        .map((r) => [r.key, r.events])
        .sort();
    expect(await breakdown("prop")).toEqual([
      ["__proto__|__proto__|x", 1],
      ["pageview|constructor|c", 1],
      ["pageview|hasOwnProperty|h", 1],
      ["pageview|prototype|p", 1],
      ["pageview|toString|t", 1],
    ]);
    expect(await breakdown("event")).toEqual([
      ["__proto__", 1],
      ["pageview", 1],
    ]);
    expect(await breakdown("page")).toEqual([["/", 1]]);
  });
});

describe("unicode edge cases", () => {
  const cases = {
    nul: "/a\u0000b",
    bom: "/\uFEFFbom",
    rtlOverride: "/\u202Egnp.exe",
    zwjEmoji: "/👩‍👩‍👧",
    astral: "/𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    nfc: "/caf\u00e9",
    nfd: "/cafe\u0301",
  };
  test("NUL, a BOM, an RTL override, ZWJ emoji, astral letters and NFC and NFD forms are stored as sent (decoded from the URL) and counted as distinct pages", async () => {
    const t = initApp();
    const { writeKey, siteId } = await createSite(t);
    const entries = Object.entries(cases);
    const res = await post(t, {
      key: writeKey,
      batchId: "unicode",
      sentAt: NOW,
      events: entries.map(([name, path]) =>
        pageview(name, {
          url: `https://shop.example.org${path}`,
          title: path,
          props: { [name]: path },
        }),
      ),
    });
    expect(await res.json()).toEqual({ accepted: entries.length, duplicate: false, rejected: [] });
    await drain(t);
    const events = await stored(t);
    for (const [name, path] of entries) {
      const event = events.find((e) => e.id === name)!;
      expect([name, event.title, event.props]).toEqual([name, path, { [name]: path }]);
    }
    const { rows } = await t.query(api.analytics.getBreakdown, {
      ...range(siteId),
      dimension: "page",
      limit: 100,
    });
    expect(rows.length).toBe(entries.length);
    expect(rows.every((r) => r.pageviews === 1)).toBe(true);
    const { rows: props } = await t.query(api.analytics.getBreakdown, {
      ...range(siteId),
      dimension: "prop",
      limit: 100,
    });
    expect(props.map((r) => r.key).sort()).toEqual(
      entries.map(([name, path]) => `pageview|${name}|${path}`).sort(),
    );
  });
});

describe("timestamps far in the past or future", () => {
  test.each([
    ["0 (1970)", 0],
    ["a year ago", NOW - 365 * DAY],
    ["8 days ago", NOW - 8 * DAY],
    ["-8.64e15 (the first valid Date)", -8.64e15],
  ])(
    "an occurredAt of %s, over 7 days before the batch was sent, rejects the event with its reason and stores nothing",
    async (_, occurredAt) => {
      const t = initApp();
      const { writeKey, siteId } = await createSite(t);
      const res = await post(t, {
        key: writeKey,
        batchId: "old",
        sentAt: NOW,
        events: [pageview("e", { occurredAt })],
      });
      expect(await res.json()).toEqual({
        accepted: 0,
        duplicate: false,
        rejected: [
          {
            index: 0,
            reason:
              "the event occurred more than 7 days before its batch was sent: batches are deduplicated for 7 days, so it is refused rather than risk counting it twice",
          },
        ],
      });
      await drain(t);
      expect(await stored(t)).toEqual([]);
      expect((await t.query(api.analytics.getOverview, range(siteId))).events).toBe(0);
    },
  );

  test.each([
    ["a year ahead", NOW + 365 * DAY, NOW + 5 * MINUTE],
    ["past the last valid Date", 8.64e15 + 1, NOW + 5 * MINUTE],
    ["1e308", 1e308, NOW + 5 * MINUTE],
    ["a fraction of a millisecond", NOW - MINUTE + 0.4, NOW - MINUTE],
  ])(
    "an occurredAt of %s is clamped to at most 5 minutes after it was received, stored and counted in that hour",
    async (_, occurredAt, expected) => {
      const t = initApp();
      const { writeKey, siteId } = await createSite(t);
      const res = await post(t, {
        key: writeKey,
        batchId: "when",
        sentAt: NOW,
        events: [pageview("e", { occurredAt })],
      });
      expect(await res.json()).toEqual({ accepted: 1, duplicate: false, rejected: [] });
      await drain(t);
      expect((await stored(t)).map((e) => e.occurredAt)).toEqual([expected]);
      const hour = Math.floor(expected / HOUR) * HOUR;
      const inHour = await t.query(api.analytics.getOverview, {
        siteId,
        from: hour,
        to: hour + HOUR,
      });
      expect(inHour.pageviews).toBe(1);
      expect((await t.query(api.analytics.getOverview, range(siteId))).pageviews).toBe(1);
    },
  );

  test.each([
    ["1e309 (Infinity once parsed)", "1e309"],
    ["a string", '"2026-03-10"'],
    ["null", "null"],
  ])(
    "an occurredAt of %s rejects the event with its reason and keeps the batch's others",
    async (_, text) => {
      const t = initApp();
      const { writeKey } = await createSite(t);
      const bad = `{"id":"bad","type":"pageview","occurredAt":${text},"url":"https://shop.example.org/","visitorId":"v"}`;
      const res = await post(
        t,
        `{"key":${JSON.stringify(writeKey)},"batchId":"b","sentAt":${NOW},"events":[${bad},${JSON.stringify(pageview("ok"))}]}`,
      );
      expect(await res.json()).toEqual({
        accepted: 1,
        duplicate: false,
        rejected: [{ index: 0, reason: "occurredAt must be epoch milliseconds" }],
      });
      await drain(t);
      expect((await stored(t)).map((e) => e.id)).toEqual(["ok"]);
    },
  );
});

/**
 * 100,000 takes about 13 minutes on a loaded 2-core machine, too slow for `npm test`, which
 * runs 10,000 (five times the cardinality cap); ABUSE_DISTINCT_PATHS=100000 runs the full size.
 */
const DISTINCT_PATHS = Number(process.env.ABUSE_DISTINCT_PATHS ?? 10_000);

describe(`a site with ${DISTINCT_PATHS} distinct paths`, () => {
  test("pageviews of distinct paths through ingest, the worker and compaction: the page breakdown is capped with the tail in (other), totals stay exact, every write within our budgets", async () => {
    const t = initApp();
    const cap = 2_000;
    const { writeKey, siteId } = await createSite(t, {
      clientBatchesPerMinute: 100_000,
      siteBatchesPerMinute: 100_000,
    });
    const PATHS = DISTINCT_PATHS;
    const perBatch = 100;
    for (let b = 0; b < PATHS / perBatch; b++) {
      const events = Array.from({ length: perBatch }, (_, i) => {
        const n = b * perBatch + i;
        return pageview(`e${n}`, {
          url: `https://shop.example.org/item/${n}`,
          visitorId: `v${n % 500}`,
          occurredAt: NOW - HOUR + Math.floor((n * HOUR) / PATHS / 2),
        });
      });
      const res = await post(t, { key: writeKey, batchId: `b${b}`, sentAt: NOW, events });
      expect(res.status).toBe(202);
      if (b % 100 === 99) await drain(t);
    }
    await drain(t);
    expect(await t.query(api.analytics.listDeadLetters, { siteId })).toEqual([]);
    const whole = range(siteId);
    const before = await t.query(api.analytics.getOverview, whole);
    expect(before.pageviews).toBe(PATHS);

    // The kick cron compacts the closed hour.
    vi.advanceTimersByTime(2 * HOUR);
    await t.mutation(internal.analytics.kick, {});
    await drain(t);
    const after = await t.query(api.analytics.getOverview, whole);
    expect(after).toEqual(before);
    const { rows } = await t.query(api.analytics.getBreakdown, {
      ...whole,
      dimension: "page",
      limit: 1000,
    });
    expect(rows.length).toBe(1000);
    // Every level's canonical page rows are capped, the tail folded into "(other)", and
    // they add up to every pageview exactly.
    const levels = await inComponent(t, "analytics", async (ctx: GenericMutationCtx<DataModel>) =>
      Promise.all(
        (
          [
            ["hour", NOW - HOUR],
            ["day", Math.floor(NOW / DAY) * DAY],
            ["month", Date.UTC(2026, 2, 1)],
          ] as const
        ).map(async ([interval, bucketStart]) => {
          const { rows: canonical } = await readCanonicalRows(ctx, {
            siteId: siteId as Id<"sites">,
            generation: 0,
            interval,
            bucketStart,
            dimension: "page",
          });
          return {
            interval,
            capped: canonical.length <= cap && canonical.length > 1000,
            other: canonical.find((r) => r.key === "(other)")!.pageviews,
            pageviews: canonical.reduce((sum, r) => sum + r.pageviews, 0),
          };
        }),
      ),
    );
    for (const level of levels)
      expect(level).toEqual({
        interval: level.interval,
        capped: true,
        other: expect.any(Number),
        pageviews: PATHS,
      });
    expect(rows[0]).toMatchObject({ key: "(other)", pageviews: levels[0]!.other });
    expect(levels[0]!.other).toBeGreaterThanOrEqual(PATHS - cap);
    for (const { table, largestBytes, longestArray } of documentWriteStats())
      expect([table, largestBytes <= 512 * 1024, longestArray <= 4_096]).toEqual([
        table,
        true,
        true,
      ]);
  }, 3_600_000);
});
