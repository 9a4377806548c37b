// Cancelling a rebuild (cancelRebuild). A rebuild that cannot finish, such as a
// partial rebuild refused because a late batch counts in a month it keeps, fails
// again every time it is resumed, and it used to block every other rebuild of
// the site for good. Cancelled, it deletes its own generation in bounded steps
// while reports keep answering from the live one, unchanged, and another rebuild
// can then start and finish. Beside it: the refusals, and the kick cron
// resuming a cancel whose step chain died.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { api } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { STREAM_FROM, arbScenario, type Batch } from "./oracle.streams.testlib.js";
import {
  SEED,
  compactAll,
  createSite,
  drainAll,
  expectReportsMatch,
  ingest,
  processedEvents,
  type T,
} from "./oracle.harness.testlib.js";
import { buildModel } from "./oracle.testlib.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR } from "./time.js";
import { REBUILD_LEASE_MS } from "./rebuilds.js";
import { sumHourTotals } from "./totals.js";
import {
  STEP_BUDGET_BYTES,
  finishRebuild,
  generationDocs,
  interleaved,
  rebuildDoc,
  step,
  worstBytes,
} from "./rebuilds.testlib.js";
import { indexEveryDatabase } from "../../dev/indexedStore.js";

await indexEveryDatabase(convexTest);

/** Well after the stream, so that a partial rebuild from 15 November keeps October. */
const AFTER_STREAM = Date.parse("2027-01-10T12:00:00Z");
const FROM = Date.parse("2026-10-01T00:00:00Z");
const TO = Date.parse("2027-01-01T00:00:00Z");

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** The site, with the stream counted and compacted; then a batch of October events received late. */
async function siteWithLateOctoberBatch(t: T): Promise<{ siteId: string }> {
  const [scenario] = fc.sample(arbScenario, { numRuns: 1, seed: SEED });
  const batches = interleaved(scenario!);
  vi.setSystemTime(STREAM_FROM - DAY);
  const siteId = await createSite(t, "UTC");
  for (const batch of batches) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  await compactAll(t);
  vi.setSystemTime(AFTER_STREAM);
  return { siteId };
}

/** A dead letter retried, say: October's events, received now (creation times only grow). */
function octoberBatch(batches: Batch[]): Batch {
  const [first] = batches;
  return {
    batchId: "retried-october",
    events: first!.events.map((e) => ({
      ...e,
      id: `retried-${e.id}`,
      occurredAt: Date.parse("2026-10-20T12:00:00Z"),
    })),
  };
}

async function report(t: T, siteId: string) {
  return {
    overview: await t.query(api.reports.getOverview, { siteId, from: FROM, to: TO }),
    pages: await t.query(api.reports.getBreakdown, {
      siteId,
      from: FROM,
      to: TO,
      dimension: "page",
      limit: 100,
    }),
  };
}

/** A generation's hourly totals (the BTree) over all time. */
async function totalsOf(t: T, siteId: string, generation: number) {
  const owner = { siteId: siteId as Id<"sites">, generation };
  return await t.run(async (ctx) => await sumHourTotals(ctx, owner, 0, Number.MAX_SAFE_INTEGER));
}

