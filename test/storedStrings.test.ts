// What is stored of an event's strings (issue 12): page URLs lose their query
// parameters except campaign tags and the site's allow-list; lone UTF-16
// surrogates anywhere are replaced per event, never failing the batch; and
// server-side track never throws into the host's mutation.
import { describe, expect, test, vi } from "vitest";
import { batches, initApp, useFixedClock, type App } from "./app.setup.js";
import { api, components } from "../example/convex/_generated/api.js";
import { Analytics } from "../src/client/index.js";
import type { SiteSettings } from "../src/shared.js";
import { withoutPrivateQuery } from "../src/component/urlPrivacy.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

useFixedClock(NOW);
enforceConvexDocumentLimits();

async function createSite(t: App, settings: SiteSettings = {}) {
  return await t.mutation(api.analytics.createSite, { slug: "shop", name: "Shop", settings });
}

/** Posts the body text as a browser would (so JSON escapes reach the server as sent). */
async function postText(t: App, body: string) {
  const res = await t
    .withRequestMetadata({ ip: "198.51.100.1", userAgent: CHROME })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body,
    });
  return { status: res.status, body: await res.json() };
}

const storedEvents = async (t: App) => {
  const { processed, queued } = await batches(t);
  return [...processed, ...queued].flatMap((b) => b.events);
};

describe("query strings", () => {
  test.each([
    [
      "https://shop.example.org/reset?token=abc123&email=a%40b.com",
      "https://shop.example.org/reset",
    ],
    [
      "https://shop.example.org/?utm_source=news&token=x&utm_campaign=spring&ref=hn&source=tw",
      "https://shop.example.org/?utm_source=news&utm_campaign=spring&ref=hn&source=tw",
    ],
    ["https://shop.example.org/p?utm_medium=email", "https://shop.example.org/p?utm_medium=email"],
    ["https://shop.example.org/#access_token=secret", "https://shop.example.org/"],
    ["https://shop.example.org/#/orders/7?session=s", "https://shop.example.org/#/orders/7"],
    ["https://shop.example.org/#!/cart", "https://shop.example.org/#!/cart"],
    ["https://shop.example.org/docs", "https://shop.example.org/docs"],
  ])("%s is stored as %s", (url, stored) => {
    expect(withoutPrivateQuery(url)).toBe(stored);
  });

  test("a browser's pageview of /reset?token=…&email=… is stored as /reset, its referrer without its query, campaign tags kept and counted, and a site's keptQueryParams kept", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { keptQueryParams: ["q"] });
    const event = (id: string, url: string) => ({
      id,
      type: "pageview",
      occurredAt: Date.now(),
      url,
      referrer: "https://mail.example.net/inbox?session=s3cr3t#m1",
    });
    const res = await postText(
      t,
      JSON.stringify({
        key: writeKey,
        batchId: "b1",
        sentAt: Date.now(),
        events: [
          event("e1", "https://shop.example.org/reset?token=abc123&email=a%40b.com"),
          event("e2", "https://shop.example.org/search?q=shoes&sid=77&utm_source=newsletter"),
        ],
      }),
    );
    expect(res).toEqual({ status: 202, body: { accepted: 2, duplicate: false, rejected: [] } });
    const stored = await storedEvents(t);
    expect(stored.map((e) => [e.url, e.referrer])).toEqual([
      ["https://shop.example.org/reset", "https://mail.example.net/inbox"],
      [
        "https://shop.example.org/search?q=shoes&utm_source=newsletter",
        "https://mail.example.net/inbox",
      ],
    ]);
    const text = JSON.stringify(stored);
    for (const secret of ["abc123", "a%40b.com", "s3cr3t", "sid="])
      expect(text).not.toContain(secret);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const sources = await t.query(api.analytics.getBreakdown, {
      siteId,
      from: NOW - HOUR,
      to: NOW + HOUR,
      dimension: "referrer",
    });
    expect(sources.rows.map((r) => [r.key, r.visitors])).toEqual([["mail.example.net", 1]]);
  });

  test("keptQueryParams over 50 names or with an empty name is refused with a clear error", async () => {
    const t = initApp();
    await expect(
      createSite(t, { keptQueryParams: Array.from({ length: 51 }, (_, i) => `p${i}`) }),
    ).rejects.toThrow("keptQueryParams holds at most 50 names");
    await expect(createSite(t, { keptQueryParams: [""] })).rejects.toThrow(
      "keptQueryParams names must be 1-100 characters",
    );
  });
});

