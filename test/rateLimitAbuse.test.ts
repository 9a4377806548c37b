// Rate limits under abuse (issue 12): the per-client limit is keyed on the
// address Convex reports for the connection, so rotating forwarding headers or
// user agents does not evade it; bots are limited before they are answered;
// one client's flood spends at most its own budget of the site's; and a
// forwarding header counts only behind a proxy the site named.
import { describe, expect, test, vi } from "vitest";
import { everyDocument, inComponent, initApp, useFixedClock, type App } from "./app.setup.js";
import { api } from "../example/convex/_generated/api.js";
import type { SiteSettings } from "../src/shared.js";
import { clientAddress } from "../src/component/clientAddress.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/** A user agent that differs on every call: what a client rotating its user agent sends. */
const rotatingChrome = (i: number) => CHROME.replace("124.0.0.0", `124.0.${i}.0`);

useFixedClock(NOW);
enforceConvexDocumentLimits();

async function createSite(t: App, settings: SiteSettings) {
  return await t.mutation(api.analytics.createSite, { slug: "shop", name: "Shop", settings });
}

/** One request: `peer` is the address Convex reports for the connection; `headers` what the client (or a proxy) sent. */
async function send(
  t: App,
  writeKey: string,
  batchId: string,
  peer: string,
  userAgent: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const res = await t.withRequestMetadata({ ip: peer, userAgent }).fetch("/analytics/ingest", {
    method: "POST",
    headers: { "Content-Type": "text/plain", "user-agent": userAgent, ...headers },
    body: JSON.stringify({
      key: writeKey,
      batchId,
      sentAt: Date.now(),
      events: [
        {
          id: `${batchId}-e`,
          type: "pageview",
          occurredAt: Date.now(),
          url: "https://shop.example.org/",
        },
      ],
    }),
  });
  return res.status;
}

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((out, s) => ({ ...out, [s]: (out[s] ?? 0) + 1 }), {});

const botsToday = async (t: App, siteId: string) =>
  (await t.query(api.analytics.getBotCounts, { siteId, days: 1 }))[0]!.bots;

const pageviews = async (t: App, siteId: string) => {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  return (await t.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: NOW + DAY }))
    .pageviews;
};

describe("the per-client limit keys on the connection's address", () => {
  test("20 batches in a minute from one address at clientBatchesPerMinute 5, each with a new x-forwarded-for, x-real-ip, cf-connecting-ip and user agent, get 5 through and 15 answered 429", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { clientBatchesPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push(
        await send(t, writeKey, `b${i}`, "198.51.100.7", rotatingChrome(i), {
          "x-forwarded-for": `203.0.113.${i}`,
          "x-real-ip": `203.0.113.${100 + i}`,
          "cf-connecting-ip": `192.0.2.${i}`,
        }),
      );
    expect(tally(statuses)).toEqual({ 202: 5, 429: 15 });
    expect(await pageviews(t, siteId)).toBe(5);
  });

  test("50 Googlebot requests in a minute from one address at clientBatchesPerMinute 5 are answered 202 five times and 429 45 times, and the bot counter says 5", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { clientBatchesPerMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++)
      statuses.push(
        await send(t, writeKey, `bot${i}`, "66.249.66.1", GOOGLEBOT, {
          "x-forwarded-for": `203.0.113.${i}`,
        }),
      );
    expect(tally(statuses)).toEqual({ 202: 5, 429: 45 });
    expect(await botsToday(t, siteId)).toBe(5);
    expect(await pageviews(t, siteId)).toBe(0);
  });

  test("at siteBatchesPerMinute 15 and clientBatchesPerMinute 5, a client flooding 100 batches with rotating headers and user agents spends 5 of the site's 15, so 10 real visitors are all accepted and only the next is refused", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, {
      siteBatchesPerMinute: 15,
      clientBatchesPerMinute: 5,
    });
    const flood: number[] = [];
    for (let i = 0; i < 100; i++)
      flood.push(
        await send(t, writeKey, `flood${i}`, "198.51.100.66", rotatingChrome(i), {
          "x-forwarded-for": `203.0.113.${i}`,
        }),
      );
    expect(tally(flood)).toEqual({ 202: 5, 429: 95 });
    const visitors: number[] = [];
    for (let i = 0; i < 10; i++)
      visitors.push(await send(t, writeKey, `visitor${i}`, `192.0.2.${i + 1}`, CHROME));
    expect(visitors).toEqual(Array(10).fill(202));
    // The site's budget is real: the 16th batch of the minute, from anyone, is refused.
    expect(await send(t, writeKey, "visitor10", "192.0.2.200", CHROME)).toBe(429);
    expect(await pageviews(t, siteId)).toBe(15);
  });

  test("bots do not spend the site's budget: at siteBatchesPerMinute 10, after 30 bot requests from 30 addresses, 10 real visitors are all accepted", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { siteBatchesPerMinute: 10 });
    for (let i = 0; i < 30; i++)
      expect(await send(t, writeKey, `bot${i}`, `66.249.66.${i + 1}`, GOOGLEBOT)).toBe(202);
    const visitors: number[] = [];
    for (let i = 0; i < 10; i++)
      visitors.push(await send(t, writeKey, `visitor${i}`, `192.0.2.${i + 1}`, CHROME));
    expect(visitors).toEqual(Array(10).fill(202));
    expect(await botsToday(t, siteId)).toBe(30);
    expect(await pageviews(t, siteId)).toBe(10);
  });
});