/** Runs the rebuild's own chain (its scheduled steps, retries and backoff) until it stops. */
async function runChain(t: T) {
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

describe("cancelRebuild", () => {
  test("a partial rebuild that fails on a late batch in a kept month fails again when resumed; cancelled, it deletes its own rollups in bounded steps while reports stay as they were, and a new rebuild then runs to the end and equals the oracle", async () => {
    const t = initConvexTest();
    const { siteId } = await siteWithLateOctoberBatch(t);
    const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, {
      siteId,
      from: Date.parse("2026-11-15T00:00:00Z"),
    });
    const [scenario] = fc.sample(arbScenario, { numRuns: 1, seed: SEED });
    await ingest(t, siteId, octoberBatch(interleaved(scenario!)));
    await drainAll(t, siteId);
    await compactAll(t);
    const live = await report(t, siteId);

    await runChain(t);
    const failed = await t.query(api.rebuilds.getRebuild, { siteId, rebuildId });
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed!.error).toContain("counts in a kept month");
    // Resuming cannot help: the batch is still there.
    await t.mutation(api.rebuilds.rebuildRollups, { siteId, from: Date.parse("2026-11-20") });
    await runChain(t);
    expect(await t.query(api.rebuilds.getRebuild, { siteId, rebuildId })).toMatchObject({
      status: "failed",
    });
    // Nothing else may start while it is there, and the refusal names the way out.
    await expect(t.mutation(api.rebuilds.rebuildRollups, { siteId })).rejects.toThrow(
      "or cancel it (cancelRebuild)",
    );
    const { generation } = await rebuildDoc(t, rebuildId);
    const written = await generationDocs(t, siteId, generation);
    expect((await totalsOf(t, siteId, generation)).events).toBeGreaterThan(0);
    expect(written.rollups + written.sessions).toBeGreaterThan(0);

    const cancelling = await t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId });
    expect(cancelling).toMatchObject({ status: "cancelling", deleted: 0 });
    // Cancelling twice is the same cancel.
    expect(await t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId })).toMatchObject({
      status: "cancelling",
    });
    const worst = [];
    for (let i = 0; i < 100 && (await rebuildDoc(t, rebuildId)).status === "cancelling"; i++) {
      worst.push(worstBytes(await step(t, rebuildId)));
      expect(await report(t, siteId), "while cancelling").toEqual(live);
    }
    expect(Math.max(...worst)).toBeLessThanOrEqual(STEP_BUDGET_BYTES);
    const cancelled = await t.query(api.rebuilds.getRebuild, { siteId, rebuildId });
    expect(cancelled).toMatchObject({ status: "cancelled" });
    expect(cancelled!.deleted).toBe(
      written.rollupDeltas + written.rollupStaging + written.rollups + written.sessions,
    );
    expect(await generationDocs(t, siteId, generation)).toEqual({
      rollupDeltas: 0,
      rollupStaging: 0,
      rollups: 0,
      sessions: 0,
    });
    expect((await totalsOf(t, siteId, generation)).events).toBe(0);
    await compactAll(t);
    expect(await report(t, siteId), "cancelled").toEqual(live);
    expect(await t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId })).toMatchObject({
      status: "cancelled",
    });

    // The way is clear: a full rebuild runs, and it counts every raw event, the late batch too.
    const full = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
    expect(full.rebuildId).not.toBe(rebuildId);
    expect((await rebuildDoc(t, full.rebuildId)).generation).toBe(generation + 1);
    await finishRebuild(t, siteId, full.rebuildId);
    const model = buildModel(await processedEvents(t));
    await expectReportsMatch(t, siteId, model, FROM, TO, "rebuilt after a cancel", "UTC", {
      dimensions: ["page", "channel"],
    });
    await expect(
      t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId: full.rebuildId }),
    ).rejects.toThrow("cannot be cancelled");
  });

  test("a cancel is refused for another site's rebuild and an unknown one; the kick cron resumes a cancel whose step chain died", async () => {
    vi.setSystemTime(AFTER_STREAM);
    const t = initConvexTest();
    const { siteId } = await t.mutation(api.sites.createSite, { slug: "a", name: "A" });
    const other = await t.mutation(api.sites.createSite, { slug: "b", name: "B" });
    const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
    await expect(
      t.mutation(api.rebuilds.cancelRebuild, { siteId: other.siteId, rebuildId }),
    ).rejects.toThrow(`No rebuild "${rebuildId}" on this site`);
    await expect(
      t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId: "nope" }),
    ).rejects.toThrow('No rebuild "nope" on this site');
    await expect(
      t.mutation(api.rebuilds.cancelRebuild, { siteId: "no-such-site", rebuildId }),
    ).rejects.toThrow('Unknown site "no-such-site"');

    await t.mutation(api.rebuilds.cancelRebuild, { siteId, rebuildId });
    // Its scheduled steps never run (the chain died): once the lease has run out, kick starts another.
    const { chainId } = await rebuildDoc(t, rebuildId);
    vi.setSystemTime(AFTER_STREAM + REBUILD_LEASE_MS + HOUR);
    await t.mutation(api.maintenance.kick, {});
    expect((await rebuildDoc(t, rebuildId)).chainId).not.toBe(chainId);
    await runChain(t);
    expect(await t.query(api.rebuilds.getRebuild, { siteId, rebuildId })).toMatchObject({
      status: "cancelled",
      error: null,
    });
  });
});
