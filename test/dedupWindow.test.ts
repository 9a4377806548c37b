// The dedup window (issue 12, "Dedup keeps its promise"): a batch id is a
// duplicate for as long as its raw batch is kept (at least 8 days), and a
// browser event that occurred more than 7 days before its batch was sent, by
// the client's own clock, is refused. So a batch resent after its raw batch
// was pruned is refused instead of counted twice, whatever the client's clock.
import { expect, test, vi } from "vitest";
import { batches, initApp, useFixedClock, type App } from "./app.setup.js";
import { api, internal } from "../example/convex/_generated/api.js";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";
const REFUSED_REASON =
  "the event occurred more than 7 days before its batch was sent: batches are deduplicated for 7 days, so it is refused rather than risk counting it twice";

useFixedClock(NOW);
enforceConvexDocumentLimits();

/** The tracker's batch as stored in localStorage: its events keep their times; sentAt is set at each send. */
const storedBatch = (writeKey: string, batchId: string, occurredAt: number) => ({
  key: writeKey,
  batchId,
  events: [
    {
      id: `${batchId}-1`,
      type: "pageview",
      occurredAt,
      url: "https://shop.example.org/",
      visitorId: "v1",
    },
    {
      id: `${batchId}-2`,
      type: "pageview",
      occurredAt: occurredAt + 1_000,
      url: "https://shop.example.org/p",
      visitorId: "v1",
    },
  ],
});

async function send(t: App, batch: object, sentAt: number) {
  const res = await t
    .withRequestMetadata({ ip: "198.51.100.1", userAgent: FIREFOX })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ ...batch, sentAt }),
    });
  return { status: res.status, body: await res.json() };
}

/**
 * Another batch a day later, counted, so the site's cursor moves past the first (retention never
 * prunes the batch the cursor stands on).
 */
async function moveCursorPast(t: App, writeKey: string) {
  vi.setSystemTime(NOW + DAY);
  const other = storedBatch(writeKey, "later", Date.now());
  expect((await send(t, other, Date.now())).body.accepted).toBe(2);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

async function pageviews(t: App, siteId: string) {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const now = Date.now();
  return (
    await t.query(api.analytics.getOverview, { siteId, from: now - 120 * DAY, to: now + HOUR })
  ).pageviews;
}

test("a batch resent 91 days later, after raw retention pruned it, is refused event by event and counted once, not twice", async () => {
  const t = initApp();
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
    slug: "shop",
    name: "Shop",
  });
  const batch = storedBatch(writeKey, "b1", NOW - MINUTE);
  expect((await send(t, batch, NOW)).body).toEqual({ accepted: 2, duplicate: false, rejected: [] });
  expect(await pageviews(t, siteId)).toBe(2);
  await moveCursorPast(t, writeKey);

  vi.setSystemTime(NOW + 91 * DAY);
  await t.mutation(internal.analytics.applyRetention, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const { processed, queued } = await batches(t);
  // b1 was pruned; only the later batch, which the cursor stands on, is left.
  expect([...processed, ...queued].map((b) => b.batchId)).toEqual(["later"]);

  expect(await send(t, batch, Date.now())).toEqual({
    status: 202,
    body: {
      accepted: 0,
      duplicate: false,
      rejected: [
        { index: 0, reason: REFUSED_REASON },
        { index: 1, reason: REFUSED_REASON },
      ],
    },
  });
  expect(await pageviews(t, siteId)).toBe(4);
});

test("within raw retention (day 6 and day 60) the resent batch is a duplicate", async () => {
  const t = initApp();
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
    slug: "shop",
    name: "Shop",
  });
  const batch = storedBatch(writeKey, "b1", NOW - MINUTE);
  await send(t, batch, NOW);
  for (const day of [6, 60]) {
    vi.setSystemTime(NOW + day * DAY);
    await t.mutation(internal.analytics.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await send(t, batch, Date.now())).body).toEqual({
      accepted: 0,
      duplicate: true,
      rejected: [],
    });
  }
  expect(await pageviews(t, siteId)).toBe(2);
});

test("a client whose clock is a year ahead is accepted at first (its times clamped to 5 minutes ahead) and refused when it resends the batch 91 days later", async () => {
  const t = initApp();
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
    slug: "shop",
    name: "Shop",
  });
  const skew = 365 * DAY;
  const batch = storedBatch(writeKey, "b1", NOW + skew - MINUTE);
  expect((await send(t, batch, NOW + skew)).body).toEqual({
    accepted: 2,
    duplicate: false,
    rejected: [],
  });
  await moveCursorPast(t, writeKey);
  vi.setSystemTime(NOW + 91 * DAY);
  await t.mutation(internal.analytics.applyRetention, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  const resent = await send(t, batch, Date.now() + skew);
  expect(resent.body.accepted).toBe(0);
  expect(resent.body.rejected.map((r: { reason: string }) => r.reason)).toEqual([
    REFUSED_REASON,
    REFUSED_REASON,
  ]);
  expect(await pageviews(t, siteId)).toBe(4);
});

test("a client whose clock is 10 days behind still has its fresh events counted (occurredAt clamped to 7 days ago), and an event 8 days older than its batch is refused while its neighbour is kept", async () => {
  const t = initApp();
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, {
    slug: "shop",
    name: "Shop",
  });
  const behind = NOW - 10 * DAY;
  expect(
    (await send(t, storedBatch(writeKey, "late-clock", behind - MINUTE), behind)).body,
  ).toEqual({
    accepted: 2,
    duplicate: false,
    rejected: [],
  });
  const mixed = {
    key: writeKey,
    batchId: "mixed",
    events: [
      {
        id: "old",
        type: "pageview",
        occurredAt: NOW - 8 * DAY,
        url: "https://shop.example.org/",
        visitorId: "v2",
      },
      {
        id: "new",
        type: "pageview",
        occurredAt: NOW - MINUTE,
        url: "https://shop.example.org/",
        visitorId: "v2",
      },
    ],
  };
  expect((await send(t, mixed, NOW)).body).toEqual({
    accepted: 1,
    duplicate: false,
    rejected: [{ index: 0, reason: REFUSED_REASON }],
  });
  expect(await pageviews(t, siteId)).toBe(3);
});
