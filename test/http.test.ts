// The ingest route as a browser sees it (the ingest contract: README.md, "The ingest route"): every status of the
// contract, CORS on every response, and a fuzz showing that no client input
// produces a 5xx or stores an event that would not pass validation.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import type { GenericMutationCtx } from "convex/server";
import { batches, inComponent, initApp } from "./app.setup.js";
import { api, components } from "../example/convex/_generated/api.js";
import type { DataModel } from "../src/component/_generated/dataModel.js";
import { enrichedFields, normalizeEvent } from "../src/component/events.js";

type App = ReturnType<typeof initApp>;
type ComponentCtx = GenericMutationCtx<DataModel>;

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const ORIGIN = "https://shop.example.org";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

/** Runs `fn` inside the analytics component, where its tables live (convex-test's t.run sees only the app's). */
function inAnalytics<T>(t: App, fn: (ctx: ComponentCtx) => Promise<T>): Promise<T> {
  return inComponent<T, ComponentCtx>(t, "analytics", fn);
}

async function createSite(t: App, options: { slug?: string; allowedOrigins?: string[] } = {}) {
  return await t.mutation(components.analytics.sites.createSite, {
    slug: options.slug ?? "shop",
    name: "Shop",
    allowedOrigins: options.allowedOrigins ?? [],
  });
}

function post(t: App, body: unknown, headers: Record<string, string> = {}) {
  return t.fetch("/analytics/ingest", {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: ORIGIN, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const pageview = (id: string, path = "/", extra: Record<string, unknown> = {}) => ({
  id,
  type: "pageview",
  occurredAt: NOW - 60_000,
  url: `https://shop.example.org${path}`,
  visitorId: "visitor-1",
  ...extra,
});
const envelope = (key: string, batchId: string, events: unknown[]) => ({
  key,
  batchId,
  sentAt: NOW,
  events,
});

/** Runs the worker and compaction to completion. */
async function drain(t: App) {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

async function overview(t: App, siteId: string) {
  vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
  return await t.query(api.analytics.getOverview, {
    siteId,
    from: NOW - 8 * 24 * HOUR,
    to: NOW + HOUR,
  });
}

async function breakdown(t: App, siteId: string, dimension: "event" | "page" | "prop") {
  vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
  const { rows } = await t.query(api.analytics.getBreakdown, {
    siteId,
    from: NOW - 2 * HOUR,
    to: NOW + HOUR,
    dimension,
    limit: 100,
  });
  return rows.map((r) => [r.key, r.events] as const);
}

describe("202 accepted", () => {
  test("a mixed batch keeps and counts its valid events and rejects each invalid one by index with a reason", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const res = await post(
      t,
      envelope(writeKey, "batch-1", [
        pageview("e1", "/pricing"),
        { bad: true },
        {
          id: "e3",
          type: "track",
          name: "signup",
          occurredAt: NOW - 30_000,
          url: "https://shop.example.org/pricing",
          visitorId: "visitor-1",
          props: { plan: "pro" },
        },
        pageview("e4", "/", { url: "ftp://shop.example.org/" }),
        pageview("e5", "/", { occurredAt: "yesterday" }),
        {
          id: "e6",
          type: "track",
          occurredAt: NOW,
          url: "https://shop.example.org/",
          visitorId: "visitor-1",
        },
      ]),
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 2,
      duplicate: false,
      rejected: [
        { index: 1, reason: "id is required" },
        { index: 3, reason: "url must be an absolute http(s) URL" },
        { index: 4, reason: "occurredAt must be epoch milliseconds" },
        { index: 5, reason: "a track event needs a name" },
      ],
    });
    await drain(t);
    const o = await overview(t, siteId);
    expect([o.events, o.pageviews, o.sessions, o.visitors]).toEqual([2, 1, 1, 1]);
    expect(await breakdown(t, siteId, "event")).toEqual([
      ["pageview", 1],
      ["signup", 1],
    ]);
    expect(await breakdown(t, siteId, "prop")).toEqual([["signup|plan|pro", 1]]);
  });

  test("resending a batchId answers duplicate:true and counts nothing twice, before and after the worker ran", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const batch = envelope(writeKey, "retry-me", [pageview("e1"), pageview("e2", "/about")]);
    expect(await (await post(t, batch)).json()).toEqual({
      accepted: 2,
      duplicate: false,
      rejected: [],
    });
    expect(await (await post(t, batch)).json()).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
    await drain(t);
    expect(await (await post(t, batch)).json()).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
    await drain(t);
    expect((await overview(t, siteId)).pageviews).toBe(2);
    expect((await batches(t)).processed.length).toBe(1);
  });

  test("a batch whose events are all invalid is answered 202 with accepted 0 and stores nothing", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    const res = await post(t, envelope(writeKey, "all-bad", [1, null, "x"]));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: 0,
      duplicate: false,
      rejected: [0, 1, 2].map((index) => ({ index, reason: "event must be an object" })),
    });
    expect(
      await inAnalytics(t, async (ctx) => (await ctx.db.query("batches").collect()).length),
    ).toBe(0);
  });

  test("a text/plain beacon body and a body with no content type are accepted like JSON", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const beacon = await post(t, envelope(writeKey, "beacon", [pageview("e1")]), {
      "Content-Type": "text/plain;charset=UTF-8",
    });
    expect(beacon.status).toBe(202);
    expect(await beacon.json()).toEqual({ accepted: 1, duplicate: false, rejected: [] });
    const bare = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify(envelope(writeKey, "bare", [pageview("e2")])),
    });
    expect(bare.status).toBe(202);
    await drain(t);
    expect((await overview(t, siteId)).pageviews).toBe(2);
  });

  test("a prop key that grows past Convex's 1,024-character field-name limit once encoded is rejected, not a 5xx", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    const res = await post(
      t,
      envelope(writeKey, "long-key", [
        pageview("e1", "/", { props: { ["é".repeat(200)]: 1 } }),
        pageview("e2"),
      ]),
    );
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toEqual([
      { index: 0, reason: expect.stringMatching(/props key .* too long/) },
    ]);
  });
});

