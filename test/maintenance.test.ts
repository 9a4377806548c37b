// Maintenance (registerMaintenanceCrons): the host's crons.ts schedules the two
// jobs; convex-test never runs crons, so their targets are called directly. The
// kick restarts site loops whose batches stalled and compaction that never ran,
// retention deletes old minute rollups, raw data and salts page by page (never a
// batch its site's loop has not processed), and a poison batch is dead-lettered
// without holding up its site's other batches.
import { describe, expect, test, vi } from "vitest";
import { makeFunctionReference, type GenericMutationCtx } from "convex/server";
import { api, components } from "../example/convex/_generated/api.js";
import type { DataModel, Id } from "../src/component/_generated/dataModel.js";
import type { AnalyticsEvent } from "../src/shared.js";
import { STALLED_BATCH_MS } from "../src/component/maintenance.js";
import { COMPACTION_LEASE_MS } from "../src/component/compaction.js";
import { MAX_BATCH_DELTA_BYTES } from "../src/component/worker.js";
import { encodeRows } from "../src/component/rowCodec.js";
import { batches, inComponent, initApp, useFixedClock } from "./app.setup.js";

type App = ReturnType<typeof initApp>;
type ComponentCtx = GenericMutationCtx<DataModel>;
type Table =
  | "batches"
  | "rollupDeltas"
  | "rollupStaging"
  | "rollups"
  | "sessions"
  | "deadLetters"
  | "salts"
  | "siteLoops"
  | "siteCursors";

const NOW = Date.parse("2026-03-10T12:30:00Z"); // events 4 minutes ago are in the open hour
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Received long enough ago that a kick takes the batch for stalled. */
const STALLED = NOW - STALLED_BATCH_MS - MINUTE;
/** Before every batch of these tests (see `at`). */
const SITES_CREATED = NOW - 100 * DAY;

useFixedClock(NOW);

/**
 * Runs `fn` with the clock at `time`, then back at NOW. A batch is received when it is
 * created, and creation times only grow, so past-dated documents are written oldest first.
 */
async function at<T>(time: number, fn: () => Promise<T>): Promise<T> {
  vi.setSystemTime(time);
  try {
    return await fn();
  } finally {
    vi.setSystemTime(NOW);
  }
}

/** Runs `fn` inside the analytics component, where its tables live (convex-test's t.run sees only the app's). */
function inAnalytics<T>(t: App, fn: (ctx: ComponentCtx) => Promise<T>): Promise<T> {
  return inComponent<T, ComponentCtx>(t, "analytics", fn);
}

const docs = <N extends Table>(t: App, table: N) =>
  inAnalytics(t, async (ctx) => await ctx.db.query(table).collect());
const count = async (t: App, table: Table) => (await docs(t, table)).length;

const createSite = (t: App, slug: string, settings?: { rawRetentionDays?: number }) =>
  at(SITES_CREATED, () => t.mutation(api.analytics.createSite, { slug, name: slug, settings }));

async function setup(settings?: { rawRetentionDays?: number }, slug = "default") {
  const t = initApp();
  const { siteId, writeKey } = await createSite(t, slug, settings);
  return { t, siteId: siteId as Id<"sites">, writeKey };
}

const pageview = (id: string, visitorId: string, path = "/"): AnalyticsEvent => ({
  id,
  type: "pageview",
  occurredAt: NOW - 4 * MINUTE,
  url: `https://ex.com${path}`,
  visitorId,
});

/** A queued batch written straight into the table, as if ingest had run but the site's loop then died. */
function queue(
  t: App,
  siteId: Id<"sites">,
  batchId: string,
  events: AnalyticsEvent[],
  receivedAt = STALLED,
) {
  return at(receivedAt, () =>
    inAnalytics(t, async (ctx) => ctx.db.insert("batches", { siteId, batchId, events })),
  );
}

/** The site's loop as if it had processed every batch created before `before` (they are raw events). */
function processedBefore(t: App, siteId: Id<"sites">, before: number) {
  return inAnalytics(t, async (ctx) =>
    ctx.db.insert("siteCursors", { siteId, creationTime: before, ids: [], retry: [] }),
  );
}

const kick = (t: App) => t.mutation(components.analytics.maintenance.kick, {});
const overview = (t: App, siteId: string) =>
  t.query(api.analytics.getOverview, { siteId, from: NOW - DAY, to: NOW + HOUR });

