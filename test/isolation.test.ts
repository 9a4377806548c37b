// invariants I7 and I8: bounded bytes and isolation, with Convex's per-document
// limits (1 MiB, 8,192 array elements) re-applied on every write. Anyone holding
// a site's public write key can send valid 64 KiB batches built to produce as
// many rollup rows as possible; whatever they send, every other visitor of that
// site and of every other site is counted, compaction finishes, and what cannot
// be stored is dead-lettered with its reason.
import { describe, expect, test, vi } from "vitest";
import { batches, inComponent, initApp, useFixedClock, type App } from "./app.setup.js";
import { api, internal } from "../example/convex/_generated/api.js";
import {
  enforceConvexDocumentLimits,
  documentWriteStats,
} from "../src/component/convexLimits.testlib.js";
import { MAX_BODY_BYTES } from "../src/component/events.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

useFixedClock(NOW);
enforceConvexDocumentLimits();

function post(t: App, ip: string, body: unknown) {
  return t.withRequestMetadata({ ip, userAgent: CHROME }).fetch("/analytics/ingest", {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify(body),
  });
}

/** 100 track events with long names, unique paths and 30 props each, as close to 64 KiB as the route allows. */
function hostileBatch(key: string, n: number) {
  const name = `${"x".repeat(90)}${n}`;
  const events = Array.from({ length: 100 }, (_, i) => ({
    id: `h${n}-${i}`,
    type: "track",
    name,
    occurredAt: Date.now() - 1_000,
    url: `https://evil.example/p/${n}/${i}`,
    visitorId: `h${n}-${i}`,
    props: Object.fromEntries(
      Array.from({ length: 30 }, (_, k) => [`k${k}`, (n * 3000 + i * 30 + k).toString(36)]),
    ),
  }));
  const body = { key, batchId: `hostile-${n}`, sentAt: Date.now(), events };
  expect(new TextEncoder().encode(JSON.stringify(body)).byteLength).toBeLessThanOrEqual(
    MAX_BODY_BYTES,
  );
  return body;
}

const pageview = (key: string, batchId: string, visitorId: string) => ({
  key,
  batchId,
  sentAt: Date.now(),
  events: [
    {
      id: `${batchId}-e`,
      type: "pageview",
      occurredAt: Date.now() - 1_000,
      url: "https://shop.example/",
      visitorId,
    },
  ],
});

async function createSite(t: App, slug: string) {
  return await t.mutation(api.analytics.createSite, { slug, name: slug });
}

const drain = (t: App) => t.finishAllScheduledFunctions(vi.runAllTimers);

async function compactEverything(t: App) {
  vi.advanceTimersByTime(2 * HOUR);
  await t.mutation(internal.analytics.kick, {});
  await drain(t);
}

const range = (siteId: string) => ({ siteId, from: NOW - DAY, to: NOW + DAY });

describe("isolation", () => {
  test("hostile 64 KiB batches on one site are dead-lettered with their reason, and every neighbour on that site and on two others is counted, before and after compaction", async () => {
    const t = initApp();
    const victim = await createSite(t, "victim");
    const other = await createSite(t, "other");
    const third = await createSite(t, "third");
    let neighbours = 0;
    for (let n = 0; n < 9; n++) {
      // Three hostile batches per worker run, with neighbours in between, from many addresses.
      expect((await post(t, `198.51.100.${n}`, hostileBatch(victim.writeKey, n))).status).toBe(202);
      for (const site of [victim, other, third]) {
        expect(
          (await post(t, `203.0.113.${n}`, pageview(site.writeKey, `${site.siteId}-${n}`, `v${n}`)))
            .status,
        ).toBe(202);
      }
      neighbours++;
      if (n % 3 === 2) await drain(t);
    }
    await drain(t);

    const check = async () => {
      expect((await t.query(api.analytics.getOverview, range(other.siteId))).pageviews).toBe(
        neighbours,
      );
      expect((await t.query(api.analytics.getOverview, range(third.siteId))).pageviews).toBe(
        neighbours,
      );
      expect((await t.query(api.analytics.getOverview, range(victim.siteId))).pageviews).toBe(
        neighbours,
      );
    };
    await check();
    const dead = await t.query(api.analytics.listDeadLetters, {
      siteId: victim.siteId,
      limit: 100,
    });
    expect(dead.map((d) => d.batchId).sort()).toEqual(
      Array.from({ length: 9 }, (_, n) => `hostile-${n}`).sort(),
    );
    for (const d of dead)
      expect(d.error).toMatch(/rollup deltas are \d+ bytes, over the \d+-byte budget of one batch/);
    expect((await batches(t)).queued.length).toBe(0);

    await compactEverything(t);
    await check();
    const left = await inComponent(t, "analytics", async (ctx) => ({
      deltas: (await ctx.db.query("rollupDeltas").collect()).filter((d) => d.interval === "hour")
        .length,
      staging: (await ctx.db.query("rollupStaging").collect()).length,
    }));
    expect(left).toEqual({ deltas: 0, staging: 0 });
  });

  test("a site flooded with distinct paths and props stays within every document budget, compacts completely, and its neighbour is counted exactly", async () => {
    const t = initApp();
    const flooded = await createSite(t, "flooded");
    const neighbour = await createSite(t, "neighbour");
    let pages = 0;
    for (let n = 0; n < 16; n++) {
      // Heavy but under the per-batch budget: 100 pageviews of distinct 200-character paths, 3 props each.
      const events = Array.from({ length: 100 }, (_, i) => ({
        id: `f${n}-${i}`,
        type: "pageview",
        occurredAt: Date.now() - 1_000,
        url: `https://flood.example/${"p".repeat(180)}/${n}/${i}`,
        visitorId: `f${n}-${i}`,
        props: { a: `${n}`, b: `${i}`, c: `${n}-${i}` },
      }));
      expect(
        (
          await post(t, `198.51.100.${n}`, {
            key: flooded.writeKey,
            batchId: `f${n}`,
            sentAt: Date.now(),
            events,
          })
        ).status,
      ).toBe(202);
      expect(
        (await post(t, `203.0.113.${n}`, pageview(neighbour.writeKey, `n${n}`, `n${n}`))).status,
      ).toBe(202);
      pages += 100;
      if (n % 5 === 4) await drain(t);
    }
    await drain(t);
    expect(await t.query(api.analytics.listDeadLetters, { siteId: flooded.siteId })).toEqual([]);
    expect((await t.query(api.analytics.getOverview, range(flooded.siteId))).pageviews).toBe(pages);
    expect((await t.query(api.analytics.getOverview, range(neighbour.siteId))).pageviews).toBe(16);

    await compactEverything(t);
    expect((await t.query(api.analytics.getOverview, range(flooded.siteId))).pageviews).toBe(pages);
    expect((await t.query(api.analytics.getOverview, range(neighbour.siteId))).pageviews).toBe(16);
    // The page breakdown is capped (2,000 keys, and bytes), the tail in "(other)", and still adds up.
    const { rows } = await t.query(api.analytics.getBreakdown, {
      ...range(flooded.siteId),
      dimension: "page",
      limit: 1000,
    });
    expect(rows.length).toBeLessThanOrEqual(1000);
    // Our own budgets, half of Convex's limits, held on every write.
    for (const { table, largestBytes, longestArray } of documentWriteStats()) {
      expect([table, largestBytes <= 512 * 1024, longestArray <= 4_096]).toEqual([
        table,
        true,
        true,
      ]);
    }
  });
});
