// The hardened ingest route (issue 4): per-site and per-client rate limits
// answered 429 with Retry-After, bots counted and never stored, cookieless
// visitor ids from a daily salt that rotates at the site's local midnight, the client's IP
// and user agent never stored anywhere, device/browser/OS and country derived
// on the server, and typed server-side tracking.
import { describe, expect, expectTypeOf, test, vi } from "vitest";
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import {
  batches,
  everyDocument,
  inComponent,
  initApp,
  useFixedClock,
  type App,
} from "./app.setup.js";
import { api, components, internal } from "../example/convex/_generated/api.js";
import { Analytics } from "../src/client/index.js";
import { sha256Hex, type SiteSettings } from "../src/shared.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

type AnyCtx = GenericMutationCtx<GenericDataModel>;

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const UA = {
  chromeWindows:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  iphoneSafari:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  androidChrome:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
  firefoxMac: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
  googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  bingbot: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  curl: "curl/8.4.0",
};

useFixedClock(NOW);
enforceConvexDocumentLimits();

const analyticsDocs = (t: App, table: string) =>
  inComponent(
    t,
    "analytics",
    async (ctx) => (await ctx.db.query(table).collect()) as Record<string, unknown>[],
  );

async function createSite(t: App, settings: SiteSettings = {}, slug = "shop") {
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
    slug,
    name: "Shop",
    settings,
  });
  return { siteId, writeKey };
}

/** A browser client: its IP (sent the way a proxy forwards it) and its user agent. */
type Client = { ip: string; ua: string; headers?: Record<string, string> };
const alice: Client = { ip: "198.51.100.1", ua: UA.chromeWindows };
const bob: Client = { ip: "198.51.100.2", ua: UA.chromeWindows };

/**
 * The IP and user agent reach the component as Convex's request metadata (set
 * by the deployment, not by the client); the user agent is also sent as the
 * header a browser would send. A forwarding header is sent too, to prove it is
 * not trusted.
 */
function post(t: App, client: Client, body: unknown) {
  return t.withRequestMetadata({ ip: client.ip, userAgent: client.ua }).fetch("/analytics/ingest", {
    method: "POST",
    headers: {
      "Content-Type": "text/plain;charset=UTF-8",
      "x-forwarded-for": "203.0.113.250",
      "user-agent": client.ua,
      ...client.headers,
    },
    body: JSON.stringify(body),
  });
}

/** A pageview sent without a visitorId (cookieless mode) unless `extra` gives one. */
const pageview = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: "pageview",
  occurredAt: Date.now() - 1_000,
  url: "https://shop.example.org/",
  ...extra,
});
const batch = (key: string, batchId: string, events: unknown[]) => ({
  key,
  batchId,
  sentAt: Date.now(),
  events,
});

/** Posts a one-pageview batch and returns the status. */
async function send(
  t: App,
  client: Client,
  key: string,
  batchId: string,
  extra: Record<string, unknown> = {},
) {
  return (await post(t, client, batch(key, batchId, [pageview(`${batchId}-e`, extra)]))).status;
}

const drain = (t: App) => t.finishAllScheduledFunctions(vi.runAllTimers);

const overview = (t: App, siteId: string) =>
  t.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: NOW + 2 * DAY });

async function breakdown(
  t: App,
  siteId: string,
  dimension: "device" | "browser" | "os" | "country",
) {
  const { rows } = await t.query(api.analytics.getBreakdown, {
    siteId,
    from: NOW - DAY,
    to: NOW + DAY,
    dimension,
    limit: 100,
  });
  return rows.map((r) => [r.key, r.visitors] as const).sort((a, b) => a[0].localeCompare(b[0]));
}

/** The visitor ids of the stored sessions, as the worker recorded them. */
async function sessionVisitors(t: App): Promise<string[]> {
  return (await analyticsDocs(t, "sessions")).map((s) => s.visitorId as string);
}

