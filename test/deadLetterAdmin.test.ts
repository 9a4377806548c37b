// Dead letters and bot counts under admins and retention (issue 12): an admin
// retries a dead letter (its events are counted once) or discards it, through
// exposeAdminApi; retention prunes bot counts and dead letters after 30 days by
// default, or each site's own setting, and keeps everything newer.
import { describe, expect, test, vi } from "vitest";
import type { GenericMutationCtx } from "convex/server";
import { api, internal } from "../example/convex/_generated/api.js";
import type { DataModel, Id } from "../src/component/_generated/dataModel.js";
import type { AnalyticsEvent, SiteSettings } from "../src/shared.js";
import { inComponent, initApp, useFixedClock, type App } from "./app.setup.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

type ComponentCtx = GenericMutationCtx<DataModel>;
const NOW = Date.parse("2026-03-10T12:30:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

useFixedClock(NOW);
enforceConvexDocumentLimits();

const inAnalytics = <T>(t: App, fn: (ctx: ComponentCtx) => Promise<T>) =>
  inComponent<T, ComponentCtx>(t, "analytics", fn);

async function createSite(t: App, slug = "shop", settings: SiteSettings = {}) {
  vi.setSystemTime(NOW - 100 * DAY);
  const site = await t.mutation(api.analytics.createSite, { slug, name: slug, settings });
  vi.setSystemTime(NOW);
  return { ...site, siteId: site.siteId as Id<"sites"> };
}

const pageview = (id: string, path: string): AnalyticsEvent => ({
  id,
  type: "pageview",
  occurredAt: NOW - 10 * 60_000,
  url: `https://shop.example.org${path}`,
  visitorId: "v1",
});

/** A dead letter created at `time`, as the worker leaves one. */
async function deadLetterAt(t: App, siteId: Id<"sites">, batchId: string, time = NOW) {
  vi.setSystemTime(time);
  const id = await inAnalytics(t, (ctx) =>
    ctx.db.insert("deadLetters", {
      siteId,
      batchId,
      events: [pageview(`${batchId}-1`, "/a"), pageview(`${batchId}-2`, "/b")],
      attempts: 3,
      error: "a bug since fixed",
    }),
  );
  vi.setSystemTime(NOW);
  return id as string;
}

const pageviews = async (t: App, siteId: string) => {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  return (await t.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: NOW + HOUR }))
    .pageviews;
};

const resend = async (t: App, writeKey: string, batchId: string) =>
  (
    await t
      .withRequestMetadata({ ip: "198.51.100.1", userAgent: "Mozilla/5.0 Firefox/126.0" })
      .fetch("/analytics/ingest", {
        method: "POST",
        body: JSON.stringify({
          key: writeKey,
          batchId,
          sentAt: NOW,
          events: [{ ...pageview(`${batchId}-1`, "/a"), visitorId: "v1" }],
        }),
      })
  ).json();

