// Maintenance (registerMaintenanceCrons): the host's crons.ts schedules the two
// jobs; convex-test never runs crons, so their targets are called directly. The
// kick restarts workers and compaction that never ran, retention deletes old raw
// data page by page, and a poison batch is dead-lettered without holding up its shard.
import { describe, expect, test, vi } from "vitest";
import { makeFunctionReference, type GenericMutationCtx } from "convex/server";
import { api, components } from "../example/convex/_generated/api.js";
import type { DataModel, Id } from "../src/component/_generated/dataModel.js";
import type { AnalyticsEvent } from "../src/shared.js";
import { shardOf } from "../src/component/ingest.js";
import { inComponent, initApp, useFixedClock } from "./app.setup.js";

type App = ReturnType<typeof initApp>;
type ComponentCtx = GenericMutationCtx<DataModel>;

const NOW = Date.parse("2026-03-10T12:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

useFixedClock(NOW);

/** Runs `fn` inside the analytics component, where its tables live (convex-test's t.run sees only the app's). */
function inAnalytics<T>(t: App, fn: (ctx: ComponentCtx) => Promise<T>): Promise<T> {
  return inComponent<T, ComponentCtx>(t, "analytics", fn);
}

const count = (t: App, table: "pendingBatches" | "rawBatches" | "rollupShards" | "rollups" | "sessions" | "deadLetters") =>
  inAnalytics(t, async (ctx) => (await ctx.db.query(table).collect()).length);

async function setup(settings?: { rawRetentionDays?: number }) {
  const t = initApp();
  const { siteId, writeKey } = await t.mutation(api.analytics.createSite, { slug: "default", name: "Default", settings });
  return { t, siteId: siteId as Id<"sites">, writeKey };
}

const pageview = (id: string, visitorId: string, path = "/"): AnalyticsEvent => ({
  id,
  type: "pageview",
  occurredAt: NOW - MINUTE,
  url: `https://ex.com${path}`,
  visitorId,
});

/** A queued batch written straight into the table, as if ingest had run but its worker never did. */
function queue(t: App, siteId: Id<"sites">, batchId: string, events: AnalyticsEvent[]) {
  return inAnalytics(t, async (ctx) =>
    ctx.db.insert("pendingBatches", { siteId, batchId, shard: shardOf(events[0]!.visitorId), receivedAt: NOW, events, attempts: 0 }),
  );
}

/** Visitor ids whose batches all land in the same shard. */
function visitorsInOneShard(n: number): string[] {
  const shard = shardOf("v0");
  const out = ["v0"];
  for (let i = 1; out.length < n; i++) if (shardOf(`v${i}`) === shard) out.push(`v${i}`);
  return out;
}

const overview = (t: App, siteId: string) => t.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: NOW + HOUR });

describe("the host's crons", () => {
  test("example/convex/crons.ts schedules the kick every minute and retention every hour, and both targets run", async () => {
    // Imported here so that a crons.ts that throws on load fails this test only.
    const { default: crons } = await import("../example/convex/crons.js");
    const jobs = JSON.parse((crons as unknown as { export(): string }).export()) as Record<string, { name: string; args: Record<string, never>[]; schedule: unknown }>;
    expect(Object.keys(jobs).sort()).toEqual(["analytics: drain and compact", "analytics: retention"]);
    expect(jobs["analytics: drain and compact"]!.schedule).toEqual({ type: "interval", minutes: 1 });
    expect(jobs["analytics: retention"]!.schedule).toEqual({ type: "interval", hours: 1 });

    const { t, siteId } = await setup();
    await queue(t, siteId, "left-behind", [pageview("e1", "v1")]);
    for (const job of Object.values(jobs)) await t.mutation(makeFunctionReference<"mutation">(job.name), job.args[0] ?? {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await overview(t, siteId)).pageviews).toBe(1);
  });
});