/** How many events the site holds, queued or processed. */
async function storedEvents(t: App): Promise<number> {
  let n = 0;
  for (const table of ["batches", "deadLetters"]) {
    for (const doc of await analyticsDocs(t, table)) n += (doc.events as unknown[]).length;
  }
  return n;
}

describe("rate limits", () => {
  test("a client's 6th batch within a minute at clientBatchesPerMinute 5 is answered 429 with Retry-After and stores nothing, also under another user agent, while another address is accepted, and the first client is accepted again after a minute", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { clientBatchesPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect(await send(t, alice, writeKey, `a${i}`)).toBe(202);
    expect(await storedEvents(t)).toBe(5);

    const limited = await post(t, alice, batch(writeKey, "a5", [pageview("a5-e")]));
    expect(limited.status).toBe(429);
    const retryAfter = limited.headers.get("Retry-After");
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({
      error: { code: "rate_limited", message: expect.stringContaining(retryAfter!) },
    });
    expect(await storedEvents(t)).toBe(5);

    // Another IP with the same user agent is another client, with its own budget.
    expect(await send(t, bob, writeKey, "b0")).toBe(202);
    // The same IP with another user agent is the same client: a user agent is the client's to rotate.
    expect(await send(t, { ip: alice.ip, ua: UA.firefoxMac }, writeKey, "c0")).toBe(429);
    expect(await send(t, alice, writeKey, "a6")).toBe(429);

    vi.advanceTimersByTime(MINUTE + 1_000);
    expect(await send(t, alice, writeKey, "a7")).toBe(202);
    expect(await storedEvents(t)).toBe(7);
    await drain(t);
    expect((await overview(t, siteId)).pageviews).toBe(7);
  });

  test("at clientBatchesPerMinute 5, Retry-After says when the next token comes: 12 s, and the client is accepted again once it has passed", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, { clientBatchesPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect(await send(t, alice, writeKey, `a${i}`)).toBe(202);
    const limited = await post(t, alice, batch(writeKey, "a5", [pageview("a5-e")]));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("12");
    vi.advanceTimersByTime(12_000);
    expect(await send(t, alice, writeKey, "a5")).toBe(202);
  });

  test("the site's 6th batch within a minute at siteBatchesPerMinute 5 is answered 429 with Retry-After whichever client sends it, and the site is accepted again after a minute", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, { siteBatchesPerMinute: 5 });
    const client = (i: number): Client => ({ ip: `198.51.100.${10 + i}`, ua: UA.chromeWindows });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await send(t, client(i), writeKey, `s${i}`));
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const limited = await post(t, client(7), batch(writeKey, "s7", [pageview("s7-e")]));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect((await limited.json()).error.code).toBe("rate_limited");
    expect(await storedEvents(t)).toBe(5);

    vi.advanceTimersByTime(MINUTE + 1_000);
    expect(await send(t, client(8), writeKey, "s8")).toBe(202);
    expect(await storedEvents(t)).toBe(6);
  });

  test("a site-wide limit of 100 a minute, spread over shards, lets through about 100 batches from 100 clients and refuses the rest", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, { siteBatchesPerMinute: 100 });
    let accepted = 0;
    for (let i = 0; i < 130; i++)
      if (
        (await send(
          t,
          { ip: `198.51.${Math.floor(i / 250)}.${i % 250}`, ua: UA.chromeWindows },
          writeKey,
          `s${i}`,
        )) === 202
      )
        accepted++;
    // Sharded buckets are approximate: never more than the limit, and not far under it.
    expect(accepted).toBeLessThanOrEqual(100);
    expect(accepted).toBeGreaterThanOrEqual(90);
  });

  test.each([
    ["siteBatchesPerMinute", 0],
    ["clientBatchesPerMinute", 0],
    ["clientBatchesPerMinute", -5],
    ["siteBatchesPerMinute", 0.5],
    ["clientBatchesPerMinute", Number.NaN],
  ])(
    "a site with %s %d is refused with a clear message rather than answering every request 500",
    async (name, rate) => {
      const t = initApp();
      await expect(createSite(t, { [name]: rate })).rejects.toThrow(
        `${name} must be between 1 and 1,000,000`,
      );
      const { siteId } = await createSite(t);
      await expect(
        t.mutation(api.analytics.updateSite, { siteId, settings: { [name]: rate } }),
      ).rejects.toThrow(`${name} must be between 1 and 1,000,000`);
    },
  );

  test("a batch answered 429 and resent later with the same batchId is accepted once and counted once", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { clientBatchesPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect(await send(t, alice, writeKey, `a${i}`)).toBe(202);
    const retried = batch(writeKey, "retried", [
      pageview("r1", { visitorId: "v-r" }),
      pageview("r2", { visitorId: "v-r", url: "https://shop.example.org/pricing" }),
    ]);
    expect((await post(t, alice, retried)).status).toBe(429);

    vi.advanceTimersByTime(MINUTE);
    const accepted = await post(t, alice, retried);
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ accepted: 2, duplicate: false, rejected: [] });
    expect(await (await post(t, alice, retried)).json()).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
    await drain(t);
    expect(await (await post(t, alice, retried)).json()).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
    await drain(t);
    expect((await overview(t, siteId)).pageviews).toBe(7);
    const pages = await t.query(api.analytics.getBreakdown, {
      siteId,
      from: NOW - DAY,
      to: NOW + DAY,
      dimension: "page",
      limit: 10,
    });
    expect(pages.rows.find((r) => r.key === "/pricing")?.pageviews).toBe(1);
  });
});

