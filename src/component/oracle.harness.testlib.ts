// The harness that drives the product for the oracle properties: oracle.test.ts
// (invariants I1 and I6 against a brute-force oracle, oracle.testlib.ts) and
// oracleDenseVisitors.test.ts (unique visitors on dense days). It creates a site,
// ingests batches at the right system time, settles, drains, crashes workers and
// compacts, and compares every report with the oracle. Each test file calls
// enforceConvexDocumentLimits() and installs fake timers itself.
import { expect, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { MutationCtx } from "./_generated/server.js";
import {
  DIMENSIONS,
  type AnalyticsEvent,
  type Compare,
  type Dimension,
  type Granularity,
} from "../shared.js";
import {
  STREAM_FROM,
  STREAM_TO,
  TZ,
  DST_DAY,
  batchesOf,
  type Batch,
  type Scenario,
} from "./oracle.streams.testlib.js";
import {
  buildModel,
  oracleBreakdown,
  oracleOverview,
  oraclePropertyBreakdown,
  oracleRowsForKeys,
  oracleTimeseries,
  zeroBreakdownRow,
  type OracleModel,
} from "./oracle.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { DAY, HOUR, alignRange, comparisonRange, hourPhase } from "./time.js";
import type { Id } from "./_generated/dataModel.js";
import { SETTLE_MS } from "./ingest.js";
import { hasWaitingBatch } from "./cursor.js";
import { batchesByState } from "./batches.testlib.js";
import { drainSiteHandler } from "./worker.js";

export type T = ReturnType<typeof initConvexTest>;

const BREAKDOWN_DIMENSIONS = DIMENSIONS.filter((d) => d !== "total");
/** Seeded so failures reproduce; ORACLE_SEED explores further (with ORACLE_RUNS, oracle.test.ts; ORACLE_DENSE_*, oracleDenseVisitors.test.ts). */
export const SEED = Number(process.env.ORACLE_SEED ?? 20261101);
/** Generous: the machine is shared, and a failure is shrunk before it is reported. */
export const PROPERTY_TIMEOUT_MS = 30 * 60_000;

// ---------------------------------------------------------------- driving the product

export async function createSite(t: T, timezone: string = TZ): Promise<string> {
  const { siteId } = await t.mutation(api.sites.createSite, {
    slug: "prop",
    name: "Property",
    timezone,
  });
  return siteId;
}

/** Ingests at a system time just after the batch's last event, so no occurredAt is clamped. */
export async function ingest(t: T, siteId: string, batch: Batch) {
  vi.setSystemTime(Math.max(...batch.events.map((e) => e.occurredAt)) + 1_000);
  return await t.mutation(api.ingest.ingestBatch, {
    siteId,
    batchId: batch.batchId,
    events: batch.events,
  });
}

/**
 * Moves the clock past the settle window, so the worker sees every batch received so far.
 * Creation times only grow while this harness moves the clock back and forth, so the window
 * is counted from the latest creation time.
 */
export async function settle(t: T): Promise<void> {
  const latest = await t.run(async (ctx) =>
    Math.max(0, ...(await ctx.db.query("batches").collect()).map((b) => b._creationTime)),
  );
  vi.setSystemTime(Math.max(Date.now(), latest + SETTLE_MS + 1));
}

/** A worker run that does all its work and then crashes: nothing of it may survive. */
export async function crashWorker(t: T, siteId: string): Promise<void> {
  await expect(
    t.run(async (ctx) => {
      await drainSiteHandler(ctx as unknown as MutationCtx, { siteId: siteId as Id<"sites"> });
      throw new Error("crash");
    }),
  ).rejects.toThrow("crash");
}

export async function drainAll(t: T, siteId: string): Promise<void> {
  await settle(t);
  const id = siteId as Id<"sites">;
  while (await t.run(async (ctx) => await hasWaitingBatch(ctx, id, Infinity))) {
    await t.mutation(internal.worker.drainSite, { siteId: id });
  }
}

/** Folds every hour closed by the end of the stream. */
export async function compactAll(t: T): Promise<void> {
  vi.setSystemTime(Math.max(Date.now(), STREAM_TO + 2 * HOUR));
  while ((await t.mutation(internal.compaction.compactStep, {})).work !== null);
}

/** The events the workers have processed, in processing order (the loop takes batches in creation order). */
export async function processedEvents(t: T): Promise<AnalyticsEvent[]> {
  return await t.run(async (ctx) => (await batchesByState(ctx)).processed.flatMap((b) => b.events));
}

export async function tableCounts(t: T) {
  return await t.run(async (ctx) => ({
    queued: (await batchesByState(ctx)).queued.length,
    batches: (await ctx.db.query("batches").collect()).length,
    sessions: (await ctx.db.query("sessions").collect()).length,
    rollupDeltas: (await ctx.db.query("rollupDeltas").collect()).length,
    rollupStaging: (await ctx.db.query("rollupStaging").collect()).length,
    rollups: (await ctx.db.query("rollups").collect()).length,
  }));
}

export const iso = (ms: number) => new Date(ms).toISOString().slice(0, 13);

/**
 * Which reports a check compares: by default all of them (every granularity that fits the
 * range, every breakdown dimension at limits 1000 and 5). The soak (bench/oracle.soak.test.ts)
 * runs many small cases and compares a generated subset in each.
 */
export type ReportChecks = {
  /** The ranges compared at the end: the whole stream, its DST day, the scenario's short and long ranges. */
  ranges?: readonly ("stream" | "dstDay" | "short" | "long")[];
  granularities?: readonly Granularity[];
  dimensions?: readonly Dimension[];
};

/** Every report over [from, to) equals the oracle exactly. */
export async function expectReportsMatch(
  t: T,
  siteId: string,
  model: OracleModel,
  rawFrom: number,
  rawTo: number,
  label: string,
  tz = TZ,
  checks: ReportChecks = {},
): Promise<void> {
  // Reports round a range out to the site's local hours; the oracle counts over the same span.
  const { from, to } = alignRange(rawFrom, rawTo, HOUR, hourPhase(tz));
  const where = `${label} ${tz} [${iso(from)}, ${iso(to)})`;
  expect(await t.query(api.reports.getOverview, { siteId, from, to }), `overview ${where}`).toEqual(
    oracleOverview(model, from, to),
  );
  const granularities = (checks.granularities ?? ["hour", "day", "week", "month"]).filter(
    (g) => g !== "hour" || to - from <= 2 * DAY,
  );
  for (const granularity of granularities) {
    expect(
      await t.query(api.reports.getTimeseries, { siteId, from, to, granularity }),
      `timeseries ${granularity} ${where}`,
    ).toEqual(oracleTimeseries(model, from, to, granularity, tz));
  }
  for (const dimension of checks.dimensions ?? BREAKDOWN_DIMENSIONS) {
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
  for (const { event, property } of PROPERTY_BREAKDOWNS) {
    for (const limit of [1000, 2]) {
      expect(
        await t.query(api.reports.getPropertyBreakdown, {
          ...{ siteId, from, to, event, property, limit },
        }),
        `property breakdown ${event}.${property} limit ${limit} ${where}`,
      ).toEqual(oraclePropertyBreakdown(model, from, to, event, property, limit));
    }
  }
}

/** The (event, property) pairs the streams send (oracle.streams.testlib.ts), and one they never do. */
const PROPERTY_BREAKDOWNS = [
  { event: "signup", property: "plan" },
  { event: "download", property: "seats" },
  { event: "outbound", property: "trial" },
  { event: "pageview", property: "author" },
  { event: "signup", property: "author" },
];

/**
 * Every report compared with `compare` equals the oracle over the compared
 * period: the period is comparisonRange's (timeRanges.test.ts checks it against hand
 * computed dates), the base numbers are unchanged, timeseries points align by
 * position and a breakdown's comparison lists the base rows' keys in order.
 */
export async function expectComparisonsMatch(
  t: T,
  siteId: string,
  model: OracleModel,
  rawFrom: number,
  rawTo: number,
  compare: Compare,
  label: string,
  tz = TZ,
): Promise<void> {
  const { from, to } = alignRange(rawFrom, rawTo, HOUR, hourPhase(tz));
  const period = comparisonRange(from, to, compare, tz, HOUR, hourPhase(tz));
  const where = `${label} ${JSON.stringify(compare)} ${tz} [${iso(from)}, ${iso(to)}) vs [${iso(period.from)}, ${iso(period.to)})`;
  expect(
    await t.query(api.reports.getOverview, { siteId, from, to, compare }),
    `overview ${where}`,
  ).toEqual({
    ...oracleOverview(model, from, to),
    comparison: { ...period, ...oracleOverview(model, period.from, period.to) },
  });
  // Hour points cover at most 31 days, and a custom period may be longer than the base.
  const granularity: Granularity =
    Math.max(to - from, period.to - period.from) <= 2 * DAY ? "hour" : "day";
  const base = oracleTimeseries(model, from, to, granularity, tz);
  expect(
    await t.query(api.reports.getTimeseries, { siteId, from, to, granularity, compare }),
    `timeseries ${granularity} ${where}`,
  ).toEqual({
    ...base,
    comparison: {
      ...period,
      points: oracleTimeseries(model, period.from, period.to, granularity, tz).points.slice(
        0,
        base.points.length,
      ),
    },
  });
  for (const dimension of ["page", "referrer", "exitPage", "prop"] as const) {
    const rows = oracleBreakdown(model, from, to, dimension, 5).rows;
    const keys = rows.map((r) => r.key);
    expect(
      await t.query(api.reports.getBreakdown, { siteId, from, to, dimension, limit: 5, compare }),
      `breakdown ${dimension} ${where}`,
    ).toEqual({
      rows,
      comparison: {
        ...period,
        rows: oracleRowsForKeys(model, period.from, period.to, dimension, keys),
      },
    });
  }
  const { event, property } = PROPERTY_BREAKDOWNS[0]!;
  const props = oraclePropertyBreakdown(model, from, to, event, property, 1000).rows;
  const then = new Map(
    oraclePropertyBreakdown(model, period.from, period.to, event, property, 1000).rows.map((r) => [
      r.key,
      r,
    ]),
  );
  expect(
    await t.query(api.reports.getPropertyBreakdown, {
      ...{ siteId, from, to, event, property, compare },
    }),
    `property breakdown ${where}`,
  ).toEqual({
    rows: props.slice(0, 10),
    comparison: {
      ...period,
      rows: props.slice(0, 10).map((r) => then.get(r.key) ?? zeroBreakdownRow(r.key)),
    },
  });
}

/** Drives one scenario and compares every report with the oracle; returns the events checked. */
export async function runScenario(
  scenario: Scenario,
  checks: ReportChecks = {},
): Promise<{ events: number }> {
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

  // Exactly once: one batch per distinct batchId, nothing left queued, the raw events are what was sent.
  const counts = await tableCounts(t);
  expect(counts.queued).toBe(0);
  expect(counts.batches).toBe(new Set(sent.map((b) => b.batchId)).size);
  const processed = await processedEvents(t);
  expect(processed.length).toBe(sent.reduce((n, b) => n + b.events.length, 0));

  // The site's loop takes the settled batches in the order they were received (created); the
  // events' times follow the batches' own clock, not that order. The oracle replays what was
  // processed, in processing order: exactly the sent events, each once.
  expect(processed.map((e) => e.id).sort()).toEqual(
    sent.flatMap((b) => b.events.map((e) => e.id)).sort(),
  );
  const model = buildModel(processed);
  const named = {
    stream: { from: STREAM_FROM, to: STREAM_TO },
    dstDay: DST_DAY,
    short: scenario.ranges[0],
    long: scenario.ranges[1],
  };
  const ranges = (checks.ranges ?? ["stream", "dstDay", "short", "long"]).map((r) => named[r]);
  for (const { from, to } of ranges)
    await expectReportsMatch(t, siteId, model, from, to, "before final compaction", tz, checks);
  await compactAll(t);
  expect((await tableCounts(t)).rollupStaging).toBe(0);
  for (const { from, to } of ranges)
    await expectReportsMatch(t, siteId, model, from, to, "after final compaction", tz, checks);
  // Compared periods: the one before, 52 weeks back, and another of the ranges.
  for (const [i, { from, to }] of ranges.entries()) {
    const other = ranges[(i + 1) % ranges.length]!;
    for (const compare of ["previous", "yearOverYear", other] as const)
      await expectComparisonsMatch(t, siteId, model, from, to, compare, "compacted", tz);
  }
  return { events: processed.length };
}
