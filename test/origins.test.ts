// allowedOrigins (issue 12): entries are normalised when written, as browsers
// serialise an Origin header, so a mixed-case or Unicode entry matches real
// browsers; wildcards over public suffixes and malformed hosts or ports are
// refused with a clear error; an empty list accepts any origin.
import { describe, expect, test } from "vitest";
import { initApp, useFixedClock, type App } from "./app.setup.js";
import { api } from "../example/convex/_generated/api.js";
import { normalizeOrigin, originAllowed } from "../src/component/origins.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

useFixedClock(NOW);

/** A browser's batch from `origin` (null: no Origin header). */
async function post(t: App, writeKey: string, origin: string | null, url: string) {
  const res = await t
    .withRequestMetadata({ ip: "198.51.100.1", userAgent: CHROME })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: { "Content-Type": "text/plain", ...(origin ? { Origin: origin } : {}) },
      body: JSON.stringify({
        key: writeKey,
        batchId: crypto.randomUUID(),
        sentAt: Date.now(),
        events: [{ id: "e1", type: "pageview", occurredAt: Date.now(), url }],
      }),
    });
  return { status: res.status, body: await res.json() };
}

describe("normalizeOrigin", () => {
  test.each([
    ["https://Shop.Example.org", "https://shop.example.org"],
    ["HTTPS://SHOP.EXAMPLE.ORG", "https://shop.example.org"],
    ["https://shop.example.org:443", "https://shop.example.org"],
    ["http://localhost:80", "http://localhost"],
    ["http://localhost:5173", "http://localhost:5173"],
    ["https://shop.example.org:08443", "https://shop.example.org:8443"],
    ["https://bücher.example", "https://xn--bcher-kva.example"],
    ["https://*.Bücher.Example", "https://*.xn--bcher-kva.example"],
    ["https://*.Example.com:8443", "https://*.example.com:8443"],
    ["https://*.example.co.uk", "https://*.example.co.uk"],
    ["http://192.168.1.10:3000", "http://192.168.1.10:3000"],
    ["http://[::1]:3000", "http://[::1]:3000"],
  ])("%s is stored as %s", (entry, normalised) => {
    expect(normalizeOrigin(entry)).toBe(normalised);
  });

  test.each([
    ["https://*.com", "public suffix"],
    ["https://*.co.uk", "public suffix"],
    ["https://*.github.io", "public suffix"],
    ["https://*.vercel.app", "public suffix"],
    ["https://*.COM", "public suffix"],
    ["https://*.192.168.1.1", "not an IP address"],
    ["https://*", "use scheme://host[:port]"],
    ["*.example.com", "use scheme://host[:port]"],
    ["https://*.*.example.com", "use scheme://host[:port]"],
    ["https://shop.*.example.com", "use scheme://host[:port]"],
    ["example.com", "use scheme://host[:port]"],
    ["ftp://example.com", "use scheme://host[:port]"],
    ["https://example.com/", "use scheme://host[:port]"],
    ["https://example.com/shop", "use scheme://host[:port]"],
    ["https://example.com?x=1", "use scheme://host[:port]"],
    ["https://user@example.com", "use scheme://host[:port]"],
    ["https://exa mple.com", "use scheme://host[:port]"],
    ["https://example.com:", "the port is empty"],
    ["https://example.com:99999", "the host or port is malformed"],
    ["https://example.com:https", "the host or port is malformed"],
    ["https://example.com:-1", "the host or port is malformed"],
    ["https://example.com:0", "port 0"],
    ["https://exa%mple.com", "the host or port is malformed"],
    ["https://a..example.com", "empty or over-long label"],
    ["https://.example.com", "empty or over-long label"],
    ["https://example.com.", "empty or over-long label"],
    [`https://${"a".repeat(64)}.example.com`, "empty or over-long label"],
    [`https://${"a".repeat(300)}.com`, "at most 300 characters"],
  ])("%s is refused: %s", (entry, why) => {
    expect(() => normalizeOrigin(entry)).toThrow(`Invalid origin "${entry.slice(0, 100)}": `);
    expect(() => normalizeOrigin(entry)).toThrow(why);
  });

  test("a wildcard entry matches its domain and subdomains on the same scheme and port only", () => {
    const allowed = [normalizeOrigin("https://*.Example.com")];
    expect(originAllowed("https://example.com", allowed)).toBe(true);
    expect(originAllowed("https://a.b.example.com", allowed)).toBe(true);
    expect(originAllowed("https://badexample.com", allowed)).toBe(false);
    expect(originAllowed("http://a.example.com", allowed)).toBe(false);
    expect(originAllowed("https://a.example.com:8443", allowed)).toBe(false);
    expect(originAllowed("https://example.com.evil.org", allowed)).toBe(false);
    expect(originAllowed("null", allowed)).toBe(false);
  });
});