describe("bots", () => {
  test.each([
    ["Googlebot", UA.googlebot],
    ["bingbot", UA.bingbot],
    ["curl", UA.curl],
  ])(
    "a %s request is answered 202 with accepted 0, stores nothing but the bot counter, and getBotCounts reports it for today's UTC day",
    async (_, ua) => {
      const t = initApp();
      const { siteId, writeKey } = await createSite(t);
      const before = await everyDocument(t);

      const res = await post(
        t,
        { ip: "66.249.66.1", ua },
        batch(writeKey, "crawl-1", [pageview("e1"), pageview("e2", { visitorId: "v1" })]),
      );
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0, duplicate: false, rejected: [] });
      expect(await send(t, { ip: "66.249.66.2", ua }, writeKey, "crawl-2")).toBe(202);
      await drain(t);

      const after = await everyDocument(t);
      const changed = [...after.keys()].filter(
        (k) => JSON.stringify(after.get(k)) !== JSON.stringify(before.get(k) ?? []),
      );
      // Bots are rate limited like everyone (so they cannot inflate the counter for free) and need the day's salt for that.
      expect(changed.sort()).toEqual([
        "analytics/rateLimiter:rateLimits",
        "analytics:botCounts",
        "analytics:salts",
      ]);

      const counts = await t.query(api.analytics.getBotCounts, { siteId, days: 2 });
      expect(counts).toEqual([
        { day: "2026-03-09", bots: 0 },
        { day: "2026-03-10", bots: 2 },
      ]);
      const o = await overview(t, siteId);
      expect([o.events, o.pageviews, o.visitors]).toEqual([0, 0, 0]);
    },
  );

  test("bot counts are kept per UTC day and per site, and a browser's batch is accepted and counted as a pageview", async () => {
    const t = initApp();
    const shop = await createSite(t);
    const blog = await createSite(t, {}, "blog");
    const browser: Client = { ip: "198.51.100.1", ua: UA.iphoneSafari };
    expect(
      await post(t, browser, batch(shop.writeKey, "human", [pageview("h1")])).then((r) => r.json()),
    ).toEqual({ accepted: 1, duplicate: false, rejected: [] });
    expect(await send(t, { ip: "1.1.1.1", ua: UA.googlebot }, shop.writeKey, "g1")).toBe(202);
    expect(await send(t, { ip: "1.1.1.1", ua: UA.googlebot }, blog.writeKey, "g2")).toBe(202);
    vi.setSystemTime(Date.parse("2026-03-11T00:00:01Z"));
    for (let i = 0; i < 3; i++)
      expect(await send(t, { ip: "1.1.1.1", ua: UA.curl }, shop.writeKey, `c${i}`)).toBe(202);

    expect(await t.query(api.analytics.getBotCounts, { siteId: shop.siteId, days: 3 })).toEqual([
      { day: "2026-03-09", bots: 0 },
      { day: "2026-03-10", bots: 1 },
      { day: "2026-03-11", bots: 3 },
    ]);
    expect(await t.query(api.analytics.getBotCounts, { siteId: blog.siteId, days: 2 })).toEqual([
      { day: "2026-03-10", bots: 1 },
      { day: "2026-03-11", bots: 0 },
    ]);
    await drain(t);
    const o = await overview(t, shop.siteId);
    expect([o.pageviews, o.visitors]).toEqual([1, 1]);
  });
});

