// A goal created after data exists is backfilled from the raw events, bounded
// and resumable: over several steps, each inside its budget, it equals the
// oracle; a step that throws (or does its work and crashes) commits nothing, the
// kick cron restarts the dead chain, and nothing is counted twice; events that
// arrive while it runs are counted once, by the worker. Also: the admin
// functions' refusals, rebuilds and goals excluding each other, and a rebuild
// counting goals the same way.
import { describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { STREAM_FROM, STREAM_TO, type Batch } from "./oracle.streams.testlib.js";
import type { AnalyticsEvent } from "../shared.js";
import { storedPropertyName } from "./events.js";
import {
  compactAll,
  createSite,
  drainAll,
  ingest,
  settle,
  type T,
} from "./oracle.harness.testlib.js";
import { useFaultTestSetup } from "./faultRecovery.testlib.js";
import { injectFault } from "./faults.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR, MINUTE } from "./time.js";
import { finishRebuild } from "./rebuilds.testlib.js";
import { convexTest } from "convex-test";
import { indexEveryDatabase } from "../../dev/indexedStore.js";

// Stock convex-test scans a whole table on every query; the project's indexed store answers the
// same (dev/indexedStore.test.ts), so hundreds of batches and backfill steps take seconds.
await indexEveryDatabase(convexTest);
import { BACKFILL_LEASE_MS, MAX_BACKFILL_RESTARTS, backfillStepHandler } from "./goalBackfills.js";
import { MAX_GOALS_PER_SITE } from "./goalMath.js";
import { createGoals, expectGoalsMatch, type GoalDef } from "./goals.testlib.js";

useFaultTestSetup();

const TZ = "America/New_York";
/**
 * A batch an hour for 260 hours, each a pageview (and every third a download with
 * seats), from 37 visitors: more hour buckets than two steps write
 * (BACKFILL_STEP_BUCKETS), in creation order as in time.
 */
const BATCHES: Batch[] = Array.from({ length: 260 }, (_, i) => {
  const at = STREAM_FROM + i * HOUR + (i % 7) * MINUTE;
  const visitorId = `v${i % 37}`;
  const url = `https://example.com${i % 2 ? "/docs/guide" : "/blog/post"}`;
  const events: AnalyticsEvent[] = [
    { id: `p${i}`, type: "pageview", occurredAt: at, url, visitorId },
  ];
  if (i % 3 === 0)
    events.push({
      ...{ id: `d${i}`, type: "track", name: "download", occurredAt: at + 1_000, url, visitorId },
      props: { seats: (i % 4) + 1 },
    });
  return { batchId: `b${i}`, events };
});
const GOALS: GoalDef[] = [
  { name: "Any page", match: { path: "/**" } },
  { name: "Seats", match: { event: "download" }, revenue: { property: "seats", currency: "EUR" } },
];

async function backfills(t: T): Promise<Doc<"goalBackfills">[]> {
  return await t.run(async (ctx) => await ctx.db.query("goalBackfills").collect());
}

/** One step of a backfill as its chain runs it; returns its transaction metrics. */
async function step(t: T, backfill: Doc<"goalBackfills">) {
  return await t.run(async (ctx) => {
    await backfillStepHandler(ctx as unknown as MutationCtx, {
      backfillId: backfill._id,
      chainId: backfill.chainId,
    });
    return await ctx.meta.getTransactionMetrics();
  });
}

/** A site whose worker has counted (and compaction folded) the first `sent` batches. */
async function siteWithData(sent: number) {
  vi.setSystemTime(STREAM_FROM - DAY);
  const t = initConvexTest();
  const siteId = await createSite(t, TZ);
  for (const b of BATCHES.slice(0, sent)) await ingest(t, siteId, b);
  await drainAll(t, siteId);
  await compactAll(t);
  return { t, siteId };
}

/** Rounds of scheduled work and kicks (the clock past the lease each time) until no backfill runs. */
async function recover(t: T, maxKicks = MAX_BACKFILL_RESTARTS + 2): Promise<number> {
  for (let kicks = 0; kicks <= maxKicks; kicks++) {
    await settle(t);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    if (!(await backfills(t)).some((b) => b.status === "running")) return kicks;
    vi.setSystemTime(Date.now() + BACKFILL_LEASE_MS + 1);
    await t.mutation(api.maintenance.kick, {});
  }
  throw new Error(`a backfill still runs after ${maxKicks} kicks`);
}

const whole = { from: STREAM_FROM, to: STREAM_TO };

describe("goal backfills", () => {
  test("a goal created after the data is backfilled over several bounded steps and then equals the oracle, compacted or not", async () => {
    const { t, siteId } = await siteWithData(BATCHES.length);
    const goals = await createGoals(t, siteId, GOALS);
    const before = await t.query(api.goals.getGoals, { siteId, ...whole });
    expect(before.goals.map((g) => [g.backfilling, g.conversions])).toEqual([
      [true, 0],
      [true, 0],
    ]);
    let steps = 0;
    let waits = 0;
    const progressed = new Map<string, number>();
    for (let running = await backfills(t); running.some((b) => b.status === "running");) {
      for (const b of running.filter((x) => x.status === "running")) {
        const m = await step(t, b);
        steps++;
        // A step that waited for compaction moved nothing: fold what is there, as the cron does.
        const [after] = (await backfills(t)).filter((x) => x._id === b._id);
        if (after!.batches === b.batches && after!.status === "running") {
          waits++;
          await compactAll(t);
        } else progressed.set(b.goalId, (progressed.get(b.goalId) ?? 0) + 1);
        // A quarter of Convex's limits, at most.
        expect(Math.max(m.bytesRead.used, m.bytesWritten.used)).toBeLessThan(4 * 1024 * 1024);
        expect(Math.max(m.documentsRead.used, m.documentsWritten.used)).toBeLessThan(4_000);
      }
      running = await backfills(t);
    }
    // The pageview goal converts in every hour: more buckets than one step writes.
    expect(progressed.get(goals[0]!.goalId)).toBeGreaterThanOrEqual(2);
    expect(steps - waits).toBe([...progressed.values()].reduce((a, b) => a + b, 0));
    // Steps waited for compaction to fold the deltas the steps before them wrote.
    expect(waits).toBeGreaterThan(0);
    expect((await backfills(t)).map((b) => b.batches)).toEqual(GOALS.map(() => BATCHES.length));
    const report = await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "backfilled");
    expect(report.goals[0]!.conversions).toBeGreaterThan(100);
    expect(report.goals[1]!.revenue).toBeGreaterThan(0);
    await compactAll(t);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "compacted", "previous");
  });

  test("a step that throws mid-way commits nothing; the kick cron restarts the dead chain, events sent meanwhile are counted once, and the goal equals the oracle", async () => {
    const half = BATCHES.length - 50;
    const { t, siteId } = await siteWithData(half);
    const goals = await createGoals(t, siteId, [GOALS[0]!]);
    const [created] = await backfills(t);
    await step(t, created!);
    const [first] = await backfills(t);
    expect(first!.batches).toBeGreaterThan(0);
    expect(first!.batches).toBeLessThan(half);
    // The next steps (the one scheduled at creation and the one the first step scheduled, same
    // chain) die after their first delta write: the chain is dead, nothing of them is left.
    const fault = injectFault(
      { fn: "goalBackfills:step", op: "insert", table: "rollupDeltas", when: "after" },
      { times: 2 },
    );
    try {
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      expect(fault.fired()).toBe(2);
      expect(await backfills(t)).toEqual([first]);
      // The rest of the events arrive while the backfill is stalled, and the worker counts them.
      for (const b of BATCHES.slice(half)) await ingest(t, siteId, b);
      await drainAll(t, siteId);
      expect(await recover(t)).toBe(1);
    } finally {
      fault.remove();
    }
    expect((await backfills(t)).map((b) => [b.status, b.batches, b.restarts])).toEqual([
      ["done", half, 0],
    ]);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "recovered");
    await compactAll(t);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "compacted");
  });

  test("a step that does all its work and then crashes leaves nothing behind, and the next step counts each batch once", async () => {
    const { t, siteId } = await siteWithData(40);
    const goals = await createGoals(t, siteId, [GOALS[0]!]);
    const [backfill] = await backfills(t);
    const deltas = async () =>
      await t.run(async (ctx) => (await ctx.db.query("rollupDeltas").collect()).length);
    const count = await deltas();
    await expect(
      t.run(async (ctx) => {
        await backfillStepHandler(ctx as unknown as MutationCtx, {
          backfillId: backfill!._id,
          chainId: backfill!.chainId,
        });
        throw new Error("crash");
      }),
    ).rejects.toThrow("crash");
    expect(await deltas()).toBe(count);
    expect((await backfills(t))[0]).toEqual(backfill);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "after the crash");
  });

  test("a batch the worker was holding for a retry when the goal was created is counted once, by the worker, not the backfill", async () => {
    const { t, siteId } = await siteWithData(30);
    const held = BATCHES[30]!;
    const visitorId = held.events[0]!.visitorId;
    for (const b of BATCHES.slice(30, 40)) await ingest(t, siteId, b);
    const fault = injectFault(
      {
        fn: "worker:drainSite",
        op: "read",
        table: "sessions",
        where: (eq) => eq.visitorId === visitorId,
        when: "before",
      },
      { times: 1 },
    );
    try {
      await settle(t);
      await t.mutation(internal.worker.drainSite, { siteId: siteId as Id<"sites"> });
      expect(fault.fired()).toBe(1);
    } finally {
      fault.remove();
    }
    const goals = await createGoals(t, siteId, [GOALS[0]!]);
    const [backfill] = await backfills(t);
    expect(backfill!.boundary.retry).toHaveLength(1);
    await drainAll(t, siteId);
    await recover(t);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "retried batch");
  });

  test(`a backfill whose steps keep throwing fails after ${MAX_BACKFILL_RESTARTS} restarts with its reason, and the goal still counts new events live`, async () => {
    const { t, siteId } = await siteWithData(20);
    const fault = injectFault(
      { fn: "goalBackfills:step", op: "insert", table: "rollupDeltas", when: "before" },
      { times: Infinity },
    );
    try {
      await createGoals(t, siteId, [GOALS[0]!]);
      await recover(t);
    } finally {
      fault.remove();
    }
    const [info] = await t.query(api.goals.listGoals, { siteId });
    expect(info).toMatchObject({
      backfilling: false,
      backfillError: expect.stringContaining(`after ${MAX_BACKFILL_RESTARTS} restarts`),
    });
    const processedBefore = await t.query(api.goals.getGoals, { siteId, ...whole });
    expect(processedBefore.goals[0]!.conversions).toBe(0);
    for (const b of BATCHES.slice(20, 30)) await ingest(t, siteId, b);
    await drainAll(t, siteId);
    const after = await t.query(api.goals.getGoals, { siteId, ...whole });
    const sentPageviews = BATCHES.slice(20, 30)
      .flatMap((b) => b.events)
      .filter((e) => e.type === "pageview").length;
    expect(after.goals[0]!.conversions).toBe(sentPageviews);
  });

  test("a rebuild is refused while a backfill runs; goals are refused while a rebuild runs; a rebuild counts every goal over every raw event", async () => {
    const { t, siteId } = await siteWithData(60);
    const goals = await createGoals(t, siteId, GOALS);
    await expect(t.mutation(api.rebuilds.rebuildRollups, { siteId })).rejects.toThrow(
      "A goal's backfill is running",
    );
    await recover(t);
    const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
    await expect(
      t.mutation(api.goals.createGoal, { siteId, name: "Late", match: { event: "signup" } }),
    ).rejects.toThrow("A rollup rebuild is in progress");
    await finishRebuild(t, siteId, rebuildId);
    await compactAll(t);
    await expectGoalsMatch(t, siteId, goals, whole.from, whole.to, TZ, "rebuilt", "previous");
  });
});