describe("unicode", () => {
  test("lone UTF-16 surrogates in a visitor id, a title, a prop key and a prop value are replaced with U+FFFD, and the events are counted", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    // JSON escapes make lone surrogates: Convex strings must be valid Unicode, so storing them as is would fail the batch.
    const body = `{"key":"${writeKey}","batchId":"lone","events":[{"id":"s1","type":"pageview","occurredAt":${Date.now() - 1_000},"url":"https://ex.com/","title":"a\\ud800b","visitorId":"v\\udc00","props":{"k\\ud83d":"v\\ude00"}}]}`;
    const res = await post(t, JSON.parse(body));
    expect(res.status).toBe(202);
    expect((await res.json()).accepted).toBe(1);
    await drain(t);
    const [event] = (await batches(t)).processed.flatMap((b) => b.events);
    expect(event).toMatchObject({ title: "a\ufffdb", visitorId: "v\ufffd" });
    expect(Object.values(event!.props ?? {})).toEqual(["v\ufffd"]);
    expect((await overview(t, siteId)).pageviews).toBe(1);
  });
});

describe("400 bad request", () => {
  test.each([
    ["not JSON", "{key: 'pk_x'"],
    ["an empty body", ""],
  ])("%s is answered 400 invalid_json", async (_, body) => {
    const t = initApp();
    const res = await post(t, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: "invalid_json", message: "The body is not valid JSON" },
    });
  });

  const key = "pk_whatever";
  test.each([
    ["an array", [], "The body must be an object { key, batchId, sentAt, events }"],
    ["null", null, "The body must be an object { key, batchId, sentAt, events }"],
    ["a string", "hello", "The body must be an object { key, batchId, sentAt, events }"],
    ["a number", 42, "The body must be an object { key, batchId, sentAt, events }"],
    ["no key", { batchId: "b", events: [] }, "key must be a write key string"],
    ["a numeric key", { key: 7, batchId: "b", events: [] }, "key must be a write key string"],
    ["an empty key", { key: "", batchId: "b", events: [] }, "key must be a write key string"],
    [
      "a 201-character key",
      { key: "k".repeat(201), batchId: "b", events: [] },
      "key must be a write key string",
    ],
    ["no batchId", { key, events: [] }, "batchId must be a string of 1-128 characters"],
    [
      "a numeric batchId",
      { key, batchId: 7, events: [] },
      "batchId must be a string of 1-128 characters",
    ],
    [
      "an empty batchId",
      { key, batchId: "", events: [] },
      "batchId must be a string of 1-128 characters",
    ],
    [
      "a 129-character batchId",
      { key, batchId: "b".repeat(129), events: [] },
      "batchId must be a string of 1-128 characters",
    ],
    ["no events", { key, batchId: "b" }, "events must be an array"],
    ["events as an object", { key, batchId: "b", events: { 0: {} } }, "events must be an array"],
    ["events as null", { key, batchId: "b", events: null }, "events must be an array"],
  ])(
    "a body with %s is answered 400 invalid_shape with a message saying what is wrong",
    async (_, body, message) => {
      const t = initApp();
      const res = await post(t, JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: "invalid_shape", message } });
    },
  );
});