describe("cookieless visitor ids", () => {
  test("events without a visitorId from the same IP and user agent on the same UTC day are one visitor across batches; another IP or user agent is another visitor", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    expect(await send(t, alice, writeKey, "b1")).toBe(202);
    vi.advanceTimersByTime(2 * HOUR);
    expect(await send(t, alice, writeKey, "b2")).toBe(202);
    await drain(t);
    expect((await overview(t, siteId)).visitors).toBe(1);
    expect(new Set(await sessionVisitors(t)).size).toBe(1);

    expect(await send(t, bob, writeKey, "b3")).toBe(202);
    expect(await send(t, { ip: alice.ip, ua: UA.firefoxMac }, writeKey, "b4")).toBe(202);
    await drain(t);
    const o = await overview(t, siteId);
    expect([o.pageviews, o.visitors]).toEqual([4, 3]);
    const ids = new Set(await sessionVisitors(t));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^c_[0-9a-f]{32}$/);
  });

  test("the same IP and user agent get a different cookieless visitor id on each site", async () => {
    const t = initApp();
    const shop = await createSite(t);
    const blog = await createSite(t, {}, "blog");
    expect(await send(t, alice, shop.writeKey, "s1")).toBe(202);
    expect(await send(t, alice, blog.writeKey, "b1")).toBe(202);
    await drain(t);
    const ids = await sessionVisitors(t);
    expect(ids.length).toBe(2);
    expect(ids[0]).not.toBe(ids[1]);
  });

  test("after UTC midnight the same IP and user agent become a new visitor, because the daily salt rotated", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    vi.setSystemTime(Date.parse("2026-03-10T23:58:00Z"));
    expect(await send(t, alice, writeKey, "late")).toBe(202);
    vi.setSystemTime(Date.parse("2026-03-10T23:59:30Z"));
    expect(await send(t, alice, writeKey, "later")).toBe(202);
    vi.setSystemTime(Date.parse("2026-03-11T00:00:30Z"));
    expect(await send(t, alice, writeKey, "next-day")).toBe(202);
    await drain(t);

    const o = await overview(t, siteId);
    expect([o.pageviews, o.visitors]).toEqual([3, 2]);
    const ids = await sessionVisitors(t);
    expect(new Set(ids).size).toBe(2);
    const salts = (await analyticsDocs(t, "salts")).map((s) => s.day).sort();
    expect(salts).toEqual(["2026-03-10", "2026-03-11"]);
  });

  test("cookieless ids rotate at the site's local midnight, by when each event occurred, so visitors add up across local days", async () => {
    const t = initApp();
    // Asia/Kolkata is UTC+5:30: local midnight of 03-11 is 03-10 18:30 UTC.
    const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
      slug: "in",
      name: "In",
      timezone: "Asia/Kolkata",
    });
    const midnight = Date.parse("2026-03-10T18:30:00Z");
    vi.setSystemTime(midnight - 10 * MINUTE);
    expect(await send(t, alice, writeKey, "before", { occurredAt: midnight - 10 * MINUTE })).toBe(
      202,
    );
    // Occurred 2 s before local midnight, received 3 s after: still the old day's id.
    vi.setSystemTime(midnight + 3_000);
    expect(await send(t, alice, writeKey, "straddle", { occurredAt: midnight - 2_000 })).toBe(202);
    expect(await send(t, alice, writeKey, "after", { occurredAt: midnight + 1_000 })).toBe(202);
    // Three days late: that day's salt is gone, so it gets a late id (counted as a persistent one).
    expect(await send(t, alice, writeKey, "late", { occurredAt: midnight - 3 * DAY })).toBe(202);
    await drain(t);

    const raw = (await analyticsDocs(t, "batches")) as {
      batchId: string;
      events: { visitorId: string }[];
    }[];
    const idOf = (batchId: string) => raw.find((b) => b.batchId === batchId)!.events[0]!.visitorId;
    expect(idOf("straddle")).toBe(idOf("before"));
    expect(idOf("after")).not.toBe(idOf("before"));
    expect(idOf("after")).toMatch(/^c_[0-9a-f]{32}$/);
    expect(idOf("late")).toMatch(/^l_[0-9a-f]{32}$/);
    // Over all four local days: three distinct ids, whether the days are read as one range or not.
    const o = await t.query(api.analytics.getOverview, {
      siteId,
      from: midnight - 4 * DAY,
      to: midnight + DAY,
    });
    expect([o.pageviews, o.visitors]).toEqual([4, 3]);
  });

  test("applyRetention deletes salts older than yesterday, so only today's and yesterday's remain", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t);
    for (const [i, day] of ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"].entries()) {
      vi.setSystemTime(Date.parse(`${day}T08:00:00Z`));
      expect(await send(t, { ip: alice.ip, ua: alice.ua }, writeKey, `d${i}`)).toBe(202);
    }
    const days = async () => (await analyticsDocs(t, "salts")).map((s) => s.day).sort();
    expect(await days()).toEqual(["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"]);

    await t.mutation(internal.analytics.applyRetention, {});
    expect(await days()).toEqual(["2026-03-09", "2026-03-10"]);

    // The next UTC day: yesterday's salt (03-10) stays, 03-09's goes.
    vi.setSystemTime(Date.parse("2026-03-11T00:00:05Z"));
    await t.mutation(internal.analytics.applyRetention, {});
    expect(await days()).toEqual(["2026-03-10"]);
    expect(await send(t, alice, writeKey, "d4")).toBe(202);
    expect(await days()).toEqual(["2026-03-10", "2026-03-11"]);
    await drain(t);
  });

  test("applyRetention also deletes the rate-limit buckets of days before yesterday, which no request reads again", async () => {
    const t = initApp();
    const days = ["2026-03-07", "2026-03-08", "2026-03-09", "2026-03-10"];
    // The site exists before the first day's batches: a deployment's clock only moves on, and
    // batches are taken in creation order.
    vi.setSystemTime(Date.parse(`${days[0]}T07:00:00Z`));
    const { writeKey } = await createSite(t);
    const buckets = () =>
      inComponent(
        t,
        "analytics/rateLimiter",
        async (ctx) => (await ctx.db.query("rateLimits").collect()).length,
      );
    for (const [i, day] of days.entries()) {
      vi.setSystemTime(Date.parse(`${day}T08:00:00Z`));
      expect(await send(t, alice, writeKey, `d${i}-a`)).toBe(202);
      expect(await send(t, bob, writeKey, `d${i}-b`)).toBe(202);
    }
    const perDay = (await buckets()) / days.length;
    expect(perDay).toBeGreaterThanOrEqual(3); // one site bucket (or more shards) and one per client
    await t.mutation(internal.analytics.applyRetention, {});
    await drain(t);
    expect(await buckets()).toBe(2 * perDay);
    // Today's buckets still hold today's spending: alice's limit is not reset.
    expect(await send(t, alice, writeKey, "d4")).toBe(202);
  });

  test("events that carry a visitorId (persistent mode) keep it, whatever the IP, user agent or day", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    expect(await send(t, alice, writeKey, "p1", { visitorId: "persist-42" })).toBe(202);
    expect(await send(t, bob, writeKey, "p2", { visitorId: "persist-42" })).toBe(202);
    vi.setSystemTime(Date.parse("2026-03-11T09:00:00Z"));
    expect(
      await send(t, { ip: "198.51.100.9", ua: UA.iphoneSafari }, writeKey, "p3", {
        visitorId: "persist-42",
      }),
    ).toBe(202);
    // A cookieless neighbour in the same batch as a persistent event gets its own hashed id.
    const mixed = await post(
      t,
      alice,
      batch(writeKey, "p4", [pageview("p4-a", { visitorId: "persist-42" }), pageview("p4-b")]),
    );
    expect((await mixed.json()).accepted).toBe(2);
    await drain(t);

    const ids = new Set(await sessionVisitors(t));
    expect(ids.has("persist-42")).toBe(true);
    expect(ids.size).toBe(2);
    const raw = (await batches(t)).processed.flatMap(
      (b) => b.events as { id: string; visitorId: string }[],
    );
    expect(
      raw
        .filter((e) => e.visitorId === "persist-42")
        .map((e) => e.id)
        .sort(),
    ).toEqual(["p1-e", "p2-e", "p3-e", "p4-a"]);
    expect((await overview(t, siteId)).visitors).toBe(2);
  });
});

