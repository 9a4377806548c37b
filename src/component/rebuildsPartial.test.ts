// Partial rebuilds (rebuildRollups with from / to, partialRebuilds.ts) against the
// brute-force oracle: after the session timeout changes, a rebuild of November
// recomputes November (and every month the live worker may still write) from
// the raw events, so every report inside equals the oracle of every raw event
// under the new timeout, while the months kept answer exactly as before the
// rebuild, however copy steps, crashed steps, late batches, the live worker and
// compaction interleave. Beside it: the refusals, a copy over several steps
// that a crash does not disturb, a second run changing nothing, and the kick
// cron resuming rebuilds whose step chain died. (rebuilds.test.ts has the full
// rebuild; this file keeps both fast.)
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import type { Id } from "./_generated/dataModel.js";
import { STREAM_FROM, STREAM_TO, arbScenario, type Batch } from "./oracle.streams.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  compactAll,
  createSite,
  drainAll,
  expectReportsMatch,
  ingest,
  processedEvents,
  settle,
  type T,
} from "./oracle.harness.testlib.js";
import { buildModel } from "./oracle.testlib.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR, MINUTE, alignRange, hourPhase, monthStart, nextBucket } from "./time.js";
import { REBUILD_LEASE_MS, resumeStalledRebuilds } from "./rebuilds.js";
import {
  STEP_BUDGET_BYTES,
  crashStep,
  finishRebuild,
  generationDocs,
  interleaved,
  manyBatches,
  rebuildDoc,
  step,
  worstBytes,
} from "./rebuilds.testlib.js";
import { indexEveryDatabase } from "../../dev/indexedStore.js";
import type { Dimension } from "../shared.js";

// As rebuilds.test.ts: the project's indexed store, which answers as stock convex-test does.
await indexEveryDatabase(convexTest);

/** REBUILD_RUNS explores further; ORACLE_SEED picks the seed. */
const RUNS = Number(process.env.REBUILD_RUNS ?? 3);
/** Well after the stream: December is then more than 7 days old, so a rebuild can keep it. */
const AFTER_STREAM = Date.parse("2027-01-10T12:00:00Z");
/** Batches sent while the rebuild runs: the stream's, this much later. */
const LATE_SHIFT = 98 * DAY;
/** The setting the rebuild applies to the months it recomputes. */
const NEW_TIMEOUT_MS = 10 * MINUTE;
const SHOWN: Dimension[] = ["page", "entryPage", "exitPage", "channel", "referrer", "country"];

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

type Span = { from: number; to: number };

/** What a dashboard shows for a range: the overview, the days, and the breakdowns. */
async function answers(t: T, siteId: string, { from, to }: Span) {
  const breakdowns = [];
  for (const dimension of SHOWN)
    breakdowns.push(
      await t.query(api.reports.getBreakdown, { siteId, from, to, dimension, limit: 100 }),
    );
  return {
    overview: await t.query(api.reports.getOverview, { siteId, from, to }),
    days: await t.query(api.reports.getTimeseries, { siteId, from, to, granularity: "day" }),
    breakdowns,
  };
}

async function answersOf(t: T, siteId: string, spans: Span[]) {
  const out = [];
  for (const span of spans) out.push(await answers(t, siteId, span));
  return out;
}

/** The months of the stream in the site's zone: October from the stream's start, November, December to its end. */
function months(tz: string) {
  const stream = alignRange(STREAM_FROM, STREAM_TO, HOUR, hourPhase(tz));
  const nov1 = monthStart(Date.parse("2026-11-15T00:00:00Z"), tz);
  const dec1 = nextBucket("month", nov1, tz);
  return {
    october: { from: stream.from, to: nov1 },
    november: { from: nov1, to: dec1 },
    december: { from: dec1, to: stream.to },
    jan1: nextBucket("month", dec1, tz),
    late: alignRange(STREAM_FROM + LATE_SHIFT, STREAM_TO + LATE_SHIFT, HOUR, hourPhase(tz)),
  };
}

