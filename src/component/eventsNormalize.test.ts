// The ingest contract's per-event rules (the ingest contract: README.md, "The ingest route"):
// what normalizeEvent accepts, rejects, clamps and renames, table by table. The dimension
// values an event contributes are in eventsAttribution.test.ts.
import fc from "fast-check";
import { convexToJson } from "convex/values";
import { describe, expect, test } from "vitest";
import {
  MAX_PROPS,
  MAX_PROP_KEY_LENGTH,
  MAX_PROP_VALUE_LENGTH,
  normalizeEvent,
  propertyName,
} from "./events.js";
import { NOW, base, ok } from "./events.testlib.js";
import { DAY, MINUTE } from "./time.js";

describe("normalizeEvent accepts every valid shape", () => {
  test("a minimal pageview is kept as is, with no extra fields", () => {
    expect(ok(base)).toEqual(base);
  });

  test("a track event keeps its name and string, number and boolean props", () => {
    const raw = {
      ...base,
      type: "track",
      name: "signup",
      props: { plan: "pro", seats: 3, trial: false, price: 9.5 },
    };
    expect(ok(raw)).toEqual(raw);
  });

  test("an identify event keeps its userId and traits", () => {
    const raw = {
      ...base,
      type: "identify",
      userId: "u_42",
      traits: { email_verified: true, age: 30 },
    };
    expect(ok(raw)).toEqual(raw);
  });

  test("every optional field is kept, and null means absent", () => {
    const full = {
      ...base,
      title: "Home",
      referrer: "https://google.com/",
      screen: "1920x1080",
      tz: "Europe/Berlin",
      userId: "u1",
    };
    expect(ok(full)).toEqual(full);
    expect(ok({ ...base, title: null, referrer: null, props: null, name: null })).toEqual(base);
  });

  test("server-side fields win over the client's and fill in a missing visitorId", () => {
    const { visitorId: _, ...noVisitor } = base;
    const server = {
      visitorId: "c_server",
      country: "DE",
      device: "Desktop",
      browser: "Firefox",
      os: "Linux",
    };
    expect(ok(noVisitor, server)).toEqual({ ...noVisitor, ...server });
    expect(ok(base, { visitorId: "c_server" }).visitorId).toBe("c_server");
  });

  test("over-long strings are truncated, not rejected: title to 2,000, screen to 32, id to 128 characters", () => {
    const e = ok({
      ...base,
      id: "i".repeat(500),
      title: "t".repeat(5_000),
      screen: "s".repeat(100),
    });
    expect([e.id.length, e.title!.length, e.screen!.length]).toEqual([128, 2_000, 32]);
  });

  test("exactly 30 props with 300-character keys and 2,000-character values are accepted", () => {
    const props = Object.fromEntries(
      Array.from({ length: MAX_PROPS }, (_, i) => [
        `${i}`.padEnd(MAX_PROP_KEY_LENGTH, "k"),
        "v".repeat(MAX_PROP_VALUE_LENGTH),
      ]),
    );
    expect(Object.keys(ok({ ...base, props }).props!)).toHaveLength(30);
  });
});