describe("privacy", () => {
  test("the client's IP, sent in x-forwarded-for, cf-connecting-ip and x-real-ip, and its user agent appear in no stored document of any table of any component", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, { clientBatchesPerMinute: 4 });
    const ip = "203.0.113.77";
    // Distinctive, and not a bot to isbot (which flags any "...Agent/" token).
    const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0 Zephyr/9.9";
    const headers = {
      "cf-connecting-ip": ip,
      "x-real-ip": ip,
      "cf-ipcountry": "NL",
      Origin: "https://shop.example.org",
    };
    const client: Client = { ip, ua, headers };
    for (let i = 0; i < 3; i++) {
      const res = await post(
        t,
        client,
        batch(writeKey, `ip-${i}`, [
          pageview(`ip-${i}-pv`, {
            referrer: "https://news.example.com/",
            screen: "1920x1080",
            tz: "Europe/Amsterdam",
          }),
          {
            id: `ip-${i}-tr`,
            type: "track",
            name: "signup",
            occurredAt: Date.now(),
            url: "https://shop.example.org/join",
            props: { plan: "pro" },
          },
        ]),
      );
      expect(res.status).toBe(202);
    }
    // A bot from the same address is the same client: its 4th batch of the minute, then the 5th is refused.
    expect(await send(t, { ip, ua: UA.googlebot, headers }, writeKey, "ip-bot")).toBe(202);
    expect((await post(t, client, batch(writeKey, "ip-limited", [pageview("x")]))).status).toBe(
      429,
    );
    await drain(t);
    // Two hours on, the maintenance cron compacts the closed hour into canonical rollups.
    vi.advanceTimersByTime(2 * HOUR);
    await t.mutation(internal.analytics.kick, {});
    await drain(t);
    // One more batch left queued, past the site's cursor, so that a queued batch is scanned too.
    vi.advanceTimersByTime(MINUTE);
    expect(await send(t, client, writeKey, "ip-pending")).toBe(202);

    const docs = await everyDocument(t);
    const count = (key: string) => docs.get(key)?.length ?? 0;
    // Every kind of stored state was written: queued and processed events, the loop's cursor, sessions, rollups, salts, bot counts, rate-limit buckets.
    for (const key of [
      "analytics:batches",
      "analytics:siteCursors",
      "analytics:sessions",
      "analytics:rollups",
      "analytics:salts",
      "analytics:botCounts",
      "analytics/hourlyTotals:btreeNode",
      "analytics/rateLimiter:rateLimits",
    ]) {
      expect(count(key), key).toBeGreaterThan(0);
    }
    const all = [...docs.values()].flat().join("\n");
    const hex = ip
      .split(".")
      .map((n) => Number(n).toString(16).padStart(2, "0"))
      .join("");
    for (const variant of [
      ip,
      "203-0-113-77",
      "203_0_113_77",
      "203,0,113,77",
      "203.0.113",
      "0.113.77",
      "203011377",
      hex,
      btoa(ip),
      encodeURIComponent(ip),
    ]) {
      expect([variant, all.includes(variant)]).toEqual([variant, false]);
    }
    // Nor an unsalted hash of it, which anyone could reverse by hashing every IPv4 address.
    for (const text of [ip, `${ip}|${ua}`]) {
      const hash = await sha256Hex(text);
      expect([text, all.includes(hash.slice(0, 16))]).toEqual([text, false]);
    }
    expect(all.includes(ua)).toBe(false);
    expect(all.includes("Zephyr")).toBe(false);
    // What ingest derived from them is there: the parsed browser and the header's country.
    expect(all.includes("Firefox")).toBe(true);
    expect(all.includes('"NL"')).toBe(true);
  });
});

