// invariant I1 (exactly once) and I6 (right numbers) as properties: random event
// streams, random batch splits and interleavings, duplicate resends, crashed
// workers and compaction at random points must leave every report equal to a
// brute-force oracle over the raw event list (oracle.testlib.ts). The harness
// that drives the product is oracle.harness.testlib.ts; unique visitors on dense
// days are in oracleDenseVisitors.test.ts.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import { type Granularity } from "../shared.js";
import { TZ, arbScenario, type Batch } from "./oracle.streams.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  createSite,
  ingest,
  runScenario,
  settle,
} from "./oracle.harness.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { HOUR, bucketStart, nextBucket } from "./time.js";
import type { Id } from "./_generated/dataModel.js";
import { drainSiteHandler } from "./worker.js";
import { batchesByState } from "./batches.testlib.js";

/** ORACLE_RUNS explores further (e.g. ORACLE_RUNS=50 npx vitest run src/component/oracle.test.ts); ORACLE_SEED picks the seed. */
const RUNS = Number(process.env.ORACLE_RUNS ?? 6);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- tests

describe("oracle", () => {
  test("a worker run that throws inside t.run is rolled back completely: no move of its cursor, no session, delta or schedule survives", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T12:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t);
    const now = Date.now();
    const batch = (n: number): Batch => ({
      batchId: `b${n}`,
      events: [
        {
          id: `e${n}a`,
          type: "pageview",
          occurredAt: now - 60_000 + n,
          url: "https://example.com/",
          visitorId: "v1",
        },
        {
          id: `e${n}b`,
          type: "track",
          name: "signup",
          occurredAt: now - 30_000 + n,
          url: "https://example.com/",
          visitorId: "v1",
        },
      ],
    });
    await ingest(t, siteId, batch(1));
    await ingest(t, siteId, batch(2));
    const snapshot = () =>
      t.run(async (ctx) => ({
        pending: (await batchesByState(ctx)).queued.map((b) => b.batchId),
        raw: (await batchesByState(ctx)).processed.length,
        sessions: (await ctx.db.query("sessions").collect()).length,
        deltas: (await ctx.db.query("rollupDeltas").collect()).length,
        scheduled: (await ctx.db.system.query("_scheduled_functions").collect()).length,
      }));
    const before = await snapshot();
    expect(before).toMatchObject({ pending: ["b1", "b2"], raw: 0, sessions: 0, deltas: 0 });
    await settle(t);

    let inside: Awaited<ReturnType<typeof snapshot>> | null = null;
    await expect(
      t.run(async (ctx) => {
        await drainSiteHandler(ctx as unknown as MutationCtx, { siteId: siteId as Id<"sites"> });
        inside = {
          pending: (await batchesByState(ctx)).queued.map((b) => b.batchId),
          raw: (await batchesByState(ctx)).processed.length,
          sessions: (await ctx.db.query("sessions").collect()).length,
          deltas: (await ctx.db.query("rollupDeltas").collect()).length,
          scheduled: (await ctx.db.system.query("_scheduled_functions").collect()).length,
        };
        throw new Error("crash");
      }),
    ).rejects.toThrow("crash");
    // The crashed run really did its work (an hour's deltas and its minutes, and its next run) before throwing...
    expect(inside).toEqual({
      pending: [],
      raw: 2,
      sessions: 1,
      deltas: 2,
      scheduled: before.scheduled + 1,
    });
    // ...and none of it survived.
    expect(await snapshot()).toEqual(before);

    // Running the loop that ingest scheduled counts each event once.
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await snapshot()).toMatchObject({ pending: [], raw: 2, sessions: 1, deltas: 2 });
    const overview = await t.query(api.reports.getOverview, {
      siteId,
      from: now - 2 * HOUR,
      to: now + HOUR,
    });
    expect(overview).toMatchObject({ events: 4, pageviews: 2, sessions: 1, visitors: 1 });
  });

  test("day, week and month buckets step exactly one local calendar unit in every timezone, month ends included", () => {
    // The oracle enumerates buckets with bucketStart/nextBucket, so it cannot catch a wrong calendar: this does.
    const zones = [
      "UTC",
      TZ,
      "Europe/Berlin",
      "America/Santiago",
      "Asia/Kolkata",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom<Granularity>("day", "week", "month"),
        fc.integer({
          min: Date.parse("2024-01-01T00:00:00Z"),
          max: Date.parse("2028-12-31T00:00:00Z"),
        }),
        (zone, granularity, t) => {
          const b = bucketStart(granularity, t, zone);
          const next = nextBucket(granularity, b, zone);
          expect(b).toBeLessThanOrEqual(t);
          expect(next).toBeGreaterThan(t);
          expect(bucketStart(granularity, next, zone)).toBe(next);
          expect(bucketStart(granularity, next - 1, zone)).toBe(b);
        },
      ),
      { seed: SEED, numRuns: 500 },
    );
  });

  test(
    "every report equals the brute-force oracle however batches are split, interleaved, resent, crashed and compacted",
    async () => {
      await fc.assert(
        fc.asyncProperty(arbScenario, async (scenario) => {
          await runScenario(scenario);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
