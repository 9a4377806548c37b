// invariant I1 (exactly once) and I6 (right numbers) as properties: random event
// streams, random batch splits and interleavings, duplicate resends, crashed
// workers and compaction at random points must leave every report equal to a
// brute-force oracle over the raw event list (oracle.testlib.ts).
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import { DIMENSIONS, type AnalyticsEvent, type Granularity } from "../shared.js";
import { pagePath } from "./events.js";
import {
  STREAM_FROM,
  STREAM_TO,
  TZ,
  DST_DAY,
  arbScenario,
  batchesOf,
  type Batch,
  type Scenario,
} from "./oracle.streams.testlib.js";
import {
  buildModel,
  oracleBreakdown,
  oracleOverview,
  oracleTimeseries,
  type OracleModel,
} from "./oracle.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { DAY, HOUR, alignRange, bucketStart, hourPhase, nextBucket } from "./time.js";
import type { Id } from "./_generated/dataModel.js";
import { SETTLE_MS } from "./ingest.js";
import { drainSiteHandler } from "./worker.js";

type T = ReturnType<typeof initConvexTest>;

const BREAKDOWN_DIMENSIONS = DIMENSIONS.filter((d) => d !== "total");
/** Seeded so failures reproduce; ORACLE_SEED / ORACLE_RUNS explore further (e.g. ORACLE_RUNS=50 npx vitest run src/component/oracle.test.ts). */
const SEED = Number(process.env.ORACLE_SEED ?? 20261101);
const RUNS = Number(process.env.ORACLE_RUNS ?? 6);
/**
 * Dense days go through the real ingest and worker, which looks up one session per visitor; stock convex-test
 * scans a whole table on every indexed read, so `npm test` stays at 5,000-6,000 visitors (about 10 s each).
 * ORACLE_DENSE_MAX=30000 covers the rest of the range in minutes.
 */
const DENSE_RUNS = Number(process.env.ORACLE_DENSE_RUNS ?? 2);
const DENSE_MIN = Number(process.env.ORACLE_DENSE_MIN ?? 5_000);
const DENSE_MAX = Number(process.env.ORACLE_DENSE_MAX ?? 6_000);
/** Generous: the machine is shared, and a failure is shrunk before it is reported. */
const PROPERTY_TIMEOUT_MS = 30 * 60_000;

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- driving the product

async function createSite(t: T, timezone: string = TZ): Promise<string> {
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug: "prop",
    name: "Property",
    timezone,
  });
  return siteId;
}

/** Ingests at a system time just after the batch's last event, so no occurredAt is clamped. */
async function ingest(t: T, siteId: string, batch: Batch) {
  vi.setSystemTime(Math.max(...batch.events.map((e) => e.occurredAt)) + 1_000);
  return await t.mutation(api.ingest.ingestBatch, {
    siteId,
    batchId: batch.batchId,
    events: batch.events,
  });
}

/** Moves the clock past the settle window, so the worker sees every batch received so far. */
async function settle(t: T): Promise<void> {
  const latest = await t.run(async (ctx) =>
    Math.max(0, ...(await ctx.db.query("pendingBatches").collect()).map((b) => b.receivedAt)),
  );
  vi.setSystemTime(Math.max(Date.now(), latest + SETTLE_MS + 1));
}

/** A worker run that does all its work and then crashes: nothing of it may survive. */
async function crashWorker(t: T, siteId: string): Promise<void> {
  await expect(
    t.run(async (ctx) => {
      await drainSiteHandler(ctx as unknown as MutationCtx, { siteId: siteId as Id<"sites"> });
      throw new Error("crash");
    }),
  ).rejects.toThrow("crash");
}

async function drainAll(t: T, siteId: string): Promise<void> {
  await settle(t);
  while (await t.run(async (ctx) => (await ctx.db.query("pendingBatches").first()) !== null)) {
    await t.mutation(internal.worker.drainSite, { siteId: siteId as Id<"sites"> });
  }
}

/** Folds every hour closed by the end of the stream. */
async function compactAll(t: T): Promise<void> {
  vi.setSystemTime(Math.max(Date.now(), STREAM_TO + 2 * HOUR));
  while ((await t.mutation(internal.compaction.compactStep, {})).work !== null);
}

