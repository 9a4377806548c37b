// invariant I9, conflict-free by design: over generated interleavings of browser
// requests, worker runs and compaction, record every transaction's read and
// write sets (readWriteSets.testlib.ts) and check Convex's OCC rule on every
// pair that could run at the same time. No ingest may write into what a
// concurrent worker run or compaction step read, and no worker run may write
// what a concurrent ingest read, except the one hand-off the component README
// describes (a loop that found nothing settled, going idle).
import fc from "fast-check";
import { describe, expect, test, vi } from "vitest";
import { initApp, useFixedClock, type App } from "./app.setup.js";
import { api, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import componentSchema from "../src/component/schema.js";
import { SETTLE_MS } from "../src/component/ingest.js";
import {
  findConflicts,
  recordReadWriteSets,
  type Conflict,
  type RangeRead,
  type Transaction,
} from "../src/component/readWriteSets.testlib.js";

const NOW = Date.parse("2026-03-10T12:00:00Z");
/** A Convex mutation runs for at most this long: transactions further apart never overlap. */
const MAX_MUTATION_MS = 1_000;
const SCHEMAS = { "": schema, analytics: componentSchema };

useFixedClock(NOW);

type Op =
  | { op: "ingest"; site: number; visitor: number; events: number }
  | { op: "wait"; ms: number }
  | { op: "kick" };
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("ingest" as const),
      site: fc.nat({ max: 1 }),
      visitor: fc.nat({ max: 5 }),
      events: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("wait" as const),
      ms: fc.integer({ min: 50, max: 8_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("kick" as const) }) },
);

const isIngest = (tx: Transaction) => tx.label.endsWith("admission:ingestRequest");
const isWorker = (tx: Transaction) => tx.label.endsWith("worker:drainSite");
const isCompaction = (tx: Transaction) => tx.label.includes("compaction:");

/** The time an ingest ran: the creation time of the batch it queued (null if it queued none). */
function ingestTime(tx: Transaction): number | null {
  const insert = tx.writes.find((w) => w.table === "batches" && w.op === "insert");
  return insert ? (insert.after!._creationTime as number) : null;
}

/** The worker's settled-range read after its cursor, bounded above by `_creationTime < now - SETTLE_MS`. */
const settledRead = (tx: Transaction) =>
  tx.reads.find(
    (r): r is RangeRead =>
      r.kind === "range" &&
      r.table === "batches" &&
      r.bounds.some((b) => b.op === "lt" && b.field === "_creationTime"),
  );

/**
 * The hand-off to idle, read only by a run that processed nothing: the batches not settled
 * yet (`_creationTime >= now - SETTLE_MS`, no upper bound), and the loop flag.
 */
const isHandOff = (r: RangeRead) =>
  (r.table === "batches" &&
    r.bounds.some((b) => b.op === "gte" && b.field === "_creationTime") &&
    !r.bounds.some((b) => b.op === "lt")) ||
  r.table === "siteLoops";