describe("the host's crons", () => {
  test("example/convex/crons.ts schedules the kick every minute and retention every hour, and both targets run", async () => {
    // Imported here so that a crons.ts that throws on load fails this test only.
    const { default: crons } = await import("../example/convex/crons.js");
    const jobs = JSON.parse((crons as unknown as { export(): string }).export()) as Record<
      string,
      { name: string; args: Record<string, never>[]; schedule: unknown }
    >;
    expect(Object.keys(jobs).sort()).toEqual([
      "analytics: restart loops and compact",
      "analytics: retention",
    ]);
    expect(jobs["analytics: restart loops and compact"]!.schedule).toEqual({
      type: "interval",
      minutes: 1,
    });
    expect(jobs["analytics: retention"]!.schedule).toEqual({ type: "interval", hours: 1 });

    const { t, siteId } = await setup();
    await queue(t, siteId, "left-behind", [pageview("e1", "v1")]);
    for (const job of Object.values(jobs))
      await t.mutation(makeFunctionReference<"mutation">(job.name), job.args[0] ?? {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await overview(t, siteId)).pageviews).toBe(1);
  });
});

describe("kick", () => {
  test("kick restarts the loop of each site whose batches stalled, leaves fresh batches to their loop, and every stalled batch is counted", async () => {
    const { t, siteId } = await setup();
    const { siteId: other } = await createSite(t, "other");
    const { siteId: fresh } = await createSite(t, "fresh");
    for (const v of ["a", "b", "c"])
      await queue(t, siteId, `batch-${v}`, [pageview(`${v}1`, v), pageview(`${v}2`, v, "/next")]);
    await queue(t, other as Id<"sites">, "other-1", [pageview("o1", "o")]);
    // Received within STALLED_BATCH_MS: its loop may still be on the way.
    await queue(
      t,
      fresh as Id<"sites">,
      "fresh-1",
      [pageview("f1", "f")],
      NOW - STALLED_BATCH_MS + 1,
    );

    expect(await kick(t)).toEqual({ sites: 2, compaction: false });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await batches(t)).queued.map((b) => b.batchId)).toEqual(["fresh-1"]);
    expect((await batches(t)).processed.length).toBe(4);
    const o = await overview(t, siteId);
    expect([o.pageviews, o.sessions, o.visitors]).toEqual([6, 3, 3]);
    expect((await overview(t, other)).pageviews).toBe(1);
    // Once the fresh batch is stalled too, the next kick restarts its site's loop, and only that one.
    vi.advanceTimersByTime(STALLED_BATCH_MS);
    expect(await kick(t)).toEqual({ sites: 1, compaction: false });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await batches(t)).queued.length).toBe(0);
    expect((await overview(t, fresh)).pageviews).toBe(1);
    expect(await kick(t)).toEqual({ sites: 0, compaction: false });
  });

  test("kick starts compaction once a closed hour waits and no live run holds the lock, and the numbers do not change", async () => {
    const { t, siteId } = await setup();
    await queue(t, siteId, "b1", [pageview("e1", "v1"), pageview("e2", "v1", "/b")]);
    await kick(t);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await count(t, "rollupDeltas")).toBeGreaterThan(0);
    const before = await overview(t, siteId);
    expect(before.pageviews).toBe(2);

    // The events' hour (12:00 UTC) is still open: nothing to compact.
    expect(await kick(t)).toEqual({ sites: 0, compaction: false });
    vi.advanceTimersByTime(61 * MINUTE);
    // A live run holds the lock: the kick leaves compaction to it.
    const lock = await inAnalytics(t, (ctx) =>
      ctx.db.insert("compactionLock", { runId: "live", heartbeatAt: Date.now() - MINUTE }),
    );
    expect(await kick(t)).toEqual({ sites: 0, compaction: false });
    // Its lease ran out: the run is presumed dead, and the kick starts another.
    await inAnalytics(t, (ctx) =>
      ctx.db.patch("compactionLock", lock, { heartbeatAt: Date.now() - COMPACTION_LEASE_MS - 1 }),
    );
    expect(await kick(t)).toEqual({ sites: 0, compaction: true });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await docs(t, "rollupDeltas")).filter((d) => d.interval === "hour")).toEqual([]);
    expect(await count(t, "rollupStaging")).toBe(0);
    expect(new Set((await docs(t, "rollups")).map((r) => r.interval))).toEqual(
      new Set(["hour", "day", "month"]),
    );
    expect(await overview(t, siteId)).toEqual(before);
    // Nothing waits any more.
    expect(await kick(t)).toEqual({ sites: 0, compaction: false });
  });
});

