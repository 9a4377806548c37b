// The worker loop's cursor over the batches table (cursor.ts): batches that share a
// creation time are each taken once, and the retry list is bounded without losing
// or double counting a batch.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import type { AnalyticsEvent } from "../shared.js";
import { MAX_RETRYING, SiteCursor } from "./cursor.js";
import { SETTLE_MS } from "./ingest.js";
import { MAX_ATTEMPTS } from "./worker.js";
import { batchesByState } from "./batches.testlib.js";
import { initConvexTest } from "./test.setup.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const NOW = Date.parse("2026-03-10T12:00:00Z");
const site = "s" as Id<"sites">;
const batch = (id: string, creationTime: number) =>
  ({
    _id: id,
    _creationTime: creationTime,
    siteId: site,
    batchId: id,
    events: [],
  }) as unknown as Doc<"batches">;

describe("cursor", () => {
  test("batches created at the same time are passed one by one: the cursor keeps the ids it has passed at that time", () => {
    const cursor = SiteCursor.of(site, null);
    const [a, b, c, d] = [batch("a", 10), batch("b", 20), batch("c", 20), batch("d", 30)];
    expect([a, b, c, d].map((x) => cursor.isPast(x))).toEqual([false, false, false, false]);
    cursor.pass(a);
    cursor.pass(b);
    // c shares b's creation time: not passed yet, though nothing later is.
    expect([a, b, c, d].map((x) => cursor.isPast(x))).toEqual([true, true, false, false]);
    cursor.pass(c);
    expect([a, b, c, d].map((x) => cursor.isPast(x))).toEqual([true, true, true, false]);
    cursor.pass(d);
    expect([a, b, c, d].map((x) => cursor.isPast(x))).toEqual([true, true, true, true]);
  });

  test(`a run keeps at most ${MAX_RETRYING} failing batches for retry and stops at the next, and every good batch is counted once`, async () => {
    vi.setSystemTime(NOW);
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "s", name: "S" });
    const id = siteId as Id<"sites">;
    const pageview = (n: number): AnalyticsEvent => ({
      id: `g${n}`,
      type: "pageview",
      occurredAt: NOW - 60_000,
      url: `https://ex.com/p${n}`,
      visitorId: `v${n}`,
    });
    // Passes the schema, not the worker: a track event needs a name.
    const poison = (n: number) =>
      ({
        id: `p${n}`,
        type: "track",
        occurredAt: NOW - 60_000,
        url: "https://ex.com/",
        visitorId: "p",
      }) as AnalyticsEvent;
    const order: string[] = [];
    await t.run(async (ctx) => {
      for (let n = 0; n < MAX_RETRYING + 5; n++) {
        for (const [batchId, event] of [
          [`poison-${n}`, poison(n)],
          [`good-${n}`, pageview(n)],
        ] as const) {
          await ctx.db.insert("batches", { siteId: id, batchId, events: [event] });
          order.push(batchId);
        }
      }
    });
    vi.setSystemTime(NOW + SETTLE_MS + 1);
    await t.mutation(internal.worker.drainSite, { siteId: id });
    const afterOne = await t.run(async (ctx) => ({
      ...(await batchesByState(ctx)),
      retry: (await SiteCursor.load(ctx, id)).retry.length,
    }));
    expect(afterOne.retry).toBe(MAX_RETRYING);
    // The run stopped at the first poison batch past the full list: the rest wait in order.
    const firstWaiting = order.indexOf(`poison-${MAX_RETRYING}`);
    expect(afterOne.processed.map((b) => b.batchId)).toEqual(
      order.slice(0, firstWaiting).filter((b) => b.startsWith("good")),
    );

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const end = await t.run(async (ctx) => ({
      ...(await batchesByState(ctx)),
      dead: await ctx.db.query("deadLetters").collect(),
    }));
    expect(end.queued).toEqual([]);
    expect(end.processed.map((b) => b.batchId)).toEqual(order.filter((b) => b.startsWith("good")));
    expect(end.dead.map((d) => [d.batchId, d.attempts]).sort()).toEqual(
      order
        .filter((b) => b.startsWith("poison"))
        .map((b) => [b, MAX_ATTEMPTS])
        .sort(),
    );
    const overview = await t.query(api.reports.getOverview, {
      siteId,
      from: NOW - 3_600_000,
      to: NOW + 3_600_000,
    });
    expect(overview.pageviews).toBe(MAX_RETRYING + 5);
  });
});
