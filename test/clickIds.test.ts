// A click id on the landing URL, end to end through the ingest route: the session is
// paid although the stored URL keeps no query, and the id's value is stored nowhere.
import { describe, expect, test, vi } from "vitest";
import { enforceConvexDocumentLimits } from "../src/component/convexLimits.testlib.js";
import { api, components } from "../example/convex/_generated/api.js";
import { batches, everyDocument, initApp, useFixedClock, type App } from "./app.setup.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
const HOUR = 3_600_000;
const ORIGIN = "https://shop.example.org";
useFixedClock(NOW);
enforceConvexDocumentLimits();

const GCLID = "Cj0KCQiA-landing-click-7f3a";

/** Posts one batch to a new site through the real route. */
async function post(t: App, events: unknown[]) {
  const { siteId, writeKey } = await t.mutation(components.analytics.sites.createSite, {
    slug: "shop",
    name: "Shop",
    allowedOrigins: [],
  });
  const res = await t.fetch("/analytics/ingest", {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: ORIGIN },
    body: JSON.stringify({ key: writeKey, batchId: "b1", sentAt: NOW, events }),
  });
  expect(res.status).toBe(202);
  return { siteId, body: await res.json() };
}

/** Posts the events, all of which must be accepted, and runs the worker. */
async function ingest(t: App, events: unknown[]) {
  const { siteId, body } = await post(t, events);
  expect(body).toMatchObject({ accepted: events.length, rejected: [] });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  return siteId;
}

async function channels(t: App, siteId: string) {
  const { rows } = await t.query(api.analytics.getBreakdown, {
    siteId,
    from: NOW - 2 * HOUR,
    to: NOW + HOUR,
    dimension: "channel",
  });
  return rows.map((r) => [r.key, r.visitors] as const);
}

const pageview = (id: string, url: string, visitorId: string, referrer?: string) => ({
  id,
  type: "pageview",
  occurredAt: NOW - 60_000,
  url,
  visitorId,
  referrer,
});

describe("a click id on the landing URL", () => {
  test("makes the session Paid Search though the stored URL has no query and no id", async () => {
    const t = initApp();
    const siteId = await ingest(t, [
      pageview("e1", `${ORIGIN}/landing?gclid=${GCLID}`, "v1", "https://www.google.com/"),
      // The same visitor's next page: the session keeps the channel its landing page gave it.
      pageview("e2", `${ORIGIN}/pricing`, "v1"),
    ]);
    expect(await channels(t, siteId)).toEqual([["Paid Search", 1]]);
    const stored = (await batches(t)).processed.flatMap((b) => b.events);
    expect(stored.map((e) => [e.url, e.clickId])).toEqual([
      [`${ORIGIN}/landing`, "google"],
      [`${ORIGIN}/pricing`, undefined],
    ]);
    for (const [table, docs] of await everyDocument(t))
      for (const doc of docs) expect(doc, table).not.toContain(GCLID);
  });

  test("with no referrer at all (apps often send none) is paid on its platform", async () => {
    const t = initApp();
    const siteId = await ingest(t, [
      pageview("e1", `${ORIGIN}/?msclkid=abc`, "v1"),
      pageview("e2", `${ORIGIN}/?fbclid=IwAR0x`, "v2"),
      pageview("e3", `${ORIGIN}/?li_fat_id=9`, "v3"),
      pageview("e4", `${ORIGIN}/`, "v4"),
    ]);
    expect(new Map(await channels(t, siteId))).toEqual(
      new Map([
        ["Paid Search", 1],
        ["Paid Social", 2],
        ["Direct", 1],
      ]),
    );
  });

  test("from another platform than the referrer does not make the visit paid", async () => {
    const t = initApp();
    const siteId = await ingest(t, [
      pageview("e1", `${ORIGIN}/?gclid=x`, "v1", "https://duckduckgo.com/"),
    ]);
    expect(await channels(t, siteId)).toEqual([["Organic Search", 1]]);
  });

  test("sent by the client as an unknown platform rejects that event only, with a reason", async () => {
    const { body } = await post(initApp(), [
      { ...pageview("e1", `${ORIGIN}/`, "v1"), clickId: "bogus" },
      { ...pageview("e2", `${ORIGIN}/`, "v2"), clickId: "google" },
    ]);
    expect(body).toEqual({
      accepted: 1,
      duplicate: false,
      rejected: [{ index: 0, reason: expect.stringMatching(/^clickId must be one of google/) }],
    });
  });
});