describe("retention", () => {
  test("applyRetention deletes minute rollups whose hour is past the realtime window, raw batches and sessions past each site's retention, and old salts, page by page", async () => {
    const { t, siteId: short } = await setup({ rawRetentionDays: 30 });
    const { siteId: long } = await createSite(t, "long");
    const OLD = 250;
    const delta = (siteId: string, interval: "minute" | "hour", bucketStart: number) => ({
      siteId: siteId as Id<"sites">,
      generation: 0,
      interval,
      bucketStart,
      level: 0,
      rows: encodeRows([]),
      rowCount: 0,
    });
    const raw = (siteId: string, batchId: string, receivedAt: number) =>
      at(receivedAt, () =>
        inAnalytics(t, (ctx) =>
          ctx.db.insert("batches", { siteId: siteId as Id<"sites">, batchId, events: [] }),
        ),
      );
    const session = (siteId: string, visitorId: string, lastSeenAt: number) => ({
      siteId: siteId as Id<"sites">,
      generation: 0,
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
    // Oldest first (see `at`): before anything written at NOW, and all of them processed by their site's loop.
    for (let i = 0; i < 5; i++) await raw(long, `expired-${i}`, NOW - 91 * DAY);
    for (let i = 0; i < 5; i++) await raw(long, `kept-${i}`, NOW - 40 * DAY);
    for (let i = OLD - 1; i >= 0; i--)
      await raw(short, `old-${i}`, NOW - 30 * DAY - (i + 1) * MINUTE);
    for (let i = 0; i < 3; i++) await raw(short, `new-${i}`, NOW - 29 * DAY);
    await processedBefore(t, short, NOW - DAY);
    await processedBefore(t, long as Id<"sites">, NOW - DAY);
    // A minute document holds one hour's minutes: it goes once its whole hour is over 2 hours old.
    const oldestKept = NOW - 3 * HOUR;
    await inAnalytics(t, async (ctx) => {
      for (let i = 0; i < OLD; i++)
        await ctx.db.insert(
          "rollupDeltas",
          delta(i % 2 ? short : long, "minute", oldestKept - (i + 1) * HOUR),
        );
      for (let i = 0; i < 3; i++)
        await ctx.db.insert("rollupDeltas", delta(short, "minute", oldestKept + i * HOUR));
      for (let i = 0; i < 2; i++)
        await ctx.db.insert("rollupDeltas", delta(short, "hour", NOW - 400 * DAY + i * HOUR));
      for (const day of ["2026-03-10", "2026-03-09", "2026-03-08", "2026-02-01"])
        await ctx.db.insert("salts", { day, salt: day });
      return null;
    });
    await inAnalytics(t, async (ctx) => {
      for (let i = 0; i < OLD; i++)
        await ctx.db.insert("sessions", session(short, `old-${i}`, NOW - 31 * DAY));
      for (let i = 0; i < 3; i++)
        await ctx.db.insert("sessions", session(short, `new-${i}`, NOW - DAY));
      for (let i = 0; i < 4; i++)
        await ctx.db.insert("sessions", session(long, `kept-${i}`, NOW - 89 * DAY));
      return null;
    });

    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const deltas = await docs(t, "rollupDeltas");
    const raws = await docs(t, "batches");
    const sessions = await docs(t, "sessions");
    expect({
      minutes: deltas
        .filter((r) => r.interval === "minute")
        .map((r) => (r.bucketStart - oldestKept) / HOUR)
        .sort(),
      hours: deltas.filter((r) => r.interval === "hour").length,
      shortRaw: raws
        .filter((r) => r.siteId === short)
        .map((r) => r.batchId)
        .sort(),
      longRaw: raws
        .filter((r) => r.siteId === long)
        .map((r) => r.batchId)
        .sort(),
      shortSessions: sessions.filter((s) => s.siteId === short).length,
      longSessions: sessions.filter((s) => s.siteId === long).length,
      salts: (await docs(t, "salts")).map((s) => s.day).sort(),
    }).toEqual({
      minutes: [0, 1, 2],
      hours: 2,
      shortRaw: ["new-0", "new-1", "new-2"],
      longRaw: ["kept-0", "kept-1", "kept-2", "kept-3", "kept-4"],
      shortSessions: 3,
      longSessions: 4,
      salts: ["2026-03-09", "2026-03-10"],
    });
  });

  test("retention reaches every site, past the first pages of sites: the 650th site's raw batches and old rollups are pruned too", async () => {
    const { t } = await setup();
    // More than the 500 sites the old loop stopped at, and more than three pages of 200.
    const SITES = 650;
    const ids = await at(SITES_CREATED, () =>
      inAnalytics(t, async (ctx) => {
        const out: Id<"sites">[] = [];
        for (let i = 0; i < SITES; i++) {
          out.push(
            await ctx.db.insert("sites", {
              slug: `s${i}`,
              name: `Site ${i}`,
              timezone: "UTC",
              allowedOrigins: [],
              enabled: true,
              writeKeyHash: `hash-${i}`,
              settings: { rawRetentionDays: 8, hourlyRollupRetentionDays: 2 },
            }),
          );
        }
        return out;
      }),
    );
    const lastSites = ids.slice(-3);
    for (const [batchId, receivedAt] of [
      ["expired", NOW - 9 * DAY],
      ["kept", NOW - DAY / 2],
    ] as const)
      for (const siteId of lastSites)
        await at(receivedAt, () =>
          inAnalytics(t, (ctx) => ctx.db.insert("batches", { siteId, batchId, events: [] })),
        );
    for (const siteId of lastSites) await processedBefore(t, siteId, NOW);
    const page = (siteId: Id<"sites">, bucketStart: number) => ({
      siteId,
      generation: 0,
      interval: "hour" as const,
      bucketStart,
      dimension: "total" as const,
      part: "counters" as const,
      firstRank: 0,
      rows: encodeRows([]),
      rowCount: 0,
    });
    await inAnalytics(t, async (ctx) => {
      for (const siteId of lastSites) {
        await ctx.db.insert("rollups", page(siteId, NOW - 3 * DAY));
        await ctx.db.insert("rollups", page(siteId, NOW - DAY));
      }
      return null;
    });
    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = (rows: { siteId: string; batchId?: string; bucketStart?: number }[]) =>
      rows.map((r) => [
        ids.indexOf(r.siteId as Id<"sites">),
        r.batchId ?? (NOW - r.bucketStart!) / DAY,
      ]);
    expect(left(await docs(t, "batches"))).toEqual([
      [647, "kept"],
      [648, "kept"],
      [649, "kept"],
    ]);
    expect(left(await docs(t, "rollups"))).toEqual([
      [647, 1],
      [648, 1],
      [649, 1],
    ]);
  });

  test("retention deletes the batch its site's cursor stands on once it is past retention, and the loop still takes the next batch exactly once", async () => {
    const { t, siteId } = await setup({ rawRetentionDays: 8 });
    await queue(t, siteId, "old-1", [pageview("o1", "o")], NOW - 10 * DAY);
    await queue(t, siteId, "old-2", [pageview("o2", "o", "/two")], NOW - 9 * DAY);
    await kick(t);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const cursor = (await docs(t, "siteCursors"))[0]!;
    const last = (await docs(t, "batches")).find((b) => b.batchId === "old-2")!;
    // The cursor stands on the site's last batch: before the fix, retention never deleted it.
    expect([cursor.creationTime, cursor.ids]).toEqual([last._creationTime, [last._id]]);
    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await docs(t, "batches")).toEqual([]);
    // The cursor keeps its place without the document: the next batch is counted, once.
    expect((await docs(t, "siteCursors"))[0]).toEqual(cursor);
    // Received now (creation times only grow), then left for the kick to take as stalled.
    await queue(t, siteId, "new", [pageview("n1", "n", "/new")], NOW);
    vi.advanceTimersByTime(STALLED_BATCH_MS + MINUTE);
    expect(await kick(t)).toEqual({ sites: 1, compaction: false });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await batches(t)).queued).toEqual([]);
    // Each of the three counted once: the new one now, the deleted two before they went, not again.
    expect((await overview(t, siteId)).pageviews).toBe(3);
  });

  test("raw retention of large batches stays within Convex's read limit: each step stops at its byte budget and the next takes the rest", async () => {
    const { t, siteId } = await setup({ rawRetentionDays: 8 });
    // 210 batches of about 100 KiB (a full 64 KiB request, normalised): a page of 200 would read over 16 MiB.
    const BATCHES = 210;
    const events = (b: number) =>
      Array.from({ length: 100 }, (_, i) =>
        pageview(`e${b}-${i}`, `v${i}`, `/${"p".repeat(1_000)}`),
      );
    for (let b = 0; b < BATCHES; b++)
      await queue(t, siteId, `big-${b}`, events(b), NOW - 9 * DAY + b * MINUTE);
    await queue(t, siteId, "kept", [pageview("k", "v")], NOW - 7 * DAY);
    await processedBefore(t, siteId, NOW);
    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await docs(t, "batches")).map((r) => r.batchId)).toEqual(["kept"]);
  });

  test("retention never deletes a batch its site's loop has not processed, however old: the loop counts it once it runs", async () => {
    const { t, siteId } = await setup({ rawRetentionDays: 8 });
    await queue(t, siteId, "counted", [pageview("c1", "c")], NOW - 20 * DAY);
    // The loop died after the first batch: the other two wait past its cursor, one for a retry.
    await queue(t, siteId, "retrying", [pageview("r1", "r")], NOW - 15 * DAY);
    await queue(t, siteId, "queued", [pageview("q1", "q")], NOW - 10 * DAY);
    const retrying = (await batches(t)).queued.find((b) => b.batchId === "retrying")!;
    await inAnalytics(t, (ctx) =>
      ctx.db.insert("siteCursors", {
        siteId,
        creationTime: retrying._creationTime,
        ids: [retrying._id],
        retry: [{ id: retrying._id, creationTime: retrying._creationTime }],
      }),
    );
    await t.mutation(components.analytics.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await docs(t, "batches")).map((b) => b.batchId)).toEqual(["retrying", "queued"]);

    expect(await kick(t)).toEqual({ sites: 1, compaction: false });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await batches(t)).queued).toEqual([]);
    // The first batch was marked processed without running, so only the other two count.
    expect((await overview(t, siteId)).pageviews).toBe(2);
  });
});