describe("normalizeEvent rejects each kind of invalid input with a clear reason", () => {
  const table: [string, unknown, RegExp][] = [
    ["null", null, /event must be an object/],
    ["an array", [base], /event must be an object/],
    ["a string", "pageview", /event must be an object/],
    ["a missing id", { ...base, id: undefined }, /id is required/],
    ["an empty id", { ...base, id: "" }, /id is required/],
    ["a numeric id", { ...base, id: 7 }, /id must be a string/],
    [
      "a missing type",
      { ...base, type: undefined },
      /type must be "pageview", "track" or "identify"/,
    ],
    [
      "an unknown type",
      { ...base, type: "click" },
      /type must be "pageview", "track" or "identify"/,
    ],
    ["a type in the wrong case", { ...base, type: "PAGEVIEW" }, /type must be/],
    ["a track event without a name", { ...base, type: "track" }, /a track event needs a name/],
    [
      "a track event with an empty name",
      { ...base, type: "track", name: "" },
      /a track event needs a name/,
    ],
    [
      "a missing occurredAt",
      { ...base, occurredAt: undefined },
      /occurredAt must be epoch milliseconds/,
    ],
    [
      "an occurredAt string",
      { ...base, occurredAt: "2026-03-10" },
      /occurredAt must be epoch milliseconds/,
    ],
    [
      "a NaN occurredAt",
      { ...base, occurredAt: Number.NaN },
      /occurredAt must be epoch milliseconds/,
    ],
    [
      "an infinite occurredAt",
      { ...base, occurredAt: Number.POSITIVE_INFINITY },
      /occurredAt must be epoch milliseconds/,
    ],
    ["a missing url", { ...base, url: undefined }, /url is required/],
    ["a relative url", { ...base, url: "/pricing" }, /url must be an absolute http\(s\) URL/],
    ["an ftp url", { ...base, url: "ftp://ex.com/file" }, /url must be an absolute http\(s\) URL/],
    [
      "a javascript: url",
      { ...base, url: "javascript:alert(1)" },
      /url must be an absolute http\(s\) URL/,
    ],
    [
      "a url that is not a URL",
      { ...base, url: "not a url" },
      /url must be an absolute http\(s\) URL/,
    ],
    ["a numeric url", { ...base, url: 42 }, /url must be a string/],
    ["a missing visitorId", { ...base, visitorId: undefined }, /visitorId is required/],
    [
      "an identify without userId",
      { ...base, type: "identify" },
      /an identify event needs a userId/,
    ],
    ["a non-string title", { ...base, title: { text: "x" } }, /title must be a string/],
    [
      "31 props",
      { ...base, props: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, i])) },
      /props has more than 30 keys/,
    ],
    [
      "a 301-character prop key",
      { ...base, props: { ["k".repeat(301)]: 1 } },
      /props keys must be 1-300 characters/,
    ],
    ["an empty prop key", { ...base, props: { "": 1 } }, /props keys must be 1-300 characters/],
    [
      "a 2,001-character prop value",
      { ...base, props: { k: "v".repeat(2_001) } },
      /props\.k is longer than 2000 characters/,
    ],
    [
      "a nested object prop value",
      { ...base, props: { k: { a: 1 } } },
      /props\.k must be a string, a finite number or a boolean/,
    ],
    [
      "an array prop value",
      { ...base, props: { k: [1, 2] } },
      /props\.k must be a string, a finite number or a boolean/,
    ],
    [
      "a null prop value",
      { ...base, props: { k: null } },
      /props\.k must be a string, a finite number or a boolean/,
    ],
    [
      "a NaN prop value",
      { ...base, props: { k: Number.NaN } },
      /props\.k must be a string, a finite number or a boolean/,
    ],
    ["props that are an array", { ...base, props: ["a"] }, /props must be an object/],
    ["props that are a string", { ...base, props: "a=1" }, /props must be an object/],
    [
      "31 traits",
      {
        ...base,
        type: "identify",
        userId: "u",
        traits: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, i])),
      },
      /traits has more than 30 keys/,
    ],
    [
      "a nested trait value",
      { ...base, type: "identify", userId: "u", traits: { address: { city: "x" } } },
      /traits\.address must be/,
    ],
    // 300 two-byte characters encode to 1,802 characters: past Convex's 1,024-character field names.
    [
      "a prop key that is too long once encoded",
      { ...base, props: { ["é".repeat(MAX_PROP_KEY_LENGTH)]: 1 } },
      /too long once encoded/,
    ],
  ];
  test.each(table)("%s is rejected", (_label, raw, reason) => {
    const r = normalizeEvent(raw, NOW);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toMatch(reason);
  });
});

describe("occurredAt clamping", () => {
  const table: [string, number, number][] = [
    ["8 days ago is clamped to 7 days ago", NOW - 8 * DAY, NOW - 7 * DAY],
    ["exactly 7 days ago is kept", NOW - 7 * DAY, NOW - 7 * DAY],
    ["year 1970 is clamped to 7 days ago", 0, NOW - 7 * DAY],
    ["a negative time is clamped to 7 days ago", -1e15, NOW - 7 * DAY],
    ["an hour ago is kept", NOW - 60 * MINUTE, NOW - 60 * MINUTE],
    ["now is kept", NOW, NOW],
    ["exactly 5 minutes ahead is kept", NOW + 5 * MINUTE, NOW + 5 * MINUTE],
    ["10 minutes ahead is clamped to 5 minutes ahead", NOW + 10 * MINUTE, NOW + 5 * MINUTE],
    ["a year ahead is clamped to 5 minutes ahead", NOW + 365 * DAY, NOW + 5 * MINUTE],
  ];
  test.each(table)("an occurredAt %s", (_label, occurredAt, expected) => {
    expect(ok({ ...base, occurredAt }).occurredAt).toBe(expected);
  });
});