describe("kick", () => {
  test("kick schedules a worker for each shard with batches left behind, and they are all counted", async () => {
    const { t, siteId } = await setup();
    const visitors = ["a", "b", "c", "d", "e", "f"];
    for (const v of visitors) await queue(t, siteId, `batch-${v}`, [pageview(`${v}1`, v), pageview(`${v}2`, v, "/next")]);
    const shards = new Set(visitors.map(shardOf)).size;
    expect(shards).toBeGreaterThan(1);

    expect(await t.mutation(components.analytics.maintenance.kick, {})).toEqual({ shards });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "pendingBatches")).toBe(0);
    expect(await count(t, "rawBatches")).toBe(6);
    const o = await overview(t, siteId);
    expect([o.pageviews, o.sessions, o.visitors]).toEqual([12, 6, 6]);
    // Nothing left: the next kick schedules no worker.
    expect(await t.mutation(components.analytics.maintenance.kick, {})).toEqual({ shards: 0 });
  });

  test("kick compacts rollup shards whose scheduled compaction was lost, and the numbers do not change", async () => {
    const { t, siteId, writeKey } = await setup();
    const res = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify({ key: writeKey, batchId: "b1", events: [pageview("e1", "v1"), pageview("e2", "v1", "/b")] }),
    });
    expect(res.status).toBe(202);
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
    // The worker ran; drop the compaction it scheduled, as if it had been lost.
    const cancelled = await inAnalytics(t, async (ctx) => {
      const pending = (await ctx.db.system.query("_scheduled_functions").collect()).filter((j) => j.state.kind === "pending");
      for (const job of pending) await ctx.scheduler.cancel(job._id);
      return pending.length;
    });
    expect(cancelled).toBeGreaterThan(0);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "rollupShards")).toBeGreaterThan(0);
    const before = await overview(t, siteId);
    expect(before.pageviews).toBe(2);

    // Within the hour the kick leaves them to the worker's own trigger...
    expect(await t.mutation(components.analytics.maintenance.kick, {})).toEqual({ shards: 0 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "rollupShards")).toBeGreaterThan(0);
    // ...and once they are over an hour old it compacts them.
    vi.advanceTimersByTime(61 * 60_000);
    expect(await t.mutation(components.analytics.maintenance.kick, {})).toEqual({ shards: 0 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "rollupShards")).toBe(0);
    expect(await count(t, "rollups")).toBeGreaterThan(0);
    expect(await overview(t, siteId)).toEqual(before);
  });
});

describe("retention", () => {
  test("applyRetention deletes minute rollups over 2 hours old and raw batches and sessions past each site's retention, page by page", async () => {
    const { t, siteId: short } = await setup({ rawRetentionDays: 30 });
    const { siteId: long } = await t.mutation(api.analytics.createSite, { slug: "long", name: "Default retention" });
    const OLD = 250;
    const rollup = (siteId: string, interval: "minute" | "hour", bucketStart: number) => ({
      siteId: siteId as Id<"sites">,
      interval,
      bucketStart,
      dimension: "total" as const,
      page: 0,
      rows: [],
    });
    const raw = (siteId: string, batchId: string, receivedAt: number) => ({ siteId: siteId as Id<"sites">, batchId, receivedAt, events: [] });
    const session = (siteId: string, visitorId: string, lastSeenAt: number) => ({
      siteId: siteId as Id<"sites">,
      visitorId,
      startedAt: lastSeenAt - MINUTE,
      lastSeenAt,
      events: 2,
      pageviews: 2,
      entryPage: "/",
      hostname: "ex.com",
      exitPage: "/",
      exitAt: lastSeenAt,
      attribution: {},
    });
    await inAnalytics(t, async (ctx) => {
      for (let i = 0; i < OLD; i++) await ctx.db.insert("rollups", rollup(short, "minute", NOW - 2 * HOUR - (i + 1) * MINUTE));
      for (let i = 0; i < 3; i++) await ctx.db.insert("rollups", rollup(short, "minute", NOW - 2 * HOUR + (i + 1) * MINUTE));
      for (let i = 0; i < 2; i++) await ctx.db.insert("rollups", rollup(short, "hour", NOW - 400 * DAY + i * HOUR));
      for (let i = 0; i < 5; i++) await ctx.db.insert("rollups", rollup(long, "minute", NOW - DAY - i * MINUTE));
      return null;
    });
    await inAnalytics(t, async (ctx) => {
      for (let i = 0; i < OLD; i++) await ctx.db.insert("rawBatches", raw(short, `old-${i}`, NOW - 30 * DAY - (i + 1) * MINUTE));
      for (let i = 0; i < 3; i++) await ctx.db.insert("rawBatches", raw(short, `new-${i}`, NOW - 29 * DAY));
      for (let i = 0; i < 5; i++) await ctx.db.insert("rawBatches", raw(long, `kept-${i}`, NOW - 40 * DAY));
      for (let i = 0; i < 5; i++) await ctx.db.insert("rawBatches", raw(long, `expired-${i}`, NOW - 91 * DAY));
      return null;
    });
    await inAnalytics(t, async (ctx) => {
      for (let i = 0; i < OLD; i++) await ctx.db.insert("sessions", session(short, `old-${i}`, NOW - 31 * DAY));
      for (let i = 0; i < 3; i++) await ctx.db.insert("sessions", session(short, `new-${i}`, NOW - DAY));
      for (let i = 0; i < 4; i++) await ctx.db.insert("sessions", session(long, `kept-${i}`, NOW - 89 * DAY));
      return null;
    });

    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const left = await inAnalytics(t, async (ctx) => {
      const rollups = await ctx.db.query("rollups").collect();
      const raws = await ctx.db.query("rawBatches").collect();
      const sessions = await ctx.db.query("sessions").collect();
      return {
        shortMinutes: rollups.filter((r) => r.siteId === short && r.interval === "minute").length,
        shortHours: rollups.filter((r) => r.siteId === short && r.interval === "hour").length,
        longMinutes: rollups.filter((r) => r.siteId === long && r.interval === "minute").length,
        shortRaw: raws.filter((r) => r.siteId === short).map((r) => r.batchId).sort(),
        longRaw: raws.filter((r) => r.siteId === long).map((r) => r.batchId).sort(),
        shortSessions: sessions.filter((s) => s.siteId === short).length,
        longSessions: sessions.filter((s) => s.siteId === long).length,
      };
    });
    expect(left).toEqual({
      shortMinutes: 3,
      shortHours: 2,
      longMinutes: 0,
      shortRaw: ["new-0", "new-1", "new-2"],
      longRaw: ["kept-0", "kept-1", "kept-2", "kept-3", "kept-4"],
      shortSessions: 3,
      longSessions: 4,
    });
  });
});