describe("goal admin", () => {
  test("createGoal refuses malformed goals and more than the site's limit; deleteGoal removes only its own site's goal", async () => {
    vi.setSystemTime(Date.parse("2026-11-10T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const create = (args: Omit<GoalDef, "name"> & { name?: string }) =>
      t.mutation(api.goals.createGoal, { siteId, name: "G", ...args });
    await expect(create({ match: { path: "blog" } })).rejects.toThrow('must start with "/"');
    await expect(create({ match: { path: "/blog/a*" } })).rejects.toThrow("whole segment");
    await expect(create({ match: { event: "" } })).rejects.toThrow("event name");
    await expect(create({ match: { event: "pageview" } })).rejects.toThrow("matches a path");
    await expect(create({ name: " ", match: { event: "x" } })).rejects.toThrow("name");
    await expect(
      create({ match: { path: "/" }, revenue: { property: "amount", currency: "EUR" } }),
    ).rejects.toThrow("a path goal has none");
    await expect(
      create({ match: { event: "buy" }, revenue: { property: "amount", currency: "" } }),
    ).rejects.toThrow("currency");
    const ids: string[] = [];
    for (let i = 0; i < MAX_GOALS_PER_SITE; i++)
      ids.push((await create({ name: `G${i}`, match: { event: `e${i}` } })).goalId);
    await expect(create({ match: { event: "one-more" } })).rejects.toThrow(
      `at most ${MAX_GOALS_PER_SITE} goals`,
    );
    const { siteId: other } = await t.mutation(api.sites.createSite, { slug: "o", name: "O" });
    expect(await t.mutation(api.goals.deleteGoal, { siteId: other, goalId: ids[0]! })).toBe(false);
    expect(await t.mutation(api.goals.deleteGoal, { siteId, goalId: ids[0]! })).toBe(true);
    expect(await t.mutation(api.goals.deleteGoal, { siteId, goalId: ids[0]! })).toBe(false);
    expect(await t.mutation(api.goals.deleteGoal, { siteId, goalId: "nonsense" })).toBe(false);
    const listed = await t.query(api.goals.listGoals, { siteId });
    expect(listed.map((g) => g.goalId)).toEqual(ids.slice(1));
    // Props are kept sorted, so equal goals read the same.
    const { goalId } = await t.mutation(api.goals.createGoal, {
      siteId: other,
      name: "Pro",
      match: { event: "signup", props: { b: 1, a: "x" } },
    });
    const [pro] = await t.query(api.goals.listGoals, { siteId: other });
    expect(pro).toMatchObject({ goalId, backfilling: false, backfillError: null });
    expect(Object.keys((pro!.match as { props: object }).props)).toEqual(["a", "b"]);
  });

  test("revenue sums numbers and decimal strings to the thousandth, and prop names the client began with _ or $ match as sent", async () => {
    vi.setSystemTime(Date.parse("2026-11-10T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    await createGoals(t, siteId, [
      {
        name: "Purchase",
        match: { event: "purchase", props: { _plan: "pro" } },
        revenue: { property: "$amount", currency: "USD" },
      },
    ]);
    const now = Date.now();
    const purchase = (id: string, amount: string | number | boolean) => ({
      id,
      type: "track" as const,
      name: "purchase",
      occurredAt: now - 60_000,
      url: "https://example.com/checkout",
      visitorId: "buyer",
      props: { [storedPropertyName("_plan")]: "pro", [storedPropertyName("$amount")]: amount },
    });
    await ingest(t, siteId, {
      batchId: "b1",
      events: [
        purchase("p1", 10.125),
        purchase("p2", "4.5"),
        purchase("p3", "lots"),
        purchase("p4", true),
        {
          ...purchase("p5", 99),
          props: { [storedPropertyName("_plan")]: "free", [storedPropertyName("$amount")]: 99 },
        },
      ],
    });
    await drainAll(t, siteId);
    const report = await t.query(api.goals.getGoals, { siteId, from: now - DAY, to: now + DAY });
    expect(report.goals).toEqual([
      expect.objectContaining({
        conversions: 4,
        converters: 1,
        conversionRate: 1,
        revenue: 14.625,
        currency: "USD",
      }),
    ]);
  });
});
