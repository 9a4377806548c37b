// Sites and write keys (invariant I5): a key is shown once and kept only as its
// SHA-256 hash, no read returns the hash, keys are unique, rotation is immediate,
// and bad site settings are refused with a clear message.
import { describe, expect, test, vi } from "vitest";
import { batches, everyDocument, initApp, useFixedClock, type App } from "./app.setup.js";
import { api, internal } from "../example/convex/_generated/api.js";
import { sha256Hex } from "../src/shared.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");

useFixedClock(NOW);

async function ingest(t: App, key: string, batchId: string, n = 2) {
  const events = Array.from({ length: n }, (_, i) => ({
    id: `${batchId}-${i}`,
    type: "pageview",
    occurredAt: NOW - 1_000 * i,
    url: `https://ex.com/p${i}`,
  }));
  return await t.fetch("/analytics/ingest", {
    method: "POST",
    body: JSON.stringify({ key, batchId, events }),
  });
}

describe("write keys", () => {
  test("createSite returns a pk_ key once, stores only its SHA-256 hash, and no document anywhere holds a raw key", async () => {
    const t = initApp();
    const a = await t.mutation(api.analytics.createSite, {
      slug: "a",
      name: "A",
      allowedOrigins: ["https://a.example"],
    });
    const b = await t.mutation(api.analytics.createSite, { slug: "b", name: "B" });
    expect(a.writeKey).toMatch(/^pk_[A-Za-z0-9_-]{32}$/);
    expect(b.writeKey).toMatch(/^pk_[A-Za-z0-9_-]{32}$/);
    const { writeKey: rotated } = await t.mutation(api.analytics.rotateWriteKey, {
      siteId: b.siteId,
    });

    // Fill the tables: queued and processed batches, sessions, canonical rollups, the totals BTree.
    expect((await ingest(t, b.writeKey, "old-key")).status).toBe(401);
    expect((await ingest(t, rotated, "b1")).status).toBe(202);
    expect(
      (
        await t.fetch("/analytics/ingest", {
          method: "POST",
          headers: { Origin: "https://a.example" },
          body: JSON.stringify({
            key: a.writeKey,
            batchId: "a1",
            events: [
              {
                id: "x",
                type: "track",
                name: "buy",
                occurredAt: NOW,
                url: "https://a.example/",
                props: { sku: "1" },
              },
            ],
          }),
        })
      ).status,
    ).toBe(202);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    // Two hours on, the maintenance cron compacts the closed hour.
    vi.advanceTimersByTime(2 * 3_600_000);
    await t.mutation(internal.analytics.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await ingest(t, rotated, "b2")).status).toBe(202);

    const docs = await everyDocument(t);
    const count = (key: string) => docs.get(key)?.length ?? 0;
    expect(count("analytics:sites")).toBe(2);
    expect(count("analytics:batches")).toBe(3);
    expect((await batches(t)).queued.map((b) => b.batchId)).toEqual(["b2"]);
    expect(count("analytics:rollups")).toBeGreaterThan(0);
    expect(count("analytics/hourlyTotals:btreeNode")).toBeGreaterThan(0);

    const all = [...docs.values()].flat().join("\n");
    for (const key of [a.writeKey, b.writeKey, rotated]) {
      expect(all.includes(key)).toBe(false);
      expect(all.includes(key.slice(3))).toBe(false);
    }
    const hashes = docs
      .get("analytics:sites")!
      .map((d) => JSON.parse(d) as { slug: string; writeKeyHash: string })
      .map((s) => [s.slug, s.writeKeyHash]);
    expect(hashes.sort()).toEqual([
      ["a", await sha256Hex(a.writeKey)],
      ["b", await sha256Hex(rotated)],
    ]);
  });

  test("getSite, getSiteBySlug, listSites and updateSite never return the write key or its hash", async () => {
    const t = initApp();
    const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
      slug: "shop",
      name: "Shop",
      timezone: "Europe/Berlin",
    });
    const hash = await sha256Hex(writeKey);
    const fields = [
      "_creationTime",
      "_id",
      "allowedOrigins",
      "enabled",
      "name",
      "settings",
      "slug",
      "timezone",
    ];
    const reads = [
      await t.query(api.analytics.getSite, { siteId }),
      await t.query(api.analytics.getSiteBySlug, { slug: "shop" }),
      ...(await t.query(api.analytics.listSites, {})),
      await t.mutation(api.analytics.updateSite, { siteId, name: "Shop 2" }),
    ];
    expect(reads.length).toBe(4);
    for (const site of reads) {
      expect(Object.keys(site!).sort()).toEqual(fields);
      expect(JSON.stringify(site)).not.toContain(hash);
      expect(JSON.stringify(site)).not.toContain(writeKey);
    }
    expect(reads[0]).toEqual({
      _id: siteId,
      _creationTime: expect.any(Number),
      slug: "shop",
      name: "Shop",
      timezone: "Europe/Berlin",
      allowedOrigins: [],
      enabled: true,
      settings: {},
    });
  });

  test("twenty sites get twenty distinct keys, and each key resolves to its own site", async () => {
    const t = initApp();
    const sites = [];
    for (let i = 0; i < 20; i++)
      sites.push(
        await t.mutation(api.analytics.createSite, { slug: `site-${i}`, name: `Site ${i}` }),
      );
    expect(new Set(sites.map((s) => s.writeKey)).size).toBe(20);
    for (const [i, { siteId, writeKey }] of sites.entries()) {
      expect((await ingest(t, writeKey, `b${i}`, 1)).status).toBe(202);
      const pending = (await batches(t)).queued;
      expect(pending.filter((b) => b.batchId === `b${i}`).map((b) => b.siteId)).toEqual([siteId]);
    }
  });

  test("rotateWriteKey stops the old key at once (401) and the new key works; the old key's counts stay", async () => {
    const t = initApp();
    const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
      slug: "shop",
      name: "Shop",
    });
    expect((await ingest(t, writeKey, "before", 3)).status).toBe(202);
    const { writeKey: next } = await t.mutation(api.analytics.rotateWriteKey, { siteId });
    expect(next).toMatch(/^pk_/);
    expect(next).not.toBe(writeKey);
    const old = await ingest(t, writeKey, "after-old");
    expect(old.status).toBe(401);
    expect((await old.json()).error.code).toBe("unknown_key");
    expect((await ingest(t, next, "after-new", 2)).status).toBe(202);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const overview = await t.query(api.analytics.getOverview, {
      siteId,
      from: NOW - 3_600_000,
      to: NOW + 1,
    });
    expect(overview.pageviews).toBe(5);
    await expect(t.mutation(api.analytics.rotateWriteKey, { siteId: "nope" })).rejects.toThrow(
      'Unknown site "nope"',
    );
  });
});

