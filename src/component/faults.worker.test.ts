// Fault injection into the worker loop (invariant I1 under failure): a run of
// worker.drainSite throws at every stage of its work, before or after the call there,
// for its first runs; the loop, restarted by the kick cron, then counts every event
// exactly once, and every report equals the brute-force oracle. A batch that throws
// on every attempt ends in the dead letters with its error, and the rest is counted.
// The faults come from faults.testlib.ts (syscall hooks, nothing in the product).
// maintenance.test.ts has the poison batch that fails validation in the worker.
import { describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import { injectFault, type FaultPoint } from "./faults.testlib.js";
import {
  expectExactlyOnce,
  faultStream,
  ingestAll,
  recover,
  useFaultTestSetup,
} from "./faultRecovery.testlib.js";
import { createSite } from "./oracle.harness.testlib.js";
import { STREAM_FROM } from "./oracle.streams.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY } from "./time.js";
import { MAX_ATTEMPTS } from "./worker.js";

useFaultTestSetup();

const stream = faultStream();
const drain = "worker:drainSite";

/** Every stage of a run, in the order a run reaches them. */
const STAGES: [string, FaultPoint][] = [
  ["reading the queue", { fn: drain, op: "read", table: "batches", nth: 1, when: "before" }],
  ["after reading batches", { fn: drain, op: "read", table: "batches", nth: 3, when: "after" }],
  [
    "reading a visitor's session (inside one batch: it is retried, the others go on)",
    { fn: drain, op: "read", table: "sessions", nth: 1, when: "before" },
  ],
  ["writing the first session", { fn: drain, op: "insert", table: "sessions", when: "before" }],
  ["after the sessions", { fn: drain, op: "insert", table: "sessions", nth: 4, when: "after" }],
  ["the first delta write", { fn: drain, op: "insert", table: "rollupDeltas", when: "before" }],
  ["after the 1st delta write", { fn: drain, op: "insert", table: "rollupDeltas", when: "after" }],
  [
    "after the 2nd delta write",
    { fn: drain, op: "insert", table: "rollupDeltas", nth: 2, when: "after" },
  ],
  [
    "after the 5th delta write",
    { fn: drain, op: "insert", table: "rollupDeltas", nth: 5, when: "after" },
  ],
  ["before the cursor write", { fn: drain, op: "write", table: "siteCursors", when: "before" }],
  ["after the cursor write", { fn: drain, op: "write", table: "siteCursors", when: "after" }],
  ["scheduling the next run", { fn: drain, op: "schedule", when: "after" }],
];

describe("the worker throws at every stage", () => {
  test.each(STAGES)(
    "%s, for its first 2 runs: after the kick cron's restarts every event is counted once and every report equals the oracle",
    async (_stage, point) => {
      vi.setSystemTime(STREAM_FROM - DAY);
      const t = initConvexTest();
      const siteId = await createSite(t, stream.timezone);
      const fault = injectFault(point, { times: 2 });
      try {
        await ingestAll(t, siteId, stream.batches);
        const kicks = await recover(t, siteId);
        expect(fault.fired(), "the fault was reached").toBe(2);
        expect(kicks).toBeLessThanOrEqual(3);
      } finally {
        fault.remove();
      }
      await expectExactlyOnce(t, siteId, stream.timezone, stream.batches);
      expect(await t.query(api.sites.listDeadLetters, { siteId })).toEqual([]);
    },
  );

  test("the hand-off to idle throws: the loop stays marked scheduled with no run, and the kick cron restarts it once a new batch waits", async () => {
    vi.setSystemTime(STREAM_FROM - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, stream.timezone);
    const [late, ...batches] = [...stream.batches].reverse();
    const fault = injectFault({ fn: drain, op: "patch", table: "siteLoops", when: "before" });
    try {
      await ingestAll(t, siteId, batches.reverse());
      await recover(t, siteId);
      expect(fault.fired()).toBe(1);
    } finally {
      fault.remove();
    }
    const loopState = async () =>
      (await t.run(async (ctx) => await ctx.db.query("siteLoops").collect())).map(
        (l) => l.scheduled,
      );
    // Nothing was left uncounted by the failed run: it had taken nothing.
    expect(await loopState()).toEqual([true]);
    // Ingest sees the loop as scheduled and does not wake it; the kick cron does.
    await ingestAll(t, siteId, [late!]);
    expect(await recover(t, siteId)).toBe(1);
    expect(await loopState()).toEqual([false]);
    await expectExactlyOnce(t, siteId, stream.timezone, stream.batches);
  });
});

describe("poison batches", () => {
  test(`a batch that throws on every attempt is dead-lettered after ${MAX_ATTEMPTS} attempts with its error; every other event is counted once`, async () => {
    vi.setSystemTime(STREAM_FROM - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, stream.timezone);
    const poison = stream.batches[5]!;
    const visitorId = poison.events[0]!.visitorId;
    // The poison's visitor's other batches are poisoned too: every batch of that visitor.
    const poisoned = new Set(
      stream.batches
        .filter((b) => b.events.some((e) => e.visitorId === visitorId))
        .map((b) => b.batchId),
    );
    const fault = injectFault(
      {
        fn: drain,
        op: "read",
        table: "sessions",
        where: (eq) => eq.visitorId === visitorId,
        nth: "every",
        when: "before",
      },
      { times: Infinity },
    );
    try {
      await ingestAll(t, siteId, stream.batches);
      await recover(t, siteId);
      expect(fault.fired()).toBe(MAX_ATTEMPTS * poisoned.size);
    } finally {
      fault.remove();
    }
    const letters = await t.query(api.sites.listDeadLetters, { siteId });
    expect(letters.map((l) => l.batchId).sort()).toEqual([...poisoned].sort());
    for (const letter of letters)
      expect(letter).toMatchObject({
        attempts: MAX_ATTEMPTS,
        error: expect.stringContaining("injected fault"),
        events: stream.batches.find((b) => b.batchId === letter.batchId)!.events.length,
      });
    await expectExactlyOnce(t, siteId, stream.timezone, stream.batches, poisoned);
  });
});