describe("retry and discard", () => {
  test("retryDeadLetter queues its 2 events again under the same batch id: they are counted once, a resend is a duplicate, and a second retry returns null", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const id = await deadLetterAt(t, siteId, "poison");
    expect(await t.mutation(api.analytics.retryDeadLetter, { siteId, deadLetterId: id })).toEqual({
      batchId: "poison",
      events: 2,
    });
    expect(await t.query(api.analytics.listDeadLetters, { siteId })).toEqual([]);
    expect(await pageviews(t, siteId)).toBe(2);
    expect(await resend(t, writeKey, "poison")).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
    expect(await t.mutation(api.analytics.retryDeadLetter, { siteId, deadLetterId: id })).toBe(
      null,
    );
    expect(await pageviews(t, siteId)).toBe(2);
  });

  test("discardDeadLetter deletes it and its events; the batch, resent, is accepted and counted once (it never was)", async () => {
    const t = initApp();
    const { siteId, writeKey } = await createSite(t);
    const id = await deadLetterAt(t, siteId, "poison");
    expect(await t.mutation(api.analytics.discardDeadLetter, { siteId, deadLetterId: id })).toEqual(
      { batchId: "poison", events: 2 },
    );
    expect(await inAnalytics(t, (ctx) => ctx.db.query("deadLetters").collect())).toEqual([]);
    expect(await pageviews(t, siteId)).toBe(0);
    expect(await resend(t, writeKey, "poison")).toEqual({
      accepted: 1,
      duplicate: false,
      rejected: [],
    });
    expect(await pageviews(t, siteId)).toBe(1);
  });

  test("a dead letter of another site, or an id that is none, is refused with a clear error and left alone", async () => {
    const t = initApp();
    const shop = await createSite(t);
    const blog = await createSite(t, "blog");
    const id = await deadLetterAt(t, blog.siteId, "poison");
    for (const fn of [api.analytics.retryDeadLetter, api.analytics.discardDeadLetter]) {
      await expect(t.mutation(fn, { siteId: shop.siteId, deadLetterId: id })).rejects.toThrow(
        `Dead letter "${id}" belongs to another site`,
      );
      await expect(
        t.mutation(fn, { siteId: shop.siteId, deadLetterId: "nonsense" }),
      ).rejects.toThrow('Invalid dead letter id "nonsense"');
    }
    expect((await t.query(api.analytics.listDeadLetters, { siteId: blog.siteId })).length).toBe(1);
  });
});

describe("retention of bot counts and dead letters", () => {
  /** Creation times only grow, so both sites' dead letters are written oldest first, then the bot counts. */
  async function seed(t: App, siteIds: Id<"sites">[]) {
    for (const daysAgo of [60, 31, 29, 5])
      for (const siteId of siteIds)
        await deadLetterAt(t, siteId, `dl-${daysAgo}`, NOW - daysAgo * DAY);
    await inAnalytics(t, async (ctx) => {
      for (const siteId of siteIds)
        for (const daysAgo of [0, 5, 29, 31, 60])
          await ctx.db.insert("botCounts", {
            siteId,
            day: new Date(NOW - daysAgo * DAY).toISOString().slice(0, 10),
            shard: 0,
            count: 1,
          });
    });
  }
  const kept = (t: App, siteId: Id<"sites">) =>
    inAnalytics(t, async (ctx) => ({
      botDays: (await ctx.db.query("botCounts").collect())
        .filter((b) => b.siteId === siteId)
        .map((b) => Math.round((NOW - Date.parse(`${b.day}T12:30:00Z`)) / DAY))
        .sort((a, b) => a - b),
      deadLetters: (await ctx.db.query("deadLetters").collect())
        .filter((d) => d.siteId === siteId)
        .map((d) => d.batchId)
        .sort(),
    }));

  test("applyRetention deletes bot counts and dead letters older than 30 days, keeps the newer ones, and a site's own settings (5 days) apply to that site only", async () => {
    const t = initApp();
    const shop = await createSite(t);
    const blog = await createSite(t, "blog", {
      botCountRetentionDays: 5,
      deadLetterRetentionDays: 5,
    });
    await seed(t, [shop.siteId, blog.siteId]);
    await t.mutation(internal.analytics.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await kept(t, shop.siteId)).toEqual({
      botDays: [0, 5, 29],
      deadLetters: ["dl-29", "dl-5"],
    });
    // Exactly 5 days old is not older than 5 days: kept.
    expect(await kept(t, blog.siteId)).toEqual({ botDays: [0, 5], deadLetters: ["dl-5"] });
  });

  test.each(["botCountRetentionDays", "deadLetterRetentionDays"] as const)(
    "%s of 0, 1.5 or 4,000 days is refused with a clear error",
    async (name) => {
      const t = initApp();
      for (const days of [0, 1.5, 4_000])
        await expect(createSite(t, "shop", { [name]: days })).rejects.toThrow(
          `${name} must be a whole number of days between 1 and 3,650`,
        );
    },
  );
});
