import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { compactAll, initConvexTest, runWorkers } from "./test.setup.js";
import { decodeRows } from "./rowCodec.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("smoke", () => {
  test("an ingested batch shows up in every report, before and after compaction", async () => {
    vi.setSystemTime(new Date("2026-03-10T12:00:00Z"));
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, {
      slug: "s",
      name: "S",
      timezone: "Europe/Berlin",
    });
    const now = Date.now();
    const ev = (i: number, type = "pageview") => ({
      id: `e${i}`,
      type,
      name: type === "track" ? "click" : undefined,
      occurredAt: now - 1000 * (10 - i),
      url: `https://ex.com/p${i % 2}`,
      visitorId: "v1",
      referrer: "https://www.google.com/",
    });
    const r = await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "b1",
      events: [ev(1), ev(2), ev(3, "track"), { bad: true }],
    });
    expect(r).toEqual({
      accepted: 3,
      duplicate: false,
      rejected: [{ index: 3, reason: "id is required" }],
    });
    const dup = await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "b1",
      events: [ev(1)],
    });
    expect(dup.duplicate).toBe(true);
    await runWorkers(t);
    const range = { siteId, from: now - 3600_000 * 3, to: now + 3600_000 };
    const check = async () => {
      expect(await t.query(api.reports.getOverview, range)).toEqual({
        visitors: 1,
        pageviews: 2,
        sessions: 1,
        bounceRate: 0,
        avgSessionDurationMs: 2000,
        viewsPerSession: 2,
        events: 3,
      });
      const b = await t.query(api.reports.getBreakdown, { ...range, dimension: "page" });
      // The track event on /p1 counts for the event, not for the page.
      expect(b.rows.map((r) => [r.key, r.pageviews, r.events])).toEqual([
        ["/p1", 1, 1],
        ["/p0", 1, 1],
      ]);
      const ref = await t.query(api.reports.getBreakdown, { ...range, dimension: "referrer" });
      expect(ref.rows.map((r) => [r.key, r.visitors, r.entries])).toEqual([["google.com", 1, 1]]);
      const ts = await t.query(api.reports.getTimeseries, range);
      expect(ts.points.reduce((s, p) => s + p.pageviews, 0)).toBe(2);
    };
    await check();
    vi.advanceTimersByTime(2 * 3600_000);
    await compactAll(t);
    expect(
      await t.run(
        async (ctx) =>
          (await ctx.db.query("rollupDeltas").collect()).filter((d) => d.interval === "hour")
            .length,
      ),
    ).toBe(0);
    expect(await t.run(async (ctx) => (await ctx.db.query("rollupStaging").collect()).length)).toBe(
      0,
    );
    await check();
  });
});

describe("timezones whose offset is not a whole hour", () => {
  test("daily points in Asia/Kolkata count every event exactly once", async () => {
    vi.setSystemTime(new Date("2026-03-10T00:00:00Z"));
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, {
      slug: "in",
      name: "IN",
      timezone: "Asia/Kolkata",
    });
    const start = Date.now();
    // One pageview every 50 minutes for three days, straddling local midnights (18:30Z).
    for (let i = 0; i < 86; i++) {
      const at = start + i * 50 * 60_000;
      vi.setSystemTime(at + 1000);
      await t.mutation(api.ingest.ingestBatch, {
        siteId,
        batchId: `b${i}`,
        events: [
          {
            id: `e${i}`,
            type: "pageview",
            occurredAt: at,
            url: "https://ex.in/",
            visitorId: `v${i}`,
          },
        ],
      });
    }
    await runWorkers(t);
    const range = { siteId, from: start, to: start + 3 * 24 * 3_600_000 };
    const series = await t.query(api.reports.getTimeseries, { ...range, granularity: "day" });
    expect(series.points.reduce((sum, p) => sum + p.pageviews, 0)).toBe(86);
    expect((await t.query(api.reports.getOverview, range)).pageviews).toBe(86);
  });
});

describe("minute rollups", () => {
  test("events older than the realtime window write no minute rows, fresh ones do and show in getRealtime", async () => {
    vi.setSystemTime(new Date("2026-03-10T12:00:00Z"));
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "rt", name: "RT" });
    const now = Date.now();
    const pageview = (id: string, at: number) => ({
      id,
      type: "pageview",
      occurredAt: at,
      url: "https://ex.com/",
      visitorId: id,
    });
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "old",
      events: [pageview("old", now - 3 * 3_600_000)],
    });
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "new",
      events: [pageview("new", now - 60_000)],
    });
    await runWorkers(t);
    const minuteRows = await t.run(async (ctx) =>
      (await ctx.db.query("rollupDeltas").collect())
        .filter((d) => d.interval === "minute")
        .flatMap((d) => decodeRows(d.rows).map((r) => r.key)),
    );
    // The minute's total, its page and its referrer (none): nothing of the old event.
    expect(minuteRows.sort()).toEqual([
      String(now - 60_000),
      `${now - 60_000}|(none)`,
      `${now - 60_000}|/`,
    ]);
    const live = await t.query(api.reports.getRealtime, { siteId, now });
    expect(live).toMatchObject({
      visitors: 1,
      pageviews: 1,
      events: 1,
      topPages: [{ key: "/", visitors: 1, pageviews: 1 }],
      topSources: [{ key: "(none)", visitors: 1, pageviews: 1 }],
    });
    expect(live.minutes.at(-1)).toEqual({ minuteStart: now - 60_000, pageviews: 1, visitors: 1 });
    // Nothing is written, yet the answer moves with `now`: a quiet site does not freeze.
    expect(
      await t.query(api.reports.getRealtime, { siteId, now: now + 31 * 60_000 }),
    ).toMatchObject({ visitors: 0, pageviews: 0, events: 0, topPages: [], topSources: [] });
    const day = { siteId, from: now - 24 * 3_600_000, to: now };
    expect((await t.query(api.reports.getOverview, day)).pageviews).toBe(2);
  });
});

describe("sessions", () => {
  test("a session continued by a later worker run keeps its attribution, and its document stores only the values that are not (none)", async () => {
    vi.setSystemTime(new Date("2026-03-10T12:00:00Z"));
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "ss", name: "SS" });
    const pageview = (id: string, path: string, referrer?: string) => ({
      id,
      type: "pageview",
      occurredAt: Date.now() - 1_000,
      url: `https://ex.com${path}`,
      visitorId: "v1",
      ...(referrer ? { referrer } : {}),
    });
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "landing",
      events: [pageview("e1", "/", "https://www.google.com/")],
    });
    await runWorkers(t);
    const [stored] = await t.run(async (ctx) => await ctx.db.query("sessions").collect());
    expect(stored!.attribution).toEqual({ referrer: "google.com", channel: "Organic Search" });

    vi.advanceTimersByTime(60_000);
    await t.mutation(api.ingest.ingestBatch, {
      siteId,
      batchId: "next",
      events: [pageview("e2", "/pricing", "https://ex.com/")],
    });
    await runWorkers(t);
    const range = { siteId, from: Date.now() - 3_600_000, to: Date.now() + 3_600_000 };
    const overview = await t.query(api.reports.getOverview, range);
    expect([overview.sessions, overview.pageviews, overview.bounceRate]).toEqual([1, 2, 0]);
    for (const [dimension, key] of [
      ["referrer", "google.com"],
      ["utmSource", "(none)"],
      ["exitPage", "/pricing"],
    ] as const) {
      const { rows } = await t.query(api.reports.getBreakdown, { ...range, dimension, limit: 10 });
      expect(
        rows.map((r) => r.key),
        dimension,
      ).toEqual([key]);
    }
  });
});