describe("401 and 403", () => {
  test("an unknown write key is answered 401, and so is the old key right after rotateWriteKey while the new one works", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const unknown = await post(t, envelope("pk_not-a-real-key", "b0", [pageview("e0")]));
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({
      error: { code: "unknown_key", message: "Unknown write key" },
    });

    expect((await post(t, envelope(writeKey, "b1", [pageview("e1")]))).status).toBe(202);
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    const { writeKey: rotated } = await t.mutation(api.analytics.rotateWriteKey, { siteId });
    expect(rotated).not.toBe(writeKey);
    const old = await post(t, envelope(writeKey, "b2", [pageview("e2")]));
    expect(old.status).toBe(401);
    expect((await old.json()).error.code).toBe("unknown_key");
    expect(await (await post(t, envelope(rotated, "b3", [pageview("e3")]))).json()).toEqual({
      accepted: 1,
      duplicate: false,
      rejected: [],
    });
  });

  test("when allowedOrigins is set, only listed origins and subdomains of a wildcard may post; a missing Origin is refused", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, { allowedOrigins: [ORIGIN, "https://*.example.com"] });
    const statusFor = async (origin: string | undefined, n: number) => {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (origin !== undefined) headers.Origin = origin;
      const res = await t.fetch("/analytics/ingest", {
        method: "POST",
        headers,
        body: JSON.stringify(envelope(writeKey, `b${n}`, [pageview(`e${n}`)])),
      });
      if (res.status === 403)
        expect(await res.json()).toEqual({
          error: {
            code: "origin_not_allowed",
            message: "This origin may not send events to this site",
          },
        });
      return res.status;
    };
    const cases: [string | undefined, number][] = [
      [ORIGIN, 202],
      ["https://app.example.com", 202],
      ["https://a.b.example.com", 202],
      ["https://app.example.com:8443", 403],
      ["https://example.com", 202],
      [undefined, 403],
      ["null", 403],
      ["https://evil.com", 403],
      ["http://app.example.com", 403],
      ["https://notexample.com", 403],
      ["https://example.com.evil.io", 403],
      ["https://shop.example.org.evil.io", 403],
      ["http://shop.example.org", 403],
    ];
    const results: [string | undefined, number][] = [];
    for (const [i, [origin]] of cases.entries()) results.push([origin, await statusFor(origin, i)]);
    expect(results).toEqual(cases);
  });

  test("a site without allowedOrigins accepts any origin, and a request with none (server to server)", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    expect(
      (
        await post(t, envelope(writeKey, "b1", [pageview("e1")]), {
          Origin: "https://anything.test",
        })
      ).status,
    ).toBe(202);
    const none = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify(envelope(writeKey, "b2", [pageview("e2")])),
    });
    expect(none.status).toBe(202);
  });

  test("a disabled site is answered 403 site_disabled and counts nothing until it is enabled again", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    await t.mutation(api.analytics.updateSite, { siteId, enabled: false });
    const res = await post(t, envelope(writeKey, "b1", [pageview("e1")]));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: { code: "site_disabled", message: "This site is disabled" },
    });
    await t.mutation(api.analytics.updateSite, { siteId, enabled: true });
    expect((await post(t, envelope(writeKey, "b1", [pageview("e1")]))).status).toBe(202);
    await drain(t);
    expect((await overview(t, siteId)).pageviews).toBe(1);
  });
});