describe("a trusted proxy", () => {
  const CLOUDFLARE: SiteSettings["trustedProxy"] = {
    header: "cf-connecting-ip",
    proxies: ["173.245.48.0/20", "2400:cb00::/32"],
  };

  test("behind a named proxy, clients are told apart by its header: three clients through 173.245.48.9 at clientBatchesPerMinute 2 get 2 batches each, and are 3 visitors", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, {
      clientBatchesPerMinute: 2,
      trustedProxy: CLOUDFLARE,
    });
    const statuses: Record<string, number[]> = {};
    for (const client of ["192.0.2.1", "192.0.2.2", "2001:db8::5"])
      for (let i = 0; i < 3; i++)
        (statuses[client] ??= []).push(
          await send(t, writeKey, `${client}-${i}`, "173.245.48.9", CHROME, {
            "cf-connecting-ip": client,
          }),
        );
    expect(statuses).toEqual({
      "192.0.2.1": [202, 202, 429],
      "192.0.2.2": [202, 202, 429],
      "2001:db8::5": [202, 202, 429],
    });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const overview = await t.query(api.analytics.getOverview, {
      siteId,
      from: NOW - DAY,
      to: NOW + DAY,
    });
    expect([overview.pageviews, overview.visitors]).toEqual([6, 3]);
  });

  test("a request that does not come from the named proxy is keyed on its own address, whatever header it sends: 10 with rotating cf-connecting-ip get 2 through", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, {
      clientBatchesPerMinute: 2,
      trustedProxy: CLOUDFLARE,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        await send(t, writeKey, `b${i}`, "198.51.100.7", CHROME, {
          "cf-connecting-ip": `192.0.2.${i}`,
        }),
      );
    expect(tally(statuses)).toEqual({ 202: 2, 429: 8 });
  });

  test("with x-forwarded-for, the client is the hop the proxy appended: rotating the hops the client wrote itself does not evade the limit", async () => {
    const t = initApp();
    const { writeKey } = await createSite(t, {
      clientBatchesPerMinute: 2,
      trustedProxy: { header: "x-forwarded-for", proxies: ["10.0.0.0/8"] },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        await send(t, writeKey, `b${i}`, "10.1.2.3", CHROME, {
          // The client wrote the first hop; the outer proxy appended 192.0.2.9; an inner one 10.0.0.5.
          "x-forwarded-for": `203.0.113.${i}, 192.0.2.9, 10.0.0.5`,
        }),
      );
    expect(tally(statuses)).toEqual({ 202: 2, 429: 8 });
  });

  test("neither the proxy's address nor the forwarded client address is stored in any table of any component", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t, { trustedProxy: CLOUDFLARE });
    expect(
      await send(t, writeKey, "b0", "173.245.48.9", CHROME, { "cf-connecting-ip": "192.0.2.77" }),
    ).toBe(202);
    expect(await pageviews(t, siteId)).toBe(1);
    const stored = [...(await everyDocument(t)).values()].flat().join("\n");
    expect(stored).not.toContain("192.0.2.77");
    expect(stored).not.toContain("173.245.48.9");
    // The site's settings keep the proxy's range, which is configuration, not a visitor's address.
    expect(stored).toContain("173.245.48.0/20");
  });

  test.each([
    [{ header: "cf-connecting-ip", proxies: [] }, "must list 1-200 addresses"],
    [
      { header: "cf-connecting-ip", proxies: ["173.245.48.0/33"] },
      'Invalid trustedProxy entry "173.245.48.0/33"',
    ],
    [
      { header: "cf-connecting-ip", proxies: ["cloudflare"] },
      'Invalid trustedProxy entry "cloudflare"',
    ],
    [{ header: "x-real-ip", proxies: ["0.0.0.0/0"] }, "covers too many addresses"],
    [{ header: "x-real-ip", proxies: ["::/0"] }, "covers too many addresses"],
  ] as const)(
    "the trustedProxy setting %j is refused with a clear error (%s), on create and on update",
    async (trustedProxy, message) => {
      const t = initApp();
      await expect(
        createSite(t, { trustedProxy: { ...trustedProxy, proxies: [...trustedProxy.proxies] } }),
      ).rejects.toThrow(message);
      const { siteId } = await createSite(t, {});
      await expect(
        t.mutation(api.analytics.updateSite, {
          siteId,
          settings: { trustedProxy: { ...trustedProxy, proxies: [...trustedProxy.proxies] } },
        }),
      ).rejects.toThrow(message);
      const site = await inComponent(t, "analytics", async (ctx) => ctx.db.query("sites").first());
      expect(site?.settings).toEqual({});
    },
  );
});