/** The stream's batches moved LATE_SHIFT on, under ids of their own. */
function late(batches: Batch[]): Batch[] {
  return batches.map((b) => ({
    batchId: `late-${b.batchId}`,
    events: b.events.map((e) => ({
      ...e,
      id: `late-${e.id}`,
      occurredAt: e.occurredAt + LATE_SHIFT,
    })),
  }));
}

/** A site with the stream's batches counted (and, if asked, compacted), the clock then moved past the stream. */
async function siteWith(t: T, tz: string, batches: Batch[], compacted: boolean): Promise<string> {
  vi.setSystemTime(STREAM_FROM - DAY);
  const siteId = await createSite(t, tz);
  for (const batch of batches) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  if (compacted) await compactAll(t);
  vi.setSystemTime(AFTER_STREAM);
  return siteId;
}

const arbPartial = fc.record({
  scenario: arbScenario,
  /** `from` and `to` inside November in every zone: 5 to 15 November, then up to 10 days later. */
  fromHours: fc.integer({ min: 0, max: 240 }),
  toHours: fc.option(fc.integer({ min: 1, max: 240 }), { nil: undefined }),
  /** Whether compaction had folded the stream before the rebuild: if not, the copy waits for it. */
  compacted: fc.boolean(),
  /** The share of the stream sent again LATE_SHIFT later while the rebuild runs. */
  lateShare: fc.double({ min: 0, max: 1, noNaN: true }),
  ops: fc.array(
    fc.constantFrom(
      "step",
      "step",
      "step",
      "crashStep",
      "ingest",
      "drain",
      "compactSteps",
      "check",
    ),
    { maxLength: 30 },
  ),
});

