// The ingest contract's per-event rules (the ingest contract: README.md, "The ingest route") and the dimension values an
// event contributes, table by table.
import fc from "fast-check";
import { convexToJson } from "convex/values";
import { describe, expect, test } from "vitest";
import { NONE_KEY, type AnalyticsEvent } from "../shared.js";
import {
  MAX_PROPS,
  MAX_PROP_KEY_LENGTH,
  MAX_PROP_VALUE_LENGTH,
  attributionOf,
  hostnameOf,
  normalizeEvent,
  pagePath,
} from "./events.js";
import { channelOf } from "./channels.js";
import { DAY, MINUTE } from "./time.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const base = {
  id: "e1",
  type: "pageview",
  occurredAt: NOW - 1_000,
  url: "https://ex.com/a",
  visitorId: "v1",
};
const ok = (raw: unknown, server = {}) => {
  const r = normalizeEvent(raw, NOW, server);
  if (!r.ok) throw new Error(`expected ok, got "${r.reason}"`);
  return r.event;
};

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
    expect(
      Object.keys(e.props!).map((k) => (k.startsWith("p:") ? decodeURIComponent(k.slice(2)) : k)),
    ).toEqual(["$price", "_internal", "plan", "café", "a b"]);
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

describe("pages and hosts", () => {
  const table: [string, string][] = [
    ["https://ex.com/a/b/?q=1#frag", "/a/b"],
    ["https://ex.com/a/b", "/a/b"],
    ["https://ex.com/a/b/", "/a/b"],
    ["https://ex.com/", "/"],
    ["https://ex.com", "/"],
    ["https://ex.com///", "/"],
    ["https://ex.com/A//", "/A"],
    ["https://ex.com/?utm_source=x", "/"],
    ["https://ex.com/#/spa-route", "/#/spa-route"],
    ["https://ex.com/app/#!/users/1/?tab=2", "/app#!/users/1"],
    ["https://ex.com/#/", "/"],
    ["https://ex.com/caf%C3%A9/", "/caf%C3%A9"],
    ["https://ex.com/café", "/caf%C3%A9"],
    ["not a url", "/"],
  ];
  test.each(table)("the page of %s is %s", (url, path) => {
    expect(pagePath(url)).toBe(path);
  });

  test("the hostname keeps www and subdomains and lowercases; no host is (none)", () => {
    expect(hostnameOf("https://WWW.Ex.com:8443/a")).toBe("www.ex.com");
    expect(hostnameOf("https://blog.ex.com/")).toBe("blog.ex.com");
    expect(hostnameOf("not a url")).toBe(NONE_KEY);
  });
});