describe("413 too large", () => {
  /** A valid envelope padded (in an ignored field) to exactly `bytes` bytes of UTF-8. */
  const padded = (key: string, bytes: number, pad = "x") => {
    const base = JSON.stringify({
      ...envelope(key, `pad-${bytes}-${pad}`, [pageview("e1")]),
      pad: "",
    });
    const room = bytes - new TextEncoder().encode(base).byteLength;
    const unit = new TextEncoder().encode(pad).byteLength;
    return base.replace(
      '"pad":""',
      `"pad":"${pad.repeat(Math.floor(room / unit))}${"x".repeat(room % unit)}"`,
    );
  };

  test("a body of exactly 64 KiB is accepted and one byte more is answered 413, counting bytes, not characters", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    const exact = padded(writeKey, 64 * 1024);
    expect(new TextEncoder().encode(exact).byteLength).toBe(65_536);
    expect((await post(t, exact)).status).toBe(202);
    const over = padded(writeKey, 64 * 1024 + 1);
    const res = await post(t, over);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: "too_large", message: "The body is over 65536 bytes" },
    });
    // 2-byte characters: under 64 Ki characters, over 64 KiB.
    const wide = padded(writeKey, 64 * 1024 + 2, "é");
    expect(wide.length).toBeLessThan(65_536);
    expect((await post(t, wide)).status).toBe(413);
  });

  test("a Content-Length over 64 KiB is answered 413 before the body is read", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    const res = await post(t, envelope(writeKey, "b1", [pageview("e1")]), {
      "Content-Length": "100000",
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("too_large");
  });

  test("a batch of 100 events is accepted whole and one of 101 is answered 413 and stores nothing", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    const events = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `e${i}`,
        type: "pageview",
        occurredAt: NOW,
        url: "https://s.io/",
      }));
    expect(await (await post(t, envelope(writeKey, "hundred", events(100)))).json()).toEqual({
      accepted: 100,
      duplicate: false,
      rejected: [],
    });
    const res = await post(t, envelope(writeKey, "too-many", events(101)));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: "too_large", message: "A batch holds at most 100 events" },
    });
    expect((await batches(t)).queued.map((b) => b.batchId)).toEqual(["hundred"]);
  });
});