/** The events the workers have processed, in processing order (raw batches are written in that order). */
async function processedEvents(t: T): Promise<AnalyticsEvent[]> {
  return await t.run(async (ctx) =>
    (await ctx.db.query("rawBatches").collect()).flatMap((b) => b.events),
  );
}

async function tableCounts(t: T) {
  return await t.run(async (ctx) => ({
    pendingBatches: (await ctx.db.query("pendingBatches").collect()).length,
    rawBatches: (await ctx.db.query("rawBatches").collect()).length,
    sessions: (await ctx.db.query("sessions").collect()).length,
    rollupDeltas: (await ctx.db.query("rollupDeltas").collect()).length,
    rollupStaging: (await ctx.db.query("rollupStaging").collect()).length,
    rollups: (await ctx.db.query("rollups").collect()).length,
  }));
}

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 13);

/** Every report over [from, to) equals the oracle exactly. */
async function expectReportsMatch(
  t: T,
  siteId: string,
  model: OracleModel,
  rawFrom: number,
  rawTo: number,
  label: string,
  tz = TZ,
): Promise<void> {
  // Reports round a range out to the site's local hours; the oracle counts over the same span.
  const { from, to } = alignRange(rawFrom, rawTo, HOUR, hourPhase(tz));
  const where = `${label} ${tz} [${iso(from)}, ${iso(to)})`;
  expect(await t.query(api.reports.getOverview, { siteId, from, to }), `overview ${where}`).toEqual(
    oracleOverview(model, from, to),
  );
  const granularities: Granularity[] =
    to - from <= 2 * DAY ? ["hour", "day", "week", "month"] : ["day", "week", "month"];
  for (const granularity of granularities) {
    expect(
      await t.query(api.reports.getTimeseries, { siteId, from, to, granularity }),
      `timeseries ${granularity} ${where}`,
    ).toEqual(oracleTimeseries(model, from, to, granularity, tz));
  }
  for (const dimension of BREAKDOWN_DIMENSIONS) {
    const all = await t.query(api.reports.getBreakdown, {
      siteId,
      from,
      to,
      dimension,
      limit: 1000,
    });
    expect(all, `breakdown ${dimension} limit 1000 ${where}`).toEqual(
      oracleBreakdown(model, from, to, dimension, 1000),
    );
    const top = await t.query(api.reports.getBreakdown, { siteId, from, to, dimension, limit: 5 });
    expect(top, `breakdown ${dimension} limit 5 ${where}`).toEqual(
      oracleBreakdown(model, from, to, dimension, 5),
    );
  }
}

