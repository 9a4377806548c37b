// Fault injection into compaction and the action runners (invariant I1 under failure):
// a compaction step throws mid-fold, after each kind of write it makes (the deltas it
// took, an hour's, day's or month's canonical page, the hourly-totals BTree, the staged
// rows a fold moves); the compaction action and an export's step die between the
// mutations they run. The kick cron restarts them, and every report (and the export's
// file) equals the oracle: nothing lost, nothing doubled. Faults: faults.testlib.ts.
import { describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { EXPORT_LEASE_MS, MAX_EXPORT_ATTEMPTS } from "./exports.js";
import {
  expectedEventRows,
  fileText,
  parseCsv,
  runExport,
  storeEvents,
} from "./exports.testlib.js";
import { injectFault, injectRunnerFault, type FaultPoint } from "./faults.testlib.js";
import {
  expectExactlyOnce,
  faultStream,
  ingestAll,
  recover,
  useFaultTestSetup,
} from "./faultRecovery.testlib.js";
import { stage } from "./folding.js";
import { createSite, drainAll } from "./oracle.harness.testlib.js";
import { STREAM_FROM, STREAM_TO } from "./oracle.streams.testlib.js";
import { decodeRows } from "./rowCodec.js";
import { DimensionRows } from "./rows.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR } from "./time.js";

useFaultTestSetup();

const stream = faultStream();
const step = "compaction:compactStep";
const page = (interval: string) => (doc: Record<string, unknown>) => doc.interval === interval;

/** The stream drained by its worker loop, nothing compacted yet, the clock past its last hour. */
async function drained() {
  vi.setSystemTime(STREAM_FROM - DAY);
  const t = initConvexTest();
  const siteId = await createSite(t, stream.timezone);
  await ingestAll(t, siteId, stream.batches);
  await drainAll(t, siteId);
  vi.setSystemTime(STREAM_TO + 2 * HOUR);
  return { t, siteId };
}

/**
 * Moves every closed hour's deltas to staging, unfolded, as an explode step does with what
 * its byte budget has no room to fold (folding.ts): from here every compaction step is a fold.
 */
async function stageEverything(t: Awaited<ReturnType<typeof drained>>["t"]) {
  await t.run(async (ctx) => {
    const docs = await ctx.db
      .query("rollupDeltas")
      .withIndex("by_age", (q) => q.eq("interval", "hour"))
      .collect();
    const byHour = new Map<string, { siteId: Id<"sites">; hour: number; rows: DimensionRows }>();
    for (const doc of docs) {
      const key = `${doc.siteId}|${doc.bucketStart}`;
      if (!byHour.has(key))
        byHour.set(key, { siteId: doc.siteId, hour: doc.bucketStart, rows: new DimensionRows() });
      byHour.get(key)!.rows.addDeltaRows(decodeRows(doc.rows));
      await ctx.db.delete("rollupDeltas", doc._id);
    }
    for (const { siteId, hour, rows } of byHour.values())
      for (const [dimension, map] of rows.byDimension)
        await stage(
          ctx,
          { siteId, generation: 0 },
          { hour, rows: map.values(), folded: undefined },
          dimension,
        );
  });
}

const EXPLODE_FAULTS: [string, FaultPoint][] = [
  [
    "after taking an hour's deltas",
    { fn: step, op: "delete", table: "rollupDeltas", when: "after" },
  ],
  [
    "after an hour's canonical page",
    { fn: step, op: "insert", table: "rollups", where: page("hour"), when: "after" },
  ],
  [
    "after a day's canonical page",
    { fn: step, op: "insert", table: "rollups", where: page("day"), nth: 3, when: "after" },
  ],
  [
    "after a month's canonical page",
    { fn: step, op: "insert", table: "rollups", where: page("month"), nth: 5, when: "after" },
  ],
  [
    "rewriting a month's page that holds earlier hours",
    { fn: step, op: "patch", table: "rollups", where: page("month"), when: "after" },
  ],
  ["after a write to the hourly-totals BTree", { fn: "hourlyTotals/", op: "write", when: "after" }],
];

const FOLD_FAULTS: [string, FaultPoint][] = [
  [
    "after a staged hour's canonical page",
    { fn: step, op: "insert", table: "rollups", where: page("hour"), when: "after" },
  ],
  [
    "after the staged rows that reached the month are deleted",
    { fn: step, op: "delete", table: "rollupStaging", nth: 2, when: "after" },
  ],
];

async function compactWithFault(
  t: Awaited<ReturnType<typeof drained>>["t"],
  siteId: string,
  point: FaultPoint,
) {
  const fault = injectFault(point, { times: 2 });
  try {
    await t.mutation(api.maintenance.kick, {});
    await recover(t, siteId);
    expect(fault.fired(), "the fault was reached").toBe(2);
  } finally {
    fault.remove();
  }
}

describe("compaction throws mid-fold", () => {
  test.each(EXPLODE_FAULTS)(
    "explode: %s, for 2 steps: the step rolls back, a later run redoes it, and every report equals the oracle",
    async (_where, point) => {
      const { t, siteId } = await drained();
      await compactWithFault(t, siteId, point);
      await expectExactlyOnce(t, siteId, stream.timezone, stream.batches);
    },
  );

  test.each(FOLD_FAULTS)(
    "fold: %s, for 2 steps: the step rolls back, a later run redoes it, and every report equals the oracle",
    async (_where, point) => {
      const { t, siteId } = await drained();
      await stageEverything(t);
      await compactWithFault(t, siteId, point);
      await expectExactlyOnce(t, siteId, stream.timezone, stream.batches);
    },
  );
});

describe("an action runner is interrupted between mutations", () => {
  const compactCallees = ["compaction:claim", "compaction:compactStep", "compaction:peekWork"];
  test.each([
    ["right after it took the lock", 1],
    ["after its first step committed", 2],
    ["after its third step committed", 4],
  ] as const)(
    "compaction's compact action dies %s: the lock's lease runs out, the kick cron starts a new run, and every report equals the oracle",
    async (_when, after) => {
      const { t, siteId } = await drained();
      const fault = injectRunnerFault({
        action: "compaction:compact",
        callees: compactCallees,
        after,
      });
      try {
        await expect(t.action(internal.compaction.compact, {})).rejects.toThrow("injected fault");
        expect(fault.fired()).toBe(1);
      } finally {
        fault.remove();
      }
      // The dead run's lock holds until its lease runs out.
      expect(await t.mutation(api.maintenance.kick, {})).toMatchObject({ compaction: false });
      expect(await recover(t, siteId)).toBeGreaterThanOrEqual(1);
      await expectExactlyOnce(t, siteId, stream.timezone, stream.batches);
    },
  );

  const NOW = Date.parse("2026-03-10T12:00:00Z");
  const EXPORT_TEST_TIMEOUT_MS = 10 * 60_000;
  const exportCallees = [
    "exports:claimStep",
    "exports:readPage",
    "exports:recordChunk",
    "exports:completeExport",
    "exports:stepFailed",
  ];
  // A step claims the job, reads a page, stores it as a part, records it and schedules the
  // next step; the last step joins the parts. 10,000 events are two pages.
  test.each([
    ["after reading its page (the part it stored is never recorded)", 2],
    ["in its second step, after recording its part, before scheduling the next", 7],
    ["in its last step, after claiming it", 9],
  ] as const)(
    "an export step dies %s: the kick cron restarts it and the file holds every event once",
    async (_when, after) => {
      vi.setSystemTime(NOW);
      const t = initConvexTest();
      const { siteId } = await t.mutation(api.sites.createSite, { slug: "s", name: "S" });
      await storeEvents(t, siteId, 10_000);
      const range = { from: NOW - 2 * HOUR, to: NOW + HOUR };
      const { exportId } = await t.mutation(api.exports.startExport, {
        siteId,
        kind: "events",
        ...range,
      });
      const fault = injectRunnerFault({
        action: "exports:exportStep",
        callees: exportCallees,
        after,
      });
      try {
        await t.finishAllScheduledFunctions(vi.runAllTimers);
        expect(fault.fired()).toBe(1);
      } finally {
        fault.remove();
      }
      const status = async () =>
        (await t.query(api.exports.getExport, { siteId, exportId })).status;
      expect(await status()).toBe("running");
      // The kick cron restarts the step once its lease ran out; the steps run as scheduled
      // (one by one here, so the finished file's expiry, a day later, does not run).
      for (let kicks = 1; (await status()) === "running"; kicks++) {
        expect(kicks).toBeLessThanOrEqual(MAX_EXPORT_ATTEMPTS);
        vi.setSystemTime(Date.now() + EXPORT_LEASE_MS + 1);
        await t.mutation(api.maintenance.kick, {});
        await runExport(t, siteId, exportId);
      }
      const done = await t.query(api.exports.getExport, { siteId, exportId });
      expect(done).toMatchObject({ status: "done", rowsWritten: 10_000, error: null });
      const [, ...rows] = parseCsv(await fileText(t, siteId, exportId));
      expect(rows).toEqual(await expectedEventRows(t, range.from, range.to));
    },
    // 10,000 events exported twice over: minutes on a loaded machine.
    EXPORT_TEST_TIMEOUT_MS,
  );
});