describe("allowedOrigins at ingest", () => {
  test("a site created with https://Shop.Example.org stores https://shop.example.org and accepts a real browser's batch from it (it used to refuse every one with 403)", async () => {
    const t = initApp();
    const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
      slug: "shop",
      name: "Shop",
      allowedOrigins: ["https://Shop.Example.org", "https://shop.example.org:443"],
    });
    expect((await t.query(api.analytics.getSite, { siteId }))?.allowedOrigins).toEqual([
      "https://shop.example.org",
    ]);
    const accepted = await post(
      t,
      writeKey,
      "https://shop.example.org",
      "https://shop.example.org/",
    );
    expect(accepted).toEqual({
      status: 202,
      body: { accepted: 1, duplicate: false, rejected: [] },
    });
    const other = await post(t, writeKey, "https://evil.example.net", "https://shop.example.org/");
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe("origin_not_allowed");
    // A missing Origin is refused too when the list is set.
    expect((await post(t, writeKey, null, "https://shop.example.org/")).status).toBe(403);
  });

  test("an internationalised domain is stored in punycode and matches the browser's Origin header, which is punycode too", async () => {
    const t = initApp();
    const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
      slug: "books",
      name: "Bücher",
    });
    const site = await t.mutation(api.analytics.updateSite, {
      siteId,
      allowedOrigins: ["https://*.Bücher.example"],
    });
    expect(site.allowedOrigins).toEqual(["https://*.xn--bcher-kva.example"]);
    expect(
      (await post(t, writeKey, "https://www.xn--bcher-kva.example", "https://www.bücher.example/"))
        .status,
    ).toBe(202);
  });

  test("updateSite with https://*.com is refused with a clear error and leaves the site's origins as they were", async () => {
    const t = initApp();
    const { siteId } = await t.mutation(api.analytics.createSite, {
      slug: "shop",
      name: "Shop",
      allowedOrigins: ["https://shop.example.org"],
    });
    await expect(
      t.mutation(api.analytics.updateSite, {
        siteId,
        allowedOrigins: ["https://shop.example.org", "https://*.com"],
      }),
    ).rejects.toThrow(
      'Invalid origin "https://*.com": "com" is a public suffix: a wildcard over it would accept sites anyone can register',
    );
    expect((await t.query(api.analytics.getSite, { siteId }))?.allowedOrigins).toEqual([
      "https://shop.example.org",
    ]);
  });

  test("an empty allowedOrigins accepts any origin, and no Origin at all", async () => {
    const t = initApp();
    const { writeKey } = await t.mutation(api.analytics.createSite, { slug: "shop", name: "Shop" });
    expect((await post(t, writeKey, "https://anything.example", "https://x.example/")).status).toBe(
      202,
    );
    expect((await post(t, writeKey, null, "https://x.example/")).status).toBe(202);
  });

  test("more than 100 origins are refused", async () => {
    const t = initApp();
    await expect(
      t.mutation(api.analytics.createSite, {
        slug: "shop",
        name: "Shop",
        allowedOrigins: Array.from({ length: 101 }, (_, i) => `https://s${i}.example.org`),
      }),
    ).rejects.toThrow("allowedOrigins holds at most 100 origins");
  });
});