describe("lone surrogates", () => {
  test("lone surrogates in the url, referrer, name, userId, props and traits of one event are replaced with U+FFFD; the batch's other events are kept as sent, and all are counted", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    // JSON escapes are the only way a client can send lone surrogates.
    const at = Date.now();
    const body = `{"key":"${writeKey}","batchId":"lone","sentAt":${at},"events":[
      {"id":"s1","type":"pageview","occurredAt":${at},"url":"https://shop.example.org/a\\ud800b","referrer":"https://ref.example.net/\\udc00","title":"t\\udbff","visitorId":"v1"},
      {"id":"s2","type":"track","name":"buy\\ud83d","occurredAt":${at},"url":"https://shop.example.org/","visitorId":"v1","props":{"k\\ude00":"v\\ud800","plain":"ok"}},
      {"id":"s3","type":"identify","occurredAt":${at},"url":"https://shop.example.org/","visitorId":"v1","userId":"u\\udfff","traits":{"name":"\\ud800"}},
      {"id":"s4","type":"pageview","occurredAt":${at},"url":"https://shop.example.org/fine","visitorId":"v2","title":"Ünïcødé 😀"}
    ]}`;
    const res = await postText(t, body);
    expect(res).toEqual({ status: 202, body: { accepted: 4, duplicate: false, rejected: [] } });
    const stored = await storedEvents(t);
    const wellFormed = (x: unknown) => JSON.stringify(x).match(/\\ud[89a-f]/i) === null;
    for (const e of stored) expect(wellFormed(e)).toBe(true);
    for (const e of stored)
      for (const s of Object.values(e).flatMap((v) =>
        typeof v === "object" ? Object.entries(v).flat() : [v],
      ))
        if (typeof s === "string") expect(s).not.toMatch(LONE_SURROGATE);
    expect(stored[1]!.name).toBe("buy\ufffd");
    expect(stored[2]!.userId).toBe("u\ufffd");
    expect(stored[3]!.title).toBe("Ünïcødé 😀");
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const overview = await t.query(api.analytics.getOverview, {
      siteId,
      from: NOW - HOUR,
      to: NOW + HOUR,
    });
    // The identify event links a user; it is not an event in reports.
    expect([overview.events, overview.pageviews, overview.visitors]).toEqual([3, 2, 2]);
  });
});

describe("server-side track never throws into the host's mutation", () => {
  const analytics = new Analytics(components.analytics);

  test("an unknown site, a 500-character event id, a disabled site, a lone surrogate and an invalid prop are each answered in the result, and the host's write commits", async () => {
    const t = initApp();
    const { siteId } = await createSite(t);
    await t.mutation(api.analytics.createSite, { slug: "off", name: "Off" });
    const off = await t.query(api.analytics.getSiteBySlug, { slug: "off" });
    await t.mutation(api.analytics.updateSite, { siteId: off!._id, enabled: false });
    const results = await t.run(async (ctx) => {
      await ctx.db.insert("users", { email: "kept@example.com", plan: "pro" });
      return [
        await analytics.track(ctx, { site: "nope", name: "signup", userId: "u1" }),
        await analytics.track(ctx, {
          site: "shop",
          name: "signup",
          userId: "u1",
          id: "x".repeat(500),
        }),
        await analytics.track(ctx, { site: "off", name: "signup", userId: "u1" }),
        await analytics.track(ctx, { site: "shop", name: "sign\ud800up", userId: "u\udc00" }),
        await analytics.track(ctx, {
          site: "shop",
          name: "signup",
          userId: "u1",
          props: { nested: { a: 1 } as unknown as string },
        }),
      ];
    });
    expect(results).toEqual([
      { accepted: 0, duplicate: false, rejected: [{ index: 0, reason: 'unknown site "nope"' }] },
      { accepted: 1, duplicate: false, rejected: [] },
      { accepted: 0, duplicate: false, rejected: [{ index: 0, reason: "site is disabled" }] },
      { accepted: 1, duplicate: false, rejected: [] },
      {
        accepted: 0,
        duplicate: false,
        rejected: [
          { index: 0, reason: "props.nested must be a string, a finite number or a boolean" },
        ],
      },
    ]);
    expect(await t.run(async (ctx) => (await ctx.db.query("users").collect()).length)).toBe(1);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const events = await t.query(api.analytics.getBreakdown, {
      siteId,
      from: NOW - HOUR,
      to: NOW + HOUR,
      dimension: "event",
    });
    expect(events.rows.map((r) => [r.key, r.events]).sort()).toEqual([
      ["signup", 1],
      ["sign\ufffdup", 1],
    ]);
  });
});