describe("user agent and country", () => {
  test("Chrome on Windows, Safari on an iPhone and Chrome on Android are desktop, mobile and mobile with their browser and OS in breakdowns", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    expect(await send(t, { ip: "198.51.100.1", ua: UA.chromeWindows }, writeKey, "win")).toBe(202);
    expect(await send(t, { ip: "198.51.100.2", ua: UA.iphoneSafari }, writeKey, "iphone")).toBe(
      202,
    );
    expect(await send(t, { ip: "198.51.100.3", ua: UA.androidChrome }, writeKey, "android")).toBe(
      202,
    );
    await drain(t);
    expect(await breakdown(t, siteId, "device")).toEqual([
      ["desktop", 1],
      ["mobile", 2],
    ]);
    expect(await breakdown(t, siteId, "browser")).toEqual([
      ["Chrome", 2],
      ["Mobile Safari", 1],
    ]);
    expect(await breakdown(t, siteId, "os")).toEqual([
      ["Android", 1],
      ["iOS", 1],
      ["Windows", 1],
    ]);
  });

  test("country comes from cf-ipcountry (DE), else from the event's timezone (Europe/Paris gives FR), and the XX and T1 header values are ignored", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const from = (n: number, headers: Record<string, string>): Client => ({
      ip: `198.51.100.${n}`,
      ua: UA.chromeWindows,
      headers,
    });
    expect(
      await send(t, from(1, { "cf-ipcountry": "DE" }), writeKey, "de", { tz: "Europe/Paris" }),
    ).toBe(202);
    expect(await send(t, from(2, { "x-vercel-ip-country": "at" }), writeKey, "at")).toBe(202);
    expect(await send(t, from(3, {}), writeKey, "fr", { tz: "Europe/Paris" })).toBe(202);
    expect(
      await send(t, from(4, { "cf-ipcountry": "XX" }), writeKey, "xx", { tz: "Europe/Paris" }),
    ).toBe(202);
    expect(
      await send(t, from(5, { "cf-ipcountry": "T1" }), writeKey, "t1", { tz: "Europe/Paris" }),
    ).toBe(202);
    expect(await send(t, from(6, { "cf-ipcountry": "XX" }), writeKey, "none")).toBe(202);
    await drain(t);
    const rows = await breakdown(t, siteId, "country");
    expect(rows.filter(([key]) => /^[A-Z]{2}$/.test(key))).toEqual([
      ["AT", 1],
      ["DE", 1],
      ["FR", 3],
    ]);
    expect(rows.some(([key]) => key === "XX" || key === "T1")).toBe(false);
    const stored = (await batches(t)).processed.flatMap(
      (b) => b.events as { id: string; country?: string }[],
    );
    expect(stored.find((e) => e.id === "none-e")?.country).toBeUndefined();
  });

  test("a country sent by the client is ignored unless the site sets trustClientCountry, and an edge header still wins over it", async () => {
    const t = initApp();
    const strict = await createSite(t, {}, "strict");
    const trusting = await createSite(t, { trustClientCountry: true }, "trusting");
    const client = (n: number, headers: Record<string, string> = {}): Client => ({
      ip: `198.51.100.${n}`,
      ua: UA.chromeWindows,
      headers,
    });
    for (const site of [strict, trusting]) {
      expect(await send(t, client(1), site.writeKey, "jp", { country: "JP" })).toBe(202);
      expect(
        await send(t, client(2), site.writeKey, "jp-tz", { country: "JP", tz: "Europe/Paris" }),
      ).toBe(202);
      expect(
        await send(t, client(3, { "cf-ipcountry": "DE" }), site.writeKey, "jp-de", {
          country: "JP",
        }),
      ).toBe(202);
      expect(await send(t, client(4), site.writeKey, "lower", { country: "jp" })).toBe(202);
    }
    await drain(t);
    const countries = async (siteId: string) => {
      const docs = (await batches(t)).processed.filter((b) => b.siteId === siteId);
      return Object.fromEntries(
        docs
          .flatMap((b) => b.events as { id: string; country?: string }[])
          .map((e) => [e.id, e.country ?? null]),
      );
    };
    expect(await countries(strict.siteId)).toEqual({
      "jp-e": null,
      "jp-tz-e": "FR",
      "jp-de-e": "DE",
      "lower-e": null,
    });
    expect(await countries(trusting.siteId)).toEqual({
      "jp-e": "JP",
      "jp-tz-e": "JP",
      "jp-de-e": "DE",
      "lower-e": null,
    });
    expect((await breakdown(t, strict.siteId, "country")).filter(([k]) => k === "JP")).toEqual([]);
    expect((await breakdown(t, trusting.siteId, "country")).filter(([k]) => k === "JP")).toEqual([
      ["JP", 2],
    ]);
  });
});