describe("dead letters", () => {
  test("a batch that makes the worker throw is dead-lettered after 3 attempts with its error, and its site's other batches are counted", async () => {
    const { t, siteId, writeKey } = await setup();
    // Passes the schema but not normalizeEvent: a track event needs a name.
    const { name: _, ...nameless } = { ...pageview("p1", "p"), type: "track" as const, name: "x" };
    await queue(t, siteId, "poison", [nameless]);
    await queue(t, siteId, "good-1", [pageview("g1", "first")]);
    await queue(t, siteId, "good-2", [
      pageview("g2", "second", "/two"),
      pageview("g3", "second", "/three"),
    ]);

    expect(await kick(t)).toEqual({ sites: 1, compaction: false });
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
    const afterFirstRun = (await batches(t)).queued.map((b) => [
      b.batchId,
      b.attempts,
      typeof b.lastError,
    ]);
    expect(afterFirstRun).toEqual([["poison", 1, "string"]]);
    const error = (await batches(t)).queued[0]!.lastError!;
    expect((await overview(t, siteId)).pageviews).toBe(3);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await batches(t)).queued.length).toBe(0);
    expect(await t.query(api.analytics.listDeadLetters, { siteId })).toEqual([
      {
        _id: expect.any(String),
        _creationTime: expect.any(Number),
        siteId,
        batchId: "poison",
        events: 1,
        attempts: 3,
        error,
      },
    ]);
    // The dead letter moved out of the raw events; nothing else was rewritten.
    expect((await docs(t, "batches")).map((b) => [b.batchId, b.attempts])).toEqual([
      ["good-1", undefined],
      ["good-2", undefined],
    ]);
    const o = await overview(t, siteId);
    expect([o.pageviews, o.sessions, o.visitors]).toEqual([3, 2, 2]);
    // The loop went idle: nothing more is scheduled for the site.
    expect((await docs(t, "siteLoops")).map((l) => l.scheduled)).not.toContain(true);

    // A dead-lettered batch id is still a duplicate if the browser resends it.
    const resend = await t.fetch("/analytics/ingest", {
      method: "POST",
      body: JSON.stringify({ key: writeKey, batchId: "poison", events: [pageview("p1", "p")] }),
    });
    expect(await resend.json()).toEqual({ accepted: 0, duplicate: true, rejected: [] });
  });

  test("a batch whose rollup deltas are over the per-batch byte budget is dead-lettered at once, without a retry", async () => {
    const { t, siteId } = await setup();
    // 1,200 distinct props of 280 characters: over 256 KiB of prop rows, however rows are encoded.
    const props = Object.fromEntries(
      Array.from({ length: 1200 }, (_, i) => [`k${i}`, `${i}:`.padEnd(280, "x")]),
    );
    await queue(t, siteId, "huge", [{ ...pageview("h1", "h"), props }]);
    await queue(t, siteId, "small", [pageview("s1", "s")]);
    await kick(t);
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
    const [letter, ...more] = await docs(t, "deadLetters");
    expect(more).toEqual([]);
    expect([letter!.batchId, letter!.attempts]).toEqual(["huge", 0]);
    expect(letter!.error).toMatch(new RegExp(`over the ${MAX_BATCH_DELTA_BYTES}-byte budget`));
    expect((await batches(t)).queued.length).toBe(0);
    expect((await docs(t, "batches")).map((b) => b.batchId)).toEqual(["small"]);
    expect((await overview(t, siteId)).pageviews).toBe(1);
  });
});