describe("validation", () => {
  test.each([
    [
      "an uppercase slug",
      { slug: "Shop" },
      'Invalid slug "Shop": use 1-63 lowercase letters, digits and dashes',
    ],
    [
      "an empty slug",
      { slug: "" },
      'Invalid slug "": use 1-63 lowercase letters, digits and dashes',
    ],
    ["a slug starting with a dash", { slug: "-shop" }, 'Invalid slug "-shop"'],
    ["a 64-character slug", { slug: "s".repeat(64) }, "Invalid slug"],
    ["a slug with a space", { slug: "my shop" }, 'Invalid slug "my shop"'],
    ["a slug with a non-ASCII letter", { slug: "café" }, 'Invalid slug "café"'],
    ["an empty name", { name: "" }, "name must be 1-200 characters"],
    ["a 201-character name", { name: "n".repeat(201) }, "name must be 1-200 characters"],
    [
      "an unknown timezone",
      { timezone: "Mars/Olympus_Mons" },
      'Unknown IANA timezone "Mars/Olympus_Mons"',
    ],
    [
      "an origin without a scheme",
      { allowedOrigins: ["example.com"] },
      'Invalid origin "example.com": use scheme://host[:port], e.g. https://example.com',
    ],
    [
      "an origin with a path",
      { allowedOrigins: ["https://example.com/shop"] },
      'Invalid origin "https://example.com/shop"',
    ],
    [
      "an origin with a trailing slash",
      { allowedOrigins: ["https://example.com/"] },
      'Invalid origin "https://example.com/"',
    ],
    [
      "a non-http origin",
      { allowedOrigins: ["ftp://example.com"] },
      'Invalid origin "ftp://example.com"',
    ],
    ["a bare wildcard", { allowedOrigins: ["*.example.com"] }, 'Invalid origin "*.example.com"'],
    [
      "a 30-second session timeout",
      { settings: { sessionTimeoutMs: 30_000 } },
      "sessionTimeoutMs must be between 1 minute and 24 hours",
    ],
    [
      "a 25-hour session timeout",
      { settings: { sessionTimeoutMs: 25 * 3_600_000 } },
      "sessionTimeoutMs must be between 1 minute and 24 hours",
    ],
    [
      "a cardinality cap of 5",
      { settings: { cardinalityCap: 5 } },
      "cardinalityCap must be an integer between 10 and 10,000",
    ],
    [
      "a fractional cardinality cap",
      { settings: { cardinalityCap: 100.5 } },
      "cardinalityCap must be an integer between 10 and 10,000",
    ],
    [
      "seven days of raw retention (shorter than the dedup window)",
      { settings: { rawRetentionDays: 7 } },
      "rawRetentionDays must be between 8 and 3,650",
    ],
    [
      "NaN days of raw retention",
      { settings: { rawRetentionDays: Number.NaN } },
      "rawRetentionDays must be between 8 and 3,650",
    ],
  ])(
    "createSite with %s is refused with a clear message and creates nothing",
    async (_, fields, message) => {
      const t = initApp();
      await expect(
        t.mutation(api.analytics.createSite, { slug: "shop", name: "Shop", ...fields }),
      ).rejects.toThrow(message);
      expect(await t.query(api.analytics.listSites, {})).toEqual([]);
    },
  );

  test("valid edge values are accepted: a wildcard origin with a port, a 63-character slug, DST timezones, boundary settings", async () => {
    const t = initApp();
    const { siteId } = await t.mutation(api.analytics.createSite, {
      slug: `a${"-".repeat(61)}z`,
      name: "n".repeat(200),
      timezone: "America/New_York",
      allowedOrigins: [
        "http://localhost:5173",
        "https://*.example.com",
        "https://shop.example.org:8443",
      ],
      settings: { sessionTimeoutMs: 60_000, cardinalityCap: 10_000, rawRetentionDays: 3_650 },
    });
    expect((await t.query(api.analytics.getSite, { siteId }))?.settings).toEqual({
      sessionTimeoutMs: 60_000,
      cardinalityCap: 10_000,
      rawRetentionDays: 3_650,
    });
  });

  test("a second site with a taken slug is refused", async () => {
    const t = initApp();
    await t.mutation(api.analytics.createSite, { slug: "shop", name: "Shop" });
    await expect(
      t.mutation(api.analytics.createSite, { slug: "shop", name: "Other" }),
    ).rejects.toThrow('A site with slug "shop" already exists');
    expect((await t.query(api.analytics.listSites, {})).length).toBe(1);
  });

  test("updateSite validates like createSite, leaves the site unchanged when refused, and merges settings", async () => {
    const t = initApp();
    const { siteId } = await t.mutation(api.analytics.createSite, {
      slug: "shop",
      name: "Shop",
      settings: { rawRetentionDays: 30 },
    });
    await expect(
      t.mutation(api.analytics.updateSite, { siteId, allowedOrigins: ["example.com"] }),
    ).rejects.toThrow('Invalid origin "example.com"');
    await expect(t.mutation(api.analytics.updateSite, { siteId, name: "" })).rejects.toThrow(
      "name must be 1-200 characters",
    );
    await expect(
      t.mutation(api.analytics.updateSite, { siteId, settings: { cardinalityCap: 1 } }),
    ).rejects.toThrow("cardinalityCap must be an integer");
    await expect(
      t.mutation(api.analytics.updateSite, { siteId: "nope", name: "X" }),
    ).rejects.toThrow('Unknown site "nope"');
    const site = await t.query(api.analytics.getSite, { siteId });
    expect([site?.name, site?.allowedOrigins, site?.settings]).toEqual([
      "Shop",
      [],
      { rawRetentionDays: 30 },
    ]);

    const updated = await t.mutation(api.analytics.updateSite, {
      siteId,
      settings: { sessionTimeoutMs: 600_000 },
      allowedOrigins: ["https://shop.example"],
    });
    expect(updated.settings).toEqual({ rawRetentionDays: 30, sessionTimeoutMs: 600_000 });
    expect(await t.query(api.analytics.getSite, { siteId })).toEqual(updated);
  });
});