describe("clientAddress", () => {
  const proxy = { header: "x-forwarded-for", proxies: ["10.0.0.0/8", "2001:db8::/32"] } as const;
  test.each([
    ["no proxy configured: the peer", "198.51.100.1", "192.0.2.1", undefined, "198.51.100.1"],
    [
      "a peer outside the proxy's ranges: the peer",
      "198.51.100.1",
      "192.0.2.1",
      proxy,
      "198.51.100.1",
    ],
    [
      "through the proxy: the nearest hop that is not the proxy",
      "10.0.0.1",
      "1.1.1.1, 192.0.2.1, 10.9.9.9",
      proxy,
      "192.0.2.1",
    ],
    [
      "an IPv4-mapped IPv6 peer is its IPv4 address",
      "::ffff:10.0.0.1",
      "192.0.2.1",
      proxy,
      "192.0.2.1",
    ],
    ["an IPv6 proxy and an IPv6 client", "2001:db8::1", "2001:db9::7", proxy, "2001:db9::7"],
    ["a malformed hop ends the chain: the peer", "10.0.0.1", "192.0.2.1, junk", proxy, "10.0.0.1"],
    ["only proxy hops: the peer", "10.0.0.1", "10.0.0.2, 10.0.0.3", proxy, "10.0.0.1"],
  ] as const)("%s", (_, peer, header, trusted, expected) => {
    expect(
      clientAddress(
        peer,
        [{ header: "x-forwarded-for", value: header }],
        trusted && { ...trusted, proxies: [...trusted.proxies] },
      ),
    ).toBe(expected);
  });

  test("a header other than the one the site named is ignored", () => {
    expect(
      clientAddress("10.0.0.1", [{ header: "x-real-ip", value: "192.0.2.1" }], {
        header: "x-forwarded-for",
        proxies: ["10.0.0.0/8"],
      }),
    ).toBe("10.0.0.1");
  });
});