async function play(t: App, ops: Op[]) {
  const sites = [
    await t.mutation(api.analytics.createSite, { slug: "a", name: "A" }),
    await t.mutation(api.analytics.createSite, { slug: "b", name: "B" }),
  ];
  let n = 0;
  for (const op of ops) {
    if (op.op === "ingest") {
      const events = Array.from({ length: op.events }, (_, i) => ({
        id: `e${n}-${i}`,
        type: i % 3 === 2 ? "track" : "pageview",
        name: "click",
        occurredAt: Date.now() - 500,
        url: `https://ex.com/p${(n + i) % 4}`,
        visitorId: `v${op.visitor}`,
      }));
      const res = await t
        .withRequestMetadata({
          ip: `198.51.100.${op.visitor}`,
          userAgent: "Mozilla/5.0 Firefox/126.0",
        })
        .fetch("/analytics/ingest", {
          method: "POST",
          body: JSON.stringify({ key: sites[op.site]!.writeKey, batchId: `b${n++}`, events }),
        });
      expect(res.status).toBe(202);
    } else if (op.op === "wait") {
      vi.advanceTimersByTime(op.ms);
      await t.finishInProgressScheduledFunctions();
    } else {
      vi.advanceTimersByTime(2 * 3_600_000);
      await t.mutation(internal.analytics.kick, {});
      await t.finishAllScheduledFunctions(vi.runAllTimers);
    }
  }
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

describe("conflict-free by design", () => {
  test("no ingest writes into a range that a worker run or compaction step running at the same time read, and no worker run writes what such an ingest read, except a loop's hand-off to idle", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 10, maxLength: 40 }), async (ops) => {
        vi.setSystemTime(NOW);
        vi.clearAllTimers();
        const t = initApp();
        const recorder = recordReadWriteSets({ schemas: SCHEMAS });
        try {
          await play(t, ops);
        } finally {
          recorder.stop();
        }
        const txs = recorder.transactions.filter((tx) => tx.committed);
        const ingests = txs
          .filter(isIngest)
          .flatMap((tx) => (ingestTime(tx) === null ? [] : [{ tx, at: ingestTime(tx)! }]));
        expect(ingests.length).toBe(ops.filter((o) => o.op === "ingest").length);
        let handOffs = 0;
        for (const worker of txs.filter(isWorker)) {
          const settled = settledRead(worker)!;
          expect(settled, "every run reads the settled range").toBeDefined();
          const startedAt =
            (settled.bounds.find((b) => b.op === "lt")!.value as number) + SETTLE_MS;
          // A hand-off is made only by a run that found nothing to process.
          const reads = worker.reads.filter((r) => !(r.kind === "range" && isHandOff(r)));
          if (reads.length < worker.reads.length) {
            handOffs++;
            expect(worker.writes.filter((w) => w.table === "siteCursors")).toEqual([]);
          }
          // The hand-off's one write is the loop flag going idle.
          const withoutHandOff = {
            ...worker,
            reads,
            writes: worker.writes.filter((w) => w.table !== "siteLoops"),
          };
          const describe = (c: Conflict) =>
            `${c.read.table} ${c.read.kind === "range" ? JSON.stringify(c.read.bounds) : ""} <- ${c.write.op}`;
          for (const { tx, at } of ingests) {
            if (Math.abs(at - startedAt) >= MAX_MUTATION_MS) continue;
            const where = `${worker.label} at ${startedAt} vs ingest at ${at}`;
            expect(findConflicts(withoutHandOff, tx, SCHEMAS).map(describe), where).toEqual([]);
            // The other way round: ingest reads nothing the worker writes (its cursor is a document of its own).
            expect(findConflicts(tx, withoutHandOff, SCHEMAS).map(describe), where).toEqual([]);
          }
        }
        // Compaction reads only what ingest never writes, whenever they run.
        for (const step of txs.filter(isCompaction)) {
          for (const { tx } of ingests) expect(findConflicts(step, tx, SCHEMAS)).toEqual([]);
        }
        return handOffs >= 0;
      }),
      {
        seed: 20261202,
        numRuns: 8,
        // Always tried: an ingest half a second before the worker run it woke, the closest call.
        examples: [
          [
            [
              { op: "ingest", site: 0, visitor: 0, events: 2 },
              { op: "wait", ms: 4_500 },
              { op: "ingest", site: 0, visitor: 1, events: 1 },
              { op: "wait", ms: 600 },
              { op: "ingest", site: 0, visitor: 0, events: 1 },
              { op: "wait", ms: 8_000 },
              { op: "wait", ms: 8_000 },
              { op: "ingest", site: 1, visitor: 2, events: 3 },
              { op: "wait", ms: 5_000 },
              { op: "wait", ms: 8_000 },
            ],
          ],
        ],
      },
    );
  }, 600_000);
});