describe("channels and attribution", () => {
  const ev = (url: string, referrer?: string): AnalyticsEvent => ({
    id: "e",
    type: "pageview",
    occurredAt: NOW,
    url,
    visitorId: "v",
    ...(referrer ? { referrer } : {}),
  });
  // [page url, referrer, channel, referrer key, utmSource, utmMedium]
  const table: [string, string | undefined, string, string, string, string][] = [
    ["https://ex.com/", undefined, "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://www.google.com/search?q=x",
      "Organic Search",
      "google.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://www.google.co.uk/",
      "Organic Search",
      "google.co.uk",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://www.bing.com/", "Organic Search", "bing.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://duckduckgo.com/",
      "Organic Search",
      "duckduckgo.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://search.yahoo.com/",
      "Organic Search",
      "search.yahoo.com",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://yandex.ru/", "Organic Search", "yandex.ru", NONE_KEY, NONE_KEY],
    ["https://ex.com/", "https://t.co/abc", "Organic Social", "t.co", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://l.facebook.com/",
      "Organic Social",
      "l.facebook.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://www.reddit.com/r/x",
      "Organic Social",
      "reddit.com",
      NONE_KEY,
      NONE_KEY,
    ],
    [
      "https://ex.com/",
      "https://news.ycombinator.com/item?id=1",
      "Organic Social",
      "news.ycombinator.com",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://mail.google.com/", "Email", "mail.google.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/",
      "https://blog.example.org/post",
      "Referral",
      "blog.example.org",
      NONE_KEY,
      NONE_KEY,
    ],
    ["https://ex.com/", "https://notgoogle.com/", "Referral", "notgoogle.com", NONE_KEY, NONE_KEY],
    ["https://ex.com/", "https://at.co/", "Referral", "at.co", NONE_KEY, NONE_KEY],
    // Navigation inside the site is not a source.
    ["https://ex.com/b", "https://ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    ["https://www.ex.com/b", "https://ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    ["https://ex.com/b", "https://www.ex.com/a", "Direct", NONE_KEY, NONE_KEY, NONE_KEY],
    // A subdomain is another site (as in GA4 without a cross-domain setup).
    ["https://ex.com/b", "https://blog.ex.com/a", "Referral", "blog.ex.com", NONE_KEY, NONE_KEY],
    [
      "https://ex.com/?utm_source=google&utm_medium=cpc",
      undefined,
      "Paid Search",
      NONE_KEY,
      "google",
      "cpc",
    ],
    [
      "https://ex.com/?utm_source=google&utm_medium=CPC",
      "https://www.google.com/",
      "Paid Search",
      "google.com",
      "google",
      "CPC",
    ],
    [
      "https://ex.com/?utm_source=bing&utm_medium=ppc",
      undefined,
      "Paid Search",
      NONE_KEY,
      "bing",
      "ppc",
    ],
    [
      "https://ex.com/?utm_source=facebook.com&utm_medium=cpc",
      undefined,
      "Paid Social",
      NONE_KEY,
      "facebook.com",
      "cpc",
    ],
    [
      "https://ex.com/?utm_source=fb&utm_medium=paidsocial",
      undefined,
      "Paid Social",
      NONE_KEY,
      "fb",
      "paidsocial",
    ],
    [
      "https://ex.com/?utm_source=newsletter&utm_medium=email",
      undefined,
      "Email",
      NONE_KEY,
      "newsletter",
      "email",
    ],
    [
      "https://ex.com/?utm_source=newsletter&utm_medium=e-mail",
      "https://www.google.com/",
      "Email",
      "google.com",
      "newsletter",
      "e-mail",
    ],
    [
      "https://ex.com/?utm_medium=social&utm_source=mastodon",
      undefined,
      "Organic Social",
      NONE_KEY,
      "mastodon",
      "social",
    ],
    [
      "https://ex.com/?utm_medium=display&utm_source=gdn",
      undefined,
      "Display",
      NONE_KEY,
      "gdn",
      "display",
    ],
    ["https://ex.com/?utm_medium=banner", undefined, "Display", NONE_KEY, NONE_KEY, "banner"],
    [
      "https://ex.com/?utm_medium=affiliate&utm_source=partner",
      undefined,
      "Affiliates",
      NONE_KEY,
      "partner",
      "affiliate",
    ],
    [
      "https://ex.com/?utm_source=newsletter",
      undefined,
      "Unassigned",
      NONE_KEY,
      "newsletter",
      NONE_KEY,
    ],
    ["https://ex.com/?utm_medium=weird", undefined, "Unassigned", NONE_KEY, NONE_KEY, "weird"],
    // Plausible's ?ref= counts as a source when there is no utm_source.
    ["https://ex.com/?ref=producthunt", undefined, "Unassigned", NONE_KEY, "producthunt", NONE_KEY],
    [
      "https://ex.com/?ref=producthunt&utm_source=ph",
      undefined,
      "Unassigned",
      NONE_KEY,
      "ph",
      NONE_KEY,
    ],
    [
      "https://ex.com/?utm_source=%20spaced%20&utm_medium=",
      undefined,
      "Unassigned",
      NONE_KEY,
      "spaced",
      NONE_KEY,
    ],
  ];
  test.each(table)(
    "a visit to %s from %s is %s",
    (url, referrer, channel, ref, utmSource, utmMedium) => {
      const a = attributionOf(ev(url, referrer));
      expect([a.channel, a.referrer, a.utmSource, a.utmMedium]).toEqual([
        channel,
        ref,
        utmSource,
        utmMedium,
      ]);
    },
  );

  test("utm values are trimmed and cut to 200 characters; campaign, content and term are read too", () => {
    const a = attributionOf(
      ev(`https://ex.com/?utm_campaign=${"c".repeat(300)}&utm_content=hero&utm_term=%20shoes%20`),
    );
    expect([a.utmCampaign.length, a.utmContent, a.utmTerm]).toEqual([200, "hero", "shoes"]);
  });

  test("server-side fields fill country, device, browser and os, and are (none) when missing", () => {
    const e = {
      ...ev("https://ex.com/"),
      country: "DE",
      device: "Mobile",
      browser: "Safari",
      screen: "390x844",
    };
    const a = attributionOf(e);
    expect([a.country, a.device, a.browser, a.os, a.screen]).toEqual([
      "DE",
      "Mobile",
      "Safari",
      NONE_KEY,
      "390x844",
    ]);
  });

  test("channelOf is a pure function of (referrer, medium, source)", () => {
    expect(channelOf(NONE_KEY, NONE_KEY, NONE_KEY)).toBe("Direct");
    expect(channelOf("x.com", NONE_KEY, NONE_KEY)).toBe("Organic Social");
    expect(channelOf("example.org", NONE_KEY, NONE_KEY)).toBe("Referral");
  });
});

describe("channels follow GA4's default channel grouping", () => {
  test.each([
    [NONE_KEY, "organic", NONE_KEY, "Organic Search"],
    [NONE_KEY, NONE_KEY, "google", "Organic Search"],
    [NONE_KEY, NONE_KEY, "facebook", "Organic Social"],
    [NONE_KEY, NONE_KEY, "email", "Email"],
    [NONE_KEY, "referral", "partner", "Referral"],
    [NONE_KEY, "paid_search", "google", "Paid Search"],
    [NONE_KEY, "cpc", "newsletter", "Paid Other"],
    [NONE_KEY, "cpc", "facebook", "Paid Social"],
    ["youtube.com", NONE_KEY, NONE_KEY, "Organic Video"],
    [NONE_KEY, "sms", NONE_KEY, "SMS"],
    [NONE_KEY, "audio", NONE_KEY, "Audio"],
    [NONE_KEY, "web-push", NONE_KEY, "Mobile Push Notifications"],
    ["mail.google.com", NONE_KEY, NONE_KEY, "Email"],
    ["example.org", NONE_KEY, NONE_KEY, "Referral"],
    [NONE_KEY, NONE_KEY, "newsletter", "Unassigned"],
  ])("referrer %s, medium %s, source %s is %s", (referrer, medium, source, channel) => {
    expect(channelOf(referrer, medium, source)).toBe(channel);
  });
});