async function runScenario(scenario: Scenario): Promise<void> {
  vi.clearAllTimers(); // timers left by earlier runs' instances
  vi.setSystemTime(STREAM_FROM - DAY);
  const t = initConvexTest();
  const tz = scenario.timezone;
  const siteId = await createSite(t, tz);
  const stream = alignRange(STREAM_FROM, STREAM_TO, HOUR, hourPhase(tz));
  const queues = scenario.visitors.map(batchesOf);
  const sent: Batch[] = [];
  const send = async (batch: Batch) => {
    const result = await ingest(t, siteId, batch);
    expect(result, `first send of ${batch.batchId}`).toEqual({
      accepted: batch.events.length,
      duplicate: false,
      rejected: [],
    });
    sent.push(batch);
  };

  for (const op of scenario.ops) {
    switch (op.op) {
      case "ingest": {
        const open = queues.filter((q) => q.length > 0);
        if (open.length > 0) await send(open[op.visitor % open.length]!.shift()!);
        break;
      }
      case "drain":
        await settle(t);
        await t.mutation(internal.worker.drainSite, { siteId: siteId as Id<"sites"> });
        break;
      case "crash":
        await settle(t);
        await crashWorker(t, siteId);
        break;
      case "compactSteps":
        for (let i = 0; i < op.n; i++) await t.mutation(internal.compaction.compactStep, {});
        break;
      case "compact":
        await t.action(internal.compaction.compact, {});
        break;
      case "resend": {
        if (sent.length === 0) break;
        const batch = sent[op.pick % sent.length]!;
        const before = await tableCounts(t);
        expect(await ingest(t, siteId, batch), `resend of ${batch.batchId}`).toEqual({
          accepted: 0,
          duplicate: true,
          rejected: [],
        });
        expect(await tableCounts(t), `tables after resending ${batch.batchId}`).toEqual(before);
        break;
      }
      case "check": {
        // Mid-stream, whatever is queued or half-compacted: the reports show exactly what the workers processed.
        const model = buildModel(await processedEvents(t));
        expect(
          await t.query(api.reports.getOverview, { siteId, from: STREAM_FROM, to: STREAM_TO }),
          "mid-stream overview",
        ).toEqual(oracleOverview(model, stream.from, stream.to));
        const b = await t.query(api.reports.getBreakdown, {
          siteId,
          from: STREAM_FROM,
          to: STREAM_TO,
          dimension: "exitPage",
          limit: 1000,
        });
        expect(b, "mid-stream exitPage breakdown").toEqual(
          oracleBreakdown(model, stream.from, stream.to, "exitPage", 1000),
        );
        break;
      }
      case "scheduled":
        // This harness moves the clock back and forth per batch; a deployment's only moves on.
        await settle(t);
        await t.finishAllScheduledFunctions(vi.runAllTimers);
        break;
    }
  }
  // Whatever the ops left unsent goes out now, visitor by visitor in turn.
  while (queues.some((q) => q.length > 0))
    for (const q of queues) if (q.length > 0) await send(q.shift()!);
  if (scenario.finishScheduled) {
    await settle(t);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
  }
  await crashWorker(t, siteId);
  await drainAll(t, siteId);

  // Exactly once: one raw batch per distinct batchId, nothing left queued, the raw events are what was sent.
  const counts = await tableCounts(t);
  expect(counts.pendingBatches).toBe(0);
  expect(counts.rawBatches).toBe(new Set(sent.map((b) => b.batchId)).size);
  const processed = await processedEvents(t);
  expect(processed.length).toBe(sent.reduce((n, b) => n + b.events.length, 0));

  // The site's loop takes the settled batches in the order they were received; this harness
  // sets receivedAt per batch, so that can differ from the order they were sent. The oracle
  // replays what was processed, in processing order: exactly the sent events, each once.
  expect(processed.map((e) => e.id).sort()).toEqual(
    sent.flatMap((b) => b.events.map((e) => e.id)).sort(),
  );
  const model = buildModel(processed);
  const ranges = [{ from: STREAM_FROM, to: STREAM_TO }, DST_DAY, ...scenario.ranges];
  for (const { from, to } of ranges)
    await expectReportsMatch(t, siteId, model, from, to, "before final compaction", tz);
  await compactAll(t);
  expect((await tableCounts(t)).rollupStaging).toBe(0);
  for (const { from, to } of ranges)
    await expectReportsMatch(t, siteId, model, from, to, "after final compaction", tz);
}

// ---------------------------------------------------------------- dense days

/** Page shares 60/25/10/5%: the total and "/" rows go dense (HyperLogLog), the smaller pages stay sparse (exact). */
const DENSE_PAGES = [
  ...Array<string>(12).fill("/"),
  ...Array<string>(5).fill("/pricing"),
  "/docs",
  "/docs",
  "/blog/dst-explained",
];
const withinTwoPercent = (estimate: number, truth: number) =>
  Math.abs(estimate - truth) <= 0.02 * truth;