describe("dead letters", () => {
  test("a batch that makes the worker throw is dead-lettered after 3 attempts with its error, and its shard's other batches are counted", async () => {
    const { t, siteId, writeKey } = await setup();
    const [poisoned, first, second] = visitorsInOneShard(3);
    // Passes the schema but not normalizeEvent: the worker cannot bucket a NaN timestamp.
    await queue(t, siteId, "poison", [{ ...pageview("p1", poisoned!), occurredAt: Number.NaN }]);
    await queue(t, siteId, "good-1", [pageview("g1", first!)]);
    await queue(t, siteId, "good-2", [pageview("g2", second!, "/two"), pageview("g3", second!, "/three")]);

    expect(await t.mutation(components.analytics.maintenance.kick, {})).toEqual({ shards: 1 });
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
    const afterFirstRun = await inAnalytics(t, async (ctx) => (await ctx.db.query("pendingBatches").collect()).map((b) => [b.batchId, b.attempts, b.lastError]));
    expect(afterFirstRun).toEqual([["poison", 1, expect.stringMatching(/Invalid time value/)]]);
    expect((await overview(t, siteId)).pageviews).toBe(3);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "pendingBatches")).toBe(0);
    expect(await t.query(api.analytics.listDeadLetters, { siteId })).toEqual([
      { _id: expect.any(String), _creationTime: expect.any(Number), siteId, batchId: "poison", events: 1, attempts: 3, error: expect.stringMatching(/Invalid time value/) },
    ]);
    expect(await inAnalytics(t, async (ctx) => (await ctx.db.query("rawBatches").collect()).map((b) => b.batchId).sort())).toEqual(["good-1", "good-2"]);
    const o = await overview(t, siteId);
    expect([o.pageviews, o.sessions, o.visitors]).toEqual([3, 2, 2]);

    // A dead-lettered batch id is still a duplicate if the browser resends it.
    const resend = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify({ key: writeKey, batchId: "poison", events: [pageview("p1", poisoned!)] }),
    });
    expect(await resend.json()).toEqual({ accepted: 0, duplicate: true, rejected: [] });
  });
});