describe("partial rebuilds", () => {
  test(
    "after a partial rebuild every report inside its months equals the oracle of every raw event under the new settings, and every month kept answers as before it",
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          arbPartial,
          async ({ scenario, fromHours, toHours, compacted, lateShare, ops }) => {
            vi.clearAllTimers();
            const tz = scenario.timezone;
            const t = initConvexTest();
            const batches = interleaved(scenario);
            const siteId = await siteWith(t, tz, batches, compacted);
            const m = months(tz);
            const kept = toHours === undefined ? [m.october] : [m.october, m.december];
            const inside = toHours === undefined ? [m.november, m.december] : [m.november];
            const keptBefore = await answersOf(t, siteId, kept);
            const insideBefore = await answersOf(t, siteId, inside);
            await t.mutation(api.sites.updateSite, {
              siteId,
              settings: { sessionTimeoutMs: NEW_TIMEOUT_MS },
            });

            const from = Date.parse("2026-11-05T00:00:00Z") + fromHours * HOUR;
            const started = await t.mutation(api.rebuilds.rebuildRollups, {
              siteId,
              from,
              ...(toHours === undefined ? {} : { to: from + toHours * HOUR }),
            });
            // Widened to whole months; December is kept only when `to` ends before it.
            expect(started).toMatchObject({
              from: m.november.from,
              to: toHours === undefined ? null : m.november.to,
              kept:
                toHours === undefined
                  ? [{ from: 0, to: m.november.from }]
                  : [
                      { from: 0, to: m.november.from },
                      { from: m.november.to, to: m.jan1 },
                    ],
            });
            const { rebuildId } = started;
            const pending = late(batches.slice(0, Math.ceil(lateShare * batches.length)));
            const send = async () => {
              const batch = pending.shift();
              if (batch) await ingest(t, siteId, batch);
            };
            for (const op of ops) {
              switch (op) {
                case "step":
                  await step(t, rebuildId);
                  break;
                case "crashStep":
                  await crashStep(t, rebuildId);
                  break;
                case "ingest":
                  await send();
                  break;
                case "drain":
                  await settle(t);
                  await t.mutation(internal.worker.drainSite, { siteId: siteId as Id<"sites"> });
                  break;
                case "compactSteps":
                  for (let i = 0; i < 3; i++) await t.mutation(internal.compaction.compactStep, {});
                  break;
                case "check": {
                  // The months kept never change; the others serve the live rollups until the switch.
                  expect(await answersOf(t, siteId, kept), "kept, during").toEqual(keptBefore);
                  if ((await rebuildDoc(t, rebuildId)).switchedAt === undefined)
                    expect(await answersOf(t, siteId, inside), "inside, before").toEqual(
                      insideBefore,
                    );
                  break;
                }
              }
            }
            while (pending.length > 0) await send();
            await finishRebuild(t, siteId, rebuildId);

            const model = buildModel(await processedEvents(t), NEW_TIMEOUT_MS);
            const recomputed = [...inside, m.late];
            for (const label of ["rebuilt", "rebuilt, compacted"]) {
              for (const { from, to } of recomputed)
                await expectReportsMatch(t, siteId, model, from, to, label, tz, {
                  dimensions: SHOWN,
                });
              expect(await answersOf(t, siteId, kept), `kept, ${label}`).toEqual(keptBefore);
              await compactAll(t);
            }
            expect(await generationDocs(t, siteId, 0)).toEqual({
              rollupDeltas: 0,
              rollupStaging: 0,
              rollups: 0,
              sessions: 0,
            });
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
  );

  test(
    "the copy runs over several bounded steps, a step that crashes mid-copy leaves nothing behind, and a second run of the same range changes no report",
    { timeout: PROPERTY_TIMEOUT_MS },
    async () => {
      const tz = "Asia/Kolkata";
      const t = initConvexTest();
      const siteId = await siteWith(t, tz, manyBatches(12, SEED + 3), true);
      const m = months(tz);
      const spans = [m.october, m.november, m.december];
      const before = await answersOf(t, siteId, spans);
      const args = { siteId, from: m.november.from + DAY, to: m.november.to - DAY };
      const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, args);

      const copySteps = [await step(t, rebuildId)];
      const first = await rebuildDoc(t, rebuildId);
      expect(first.partial).toMatchObject({ copied: false });
      expect(first.partial!.pages).toBeGreaterThan(0);
      await crashStep(t, rebuildId);
      expect((await rebuildDoc(t, rebuildId)).partial).toEqual(first.partial);
      while (!(await rebuildDoc(t, rebuildId)).partial!.copied)
        copySteps.push(await step(t, rebuildId));
      expect(copySteps.length).toBeGreaterThan(1);
      const { partial } = await rebuildDoc(t, rebuildId);
      // Every kept page, once: the live generation's pages of October and December.
      const livePages = await t.run(async (ctx) =>
        (await ctx.db.query("rollups").collect()).filter(
          (p) =>
            p.generation === 0 &&
            (p.bucketStart < m.november.from || p.bucketStart >= m.november.to),
        ),
      );
      expect(partial!.pages).toBe(livePages.length);

      const rest = await finishRebuild(t, siteId, rebuildId);
      const worst = Math.max(...[...copySteps, ...rest].map(worstBytes));
      expect(worst).toBeLessThanOrEqual(STEP_BUDGET_BYTES);
      // Nothing changed the raw events or the settings: every month answers as before.
      expect(await answersOf(t, siteId, spans)).toEqual(before);
      const model = buildModel(await processedEvents(t));
      for (const { from, to } of spans)
        await expectReportsMatch(t, siteId, model, from, to, "partially rebuilt", tz, {
          dimensions: SHOWN,
        });

      const again = await t.mutation(api.rebuilds.rebuildRollups, args);
      expect(again.rebuildId).not.toBe(rebuildId);
      await finishRebuild(t, siteId, again.rebuildId);
      expect(await answersOf(t, siteId, spans)).toEqual(before);
      expect(
        await t.query(api.rebuilds.getRebuild, { siteId, rebuildId: again.rebuildId }),
      ).toMatchObject({ status: "done", copied: partial!.pages, error: null });
    },
  );

  test("a partial rebuild refuses `to` without `from`, an empty range, a timezone change, a `from` past raw retention, and another range while one runs", async () => {
    const t = initConvexTest();
    const siteId = await siteWith(t, "UTC", [], false);
    const nov15 = Date.parse("2026-11-15T00:00:00Z");
    await expect(t.mutation(api.rebuilds.rebuildRollups, { siteId, to: nov15 })).rejects.toThrow(
      "`to` needs `from`",
    );
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, from: nov15, to: nov15 }),
    ).rejects.toThrow("`from` before `to`");
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, from: nov15, timezone: "Asia/Kolkata" }),
    ).rejects.toThrow("change the timezone with a full rebuild");
    // 10 January: 1 October is more than 90 days back.
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, from: Date.parse("2026-10-20T00:00:00Z") }),
    ).rejects.toThrow("older than the raw events kept (90 days)");
    const running = await t.mutation(api.rebuilds.rebuildRollups, { siteId, from: nov15 });
    expect(running).toMatchObject({ from: Date.parse("2026-11-01T00:00:00Z"), to: null });
    // The same months, asked another way, are the same rebuild.
    const same = await t.mutation(api.rebuilds.rebuildRollups, { siteId, from: nov15 + DAY });
    expect(same.rebuildId).toBe(running.rebuildId);
    await expect(
      t.mutation(api.rebuilds.rebuildRollups, { siteId, from: nov15, to: nov15 + DAY }),
    ).rejects.toThrow("is in progress for this site");
    await expect(t.mutation(api.rebuilds.rebuildRollups, { siteId })).rejects.toThrow(
      "is in progress for this site",
    );
  });

  test("a batch received during a partial rebuild that counts in a kept month fails the rebuild instead of losing its rows", async () => {
    const t = initConvexTest();
    const [scenario] = fc.sample(arbScenario, { numRuns: 1, seed: SEED });
    const batches = interleaved(scenario!);
    const siteId = await siteWith(t, "UTC", batches, true);
    const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, {
      siteId,
      from: Date.parse("2026-11-15T00:00:00Z"),
    });
    // A dead letter retried, say: October's events, received now (creation times only grow).
    const [old] = late(batches).map((b) => ({
      batchId: `retried-${b.batchId}`,
      events: b.events.map((e) => ({
        ...e,
        id: `retried-${e.id}`,
        occurredAt: Date.parse("2026-10-20T12:00:00Z"),
      })),
    }));
    await ingest(t, siteId, old!);
    await drainAll(t, siteId);
    // The copy waits for compaction to fold October's new rows first.
    await compactAll(t);
    vi.setSystemTime(AFTER_STREAM + DAY);
    for (let i = 0; i < 100; i++) {
      const { partial } = await rebuildDoc(t, rebuildId);
      if (partial!.copied) break;
      await step(t, rebuildId);
    }
    await expect(step(t, rebuildId)).rejects.toThrow("counts in a kept month (2026-10-20T12");
  });

  test("the kick cron resumes rebuilds whose step chain died, ten a run, and they run to the end", async () => {
    vi.setSystemTime(AFTER_STREAM);
    const t = initConvexTest();
    const rebuilds: { siteId: string; rebuildId: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const { siteId } = await t.mutation(api.sites.createSite, { slug: `s${i}`, name: `S${i}` });
      const { rebuildId } = await t.mutation(api.rebuilds.rebuildRollups, { siteId });
      rebuilds.push({ siteId, rebuildId });
    }
    // Their scheduled steps never run (the chain died): the lease runs out.
    const chains = new Map<string, string>();
    for (const { rebuildId } of rebuilds)
      chains.set(rebuildId, (await rebuildDoc(t, rebuildId)).chainId);
    vi.setSystemTime(AFTER_STREAM + REBUILD_LEASE_MS + 1);
    const resume = () =>
      t.run(async (ctx) => await resumeStalledRebuilds(ctx as unknown as MutationCtx, Date.now()));
    expect(await resume()).toBe(10);
    expect(await resume()).toBe(2);
    expect(await resume()).toBe(0);
    for (const { rebuildId } of rebuilds)
      expect((await rebuildDoc(t, rebuildId)).chainId).not.toBe(chains.get(rebuildId));
    // kick itself does the same for a chain that dies again.
    vi.setSystemTime(Date.now() + REBUILD_LEASE_MS + 1);
    await t.mutation(api.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    for (const { siteId, rebuildId } of rebuilds)
      expect(await t.query(api.rebuilds.getRebuild, { siteId, rebuildId })).toMatchObject({
        status: "done",
        error: null,
      });
  });
});