async function runDenseDay({
  visitors,
  salt,
  compactAfter,
}: {
  visitors: number;
  salt: number;
  compactAfter: number;
}): Promise<void> {
  vi.clearAllTimers();
  vi.setSystemTime(DST_DAY.from - DAY);
  const t = initConvexTest();
  const siteId = await createSite(t);
  // One pageview per visitor over the 25 hours of the DST day, in the first minute of each hour (few minute buckets).
  const events: AnalyticsEvent[] = Array.from({ length: visitors }, (_, i) => ({
    id: `d${i}`,
    type: "pageview" as const,
    occurredAt: DST_DAY.from + (i % 25) * HOUR + (i % 997) * 50,
    url: `https://example.com${DENSE_PAGES[(i * 7 + salt) % DENSE_PAGES.length]}`,
    visitorId: `dense-${salt}-${i}`,
  }));
  const batches: Batch[] = [];
  for (let i = 0; i < events.length; i += 100)
    batches.push({ batchId: `dense-b${i / 100}`, events: events.slice(i, i + 100) });
  // Every visitor comes once, so a processed visitor's session is never looked up again. Stock convex-test
  // scans the whole table on every indexed read, and the worker looks up one session per visitor, so the
  // harness drops processed sessions (never a rollup) to keep that scan small.
  const drainAndForget = async () => {
    await drainAll(t, siteId);
    await t.run(async (ctx) => {
      for (const s of await ctx.db.query("sessions").collect())
        await ctx.db.delete("sessions", s._id);
      return null;
    });
  };
  for (const [n, batch] of batches.entries()) {
    expect((await ingest(t, siteId, batch)).accepted).toBe(batch.events.length);
    if (n % 5 === 4) await drainAndForget();
    if (n === compactAfter % batches.length) await compactAll(t);
  }
  await drainAndForget();

  const truth = (from: number, to: number) => {
    const inRange = events.filter((e) => e.occurredAt >= from && e.occurredAt < to);
    const pages = new Map<string, number>();
    for (const e of inRange) pages.set(pagePath(e.url), (pages.get(pagePath(e.url)) ?? 0) + 1);
    return { visitors: inRange.length, pages };
  };
  const ranges = [
    DST_DAY, // one day piece
    { from: DST_DAY.from + 5 * HOUR, to: DST_DAY.to }, // twenty hour pieces
    { from: DST_DAY.from - 2 * DAY, to: DST_DAY.to + DAY - HOUR }, // days and hours
  ];
  const check = async (label: string) => {
    for (const { from, to } of ranges) {
      const where = `${label} [${iso(from)}, ${iso(to)}) with ${visitors} visitors`;
      const want = truth(from, to);
      const overview = await t.query(api.reports.getOverview, { siteId, from, to });
      expect(overview.pageviews, `pageviews ${where}`).toBe(want.visitors);
      expect(overview.sessions, `sessions ${where}`).toBe(want.visitors);
      expect(
        withinTwoPercent(overview.visitors, want.visitors),
        `overview visitors ${overview.visitors} vs ${want.visitors} ${where}`,
      ).toBe(true);
      const { rows } = await t.query(api.reports.getBreakdown, {
        siteId,
        from,
        to,
        dimension: "page",
        limit: 1000,
      });
      expect(
        rows.map((r) => [r.key, r.pageviews, r.entries]),
        `page rows ${where}`,
      ).toEqual(
        [...want.pages.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]) => [key, n, n]),
      );
      for (const row of rows) {
        const n = want.pages.get(row.key)!;
        expect(
          withinTwoPercent(row.visitors, n),
          `page ${row.key} visitors ${row.visitors} vs ${n} ${where}`,
        ).toBe(true);
      }
    }
  };
  await check("before final compaction");
  await compactAll(t);
  await check("after final compaction");
}

// ---------------------------------------------------------------- tests

describe("oracle", () => {
  test("a worker run that throws inside t.run is rolled back completely: no raw batch, session, delta or schedule survives", async () => {
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
        pending: (await ctx.db.query("pendingBatches").collect()).map((b) => b.batchId),
        raw: (await ctx.db.query("rawBatches").collect()).length,
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
          pending: (await ctx.db.query("pendingBatches").collect()).map((b) => b.batchId),
          raw: (await ctx.db.query("rawBatches").collect()).length,
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

  const dense = `${DENSE_MIN.toLocaleString("en-US")} to ${DENSE_MAX.toLocaleString("en-US")}`;
  test(
    `unique visitors are within 2% of the truth, overall and per page, on a day with ${dense} distinct visitors`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            visitors: fc.integer({ min: DENSE_MIN, max: DENSE_MAX }),
            salt: fc.nat({ max: 19 }),
            compactAfter: fc.nat(),
          }),
          runDenseDay,
        ),
        { seed: SEED, numRuns: DENSE_RUNS },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