describe("prop keys", () => {
  test("keys beginning with $ or _ and non-ASCII keys are kept under a safe, reversible name", () => {
    const e = ok({
      ...base,
      type: "track",
      name: "buy",
      props: { $price: 10, _internal: "x", plan: "pro", café: true, "a b": 1 },
    });
    expect(e.props).toEqual({
      "p:%24price": 10,
      "p:_internal": "x",
      plan: "pro",
      "p:caf%C3%A9": true,
      "a b": 1,
    });
    expect(Object.keys(e.props!).map(propertyName)).toEqual([
      "$price",
      "_internal",
      "plan",
      "café",
      "a b",
    ]);
  });

  test("a key the client began with p: is its own name, not decoded", () => {
    const e = ok({ ...base, type: "track", name: "buy", props: { "p:x": 1, "p:%41": 2 } });
    expect(e.props).toEqual({ "p:x": 1, "p:%41": 2 });
    expect(Object.keys(e.props!).map(propertyName)).toEqual(["p:x", "p:%41"]);
    expect(propertyName("p:%E0%A4%A")).toBe("p:%E0%A4%A");
  });

  test("traits follow the same rule", () => {
    expect(
      ok({ ...base, type: "identify", userId: "u", traits: { $email: "a@b.c" } }).traits,
    ).toEqual({ "p:%24email": "a@b.c" });
  });

  test("any accepted event, whatever its prop keys, is a value Convex can store", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ unit: "binary", minLength: 1, maxLength: MAX_PROP_KEY_LENGTH }),
          fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
          { maxKeys: 8 },
        ),
        (props) => {
          const r = normalizeEvent({ ...base, type: "track", name: "x", props }, NOW);
          if (!r.ok) {
            expect(r.reason).toMatch(/too long once encoded/);
            return;
          }
          expect(() => convexToJson(r.event)).not.toThrow();
          for (const k of Object.keys(r.event.props ?? {}))
            expect(k).toMatch(/^(?![$_])[\x20-\x7e]+$/);
          expect(Object.keys(r.event.props ?? {})).toHaveLength(Object.keys(props).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("normalizing an already normalized event changes nothing (ingestBatch re-normalizes what the route normalized)", () => {
    const raw = {
      ...base,
      type: "track",
      name: "buy",
      title: "T",
      referrer: "https://x.com/",
      props: { $p: 1, _q: "a", é: false },
    };
    const once = ok(raw);
    expect(ok(once)).toEqual(once);
  });
});

describe("normalizeEvent reads the click id's platform and drops the id", () => {
  test("a gclid on the landing URL becomes clickId google, and leaves the stored URL", () => {
    const e = ok({ ...base, url: "https://ex.com/a?utm_source=google&gclid=Cj0KCQ-secret#top" });
    expect(e.clickId).toBe("google");
    expect(e.url).toBe("https://ex.com/a?utm_source=google#top");
  });

  test("a URL whose only query is a click id is stored with no query at all", () => {
    const e = ok({ ...base, url: "https://ex.com/landing?fbclid=IwAR-secret&MSCLKID=x" });
    expect([e.clickId, e.url]).toEqual(["meta", "https://ex.com/landing"]);
  });

  test("a URL without click ids is stored exactly as sent", () => {
    const url = "https://ex.com/a?q=%7Ex&utm_source=n";
    expect(ok({ ...base, url }).url).toBe(url);
  });

  test("an event normalised once keeps its clickId though its URL no longer has the id", () => {
    const once = ok({ ...base, url: "https://ex.com/a?ttclid=abc" });
    const twice = ok(once);
    expect(twice).toEqual(once);
    expect(twice.clickId).toBe("tiktok");
  });

  test.each([["bogus"], [42], [{ kind: "google" }]])(
    "a clickId that is not a known platform (%j) is rejected with a reason",
    (clickId) => {
      const r = normalizeEvent({ ...base, clickId }, NOW);
      expect(r).toEqual({
        ok: false,
        reason: expect.stringMatching(/^clickId must be one of google/),
      });
    },
  );
});

describe("click ids are cut from the URL's text", () => {
  test.each([
    ["https://ex.com/a?gclid=1", "https://ex.com/a"],
    ["https://ex.com/a?x=1&gclid=1&y=%20", "https://ex.com/a?x=1&y=%20"],
    ["https://ex.com/a?gclid=1&gclid=2#h?gclid=3", "https://ex.com/a#h?gclid=3"],
    ["https://ex.com/#/route?gclid=1", "https://ex.com/#/route?gclid=1"],
    ["https://ex.com/ä b?gclid=1&q=ü", "https://ex.com/ä b?q=ü"],
    ["https://ex.com/a?GcLiD", "https://ex.com/a"],
  ])("%s is stored as %s", (url, stored) => {
    expect(ok({ ...base, url }).url).toBe(stored);
  });
});