describe("methods and CORS", () => {
  test.each(["GET", "PUT", "PATCH", "DELETE"])(
    "%s is answered 405 with Allow: POST, OPTIONS",
    async (method) => {
      const t = initApp();
      const res = await t.fetch("/analytics/ingest", {
        method,
        headers: { Origin: ORIGIN },
        ...(method === "GET" ? {} : { body: "{}" }),
      });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST, OPTIONS");
      expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(await res.json()).toEqual({
        error: { code: "method_not_allowed", message: "Use POST" },
      });
    },
  );

  test("the OPTIONS preflight is answered 204, allowing POST with a Content-Type header from the calling origin", async () => {
    const t = initApp();
    const res = await t.fetch("/analytics/ingest", {
      method: "OPTIONS",
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-methods")?.split(/,\s*/)).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase().split(/,\s*/)).toContain(
      "content-type",
    );
    expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  test("every response, errors included, carries Access-Control-Allow-Origin so the browser can read it", async () => {
    const t = initApp();
    const { writeKey, siteId } = await createSite(t, {
      allowedOrigins: ["https://elsewhere.example"],
    });
    const { writeKey: openKey } = await createSite(t, { slug: "open" });
    const { writeKey: offKey, siteId: offSite } = await createSite(t, { slug: "off" });
    vi.stubEnv("ANALYTICS_DEV_OPEN", "1");
    await t.mutation(api.analytics.updateSite, { siteId: offSite, enabled: false });
    const many = Array.from({ length: 101 }, (_, i) => pageview(`e${i}`));
    const responses = [
      await post(t, envelope(openKey, "ok", [pageview("e1")])),
      await post(t, "nope"),
      await post(t, { key: openKey }),
      await post(t, envelope("pk_unknown", "b", [])),
      await post(t, envelope(writeKey, "b", [pageview("e1")])),
      await post(t, envelope(offKey, "b", [pageview("e1")])),
      await post(t, envelope(openKey, "big", many)),
      await post(t, "x".repeat(70_000)),
      await t.fetch("/analytics/ingest", { method: "GET", headers: { Origin: ORIGIN } }),
    ];
    expect(responses.map((r) => r.status)).toEqual([202, 400, 400, 401, 403, 403, 413, 413, 405]);
    expect(responses.map((r) => r.headers.get("access-control-allow-origin"))).toEqual(
      responses.map(() => ORIGIN),
    );
    expect(siteId).toBeTruthy();
  });
});

describe("fuzz", () => {
  const anything = fc.anything({ maxDepth: 2, maxKeys: 4 });
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: anything });
  /** Mostly valid props, now and then with a key or value the contract refuses. */
  const propsArb = fc.dictionary(
    fc.oneof(
      { weight: 12, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "$x",
          "_y",
          "é".repeat(180),
          "中".repeat(120),
          "k".repeat(301),
          "",
        ),
      },
    ),
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.oneof(
          text,
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.boolean(),
        ),
      },
      { weight: 1, arbitrary: fc.oneof(anything, fc.constant("v".repeat(2_001))) },
    ),
    { maxKeys: 6 },
  );
  const FIELDS = [
    "id",
    "type",
    "name",
    "occurredAt",
    "url",
    "title",
    "referrer",
    "screen",
    "tz",
    "props",
    "traits",
    "visitorId",
    "userId",
  ] as const;
  const nasty = fc.oneof(
    anything,
    fc.constant(undefined),
    text,
    fc.constantFrom(
      "i".repeat(5_000),
      "javascript:alert(1)",
      "/relative",
      "https://",
      -1e308,
      1e308,
      0,
      "__proto__",
    ),
    propsArb,
  );
  /** A valid event with up to three fields replaced by junk or removed. */
  const eventArb = fc
    .tuple(
      fc.record(
        {
          id: fc.string({ minLength: 1, maxLength: 20 }),
          type: fc.constantFrom("pageview", "track", "identify"),
          name: fc.string({ minLength: 1, maxLength: 20 }),
          // Up to 8 days back: past 7 (before the batch's sentAt) an event is refused as stale.
          occurredAt: fc.integer({ min: NOW - 8 * 24 * HOUR, max: NOW + 24 * HOUR }),
          url: fc.oneof(
            fc.webUrl({ withQueryParameters: true, withFragments: true }),
            fc.constantFrom("https://s.io/a?utm_source=x&utm_medium=cpc", "http://localhost:3000/"),
          ),
          title: text,
          referrer: fc.oneof(fc.webUrl(), text),
          screen: fc.constantFrom("390x844", "1920x1080"),
          props: propsArb,
          visitorId: fc.string({ minLength: 1, maxLength: 12 }),
          userId: fc.string({ minLength: 1, maxLength: 12 }),
        },
        { requiredKeys: ["id", "type", "name", "occurredAt", "url"] },
      ),
      fc.array(fc.tuple(fc.constantFrom(...FIELDS), nasty), { maxLength: 3 }),
    )
    .map(([event, junk]) => {
      const out: Record<string, unknown> = { ...event };
      for (const [field, value] of junk) {
        if (value === undefined) delete out[field];
        else out[field] = value;
      }
      return out;
    });

  test("no body, however malformed, gets a 5xx, and every stored event passes normalizeEvent unchanged and is counted once", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const bodyArb = fc.oneof(
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom("x".repeat(70_000), `{"key":"${"k".repeat(70_000)}"}`),
      },
      {
        weight: 8,
        arbitrary: fc
          .record(
            {
              key: fc.oneof(
                { weight: 6, arbitrary: fc.constant(writeKey) },
                { weight: 1, arbitrary: anything },
              ),
              batchId: maybe(fc.string({ minLength: 1, maxLength: 12 })),
              sentAt: anything,
              events: maybe(
                fc.array(
                  fc.oneof({ weight: 8, arbitrary: eventArb }, { weight: 1, arbitrary: anything }),
                  { maxLength: 8 },
                ),
              ),
            },
            { requiredKeys: ["key", "batchId", "events"] },
          )
          .map((b) => JSON.stringify(b)),
      },
    );
    let accepted = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        bodyArb,
        fc.constantFrom("application/json", "text/plain"),
        async (body, contentType) => {
          const res = await post(t, body, { "Content-Type": contentType });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          // 429 (rate limited) is a legitimate answer to a flood from one client; a 5xx never is.
          expect([202, 400, 401, 413, 429]).toContain(res.status);
          expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
          const json = await res.json();
          if (res.status === 202) accepted += json.accepted;
          else expect(json.error.code).toEqual(expect.any(String));
        },
      ),
      { numRuns: 300 },
    );
    // The generator reached the deep paths, not just the envelope checks.
    expect(statuses.get(202)).toBeGreaterThan(50);
    expect(accepted).toBeGreaterThan(50);

    // A batch was received when it was created (ingest's Date.now() is that millisecond).
    const stored = (await batches(t)).queued.map((b) => ({
      receivedAt: Math.floor(b._creationTime),
      events: b.events,
    }));
    expect(stored.reduce((n, b) => n + b.events.length, 0)).toBe(accepted);
    for (const batch of stored) {
      // Stored events are normalised: validating one again (with the fields the route derived) changes nothing.
      for (const event of batch.events)
        expect(normalizeEvent(event, batch.receivedAt, enrichedFields(event))).toEqual({
          ok: true,
          event,
        });
    }
    const counted = stored.flatMap((b) => b.events).filter((e) => e.type !== "identify").length;

    // Whatever was accepted, the worker processes without a single dead letter.
    await drain(t);
    expect([
      (await batches(t)).queued.length,
      await inAnalytics(t, async (ctx) => (await ctx.db.query("deadLetters").collect()).length),
    ]).toEqual([0, 0]);
    expect((await overview(t, siteId)).events).toBe(counted);
  });
});