describe("server-side tracking types", () => {
  const analytics = new Analytics<{ signup: { plan: string } }>(components.analytics);
  type TrackArgs = Parameters<typeof analytics.track<"signup">>[1];

  /** Never called: it exists so that `tsc --noEmit` checks the @ts-expect-error lines. */
  async function typeErrors(ctx: AnyCtx) {
    await analytics.track(ctx, {
      site: "shop",
      name: "signup",
      props: { plan: "pro" },
      userId: "u1",
    });
    // @ts-expect-error a prop of the wrong type
    await analytics.track(ctx, { site: "shop", name: "signup", props: { plan: 1 }, userId: "u1" });
    await analytics.track(ctx, {
      site: "shop",
      // @ts-expect-error an event name the generic does not declare
      name: "signupp",
      props: { plan: "pro" },
      userId: "u1",
    });
    await analytics.track(ctx, {
      site: "shop",
      name: "signup",
      // @ts-expect-error a prop the event does not declare
      props: { plan: "pro", extra: true },
      userId: "u1",
    });
  }

  test("track with Analytics<{ signup: { plan: string } }> accepts the signup event with a string plan and refuses a numeric plan or another event name at compile time", () => {
    expectTypeOf(typeErrors).toBeFunction();
    expectTypeOf<TrackArgs["name"]>().toEqualTypeOf<"signup">();
    expectTypeOf<TrackArgs["props"]>().toEqualTypeOf<{ plan: string } | undefined>();
    expectTypeOf<{ plan: number }>().not.toMatchTypeOf<NonNullable<TrackArgs["props"]>>();
    expectTypeOf<"signupp">().not.toMatchTypeOf<Parameters<typeof analytics.track>[1]["name"]>();
  });
});
