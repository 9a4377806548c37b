// Funnels against a brute-force oracle: random visitors' streams, cut into
// random batches ingested in random order, processed by the worker, then
// scanned (scans.ts) must give exactly the visitors per step that an exhaustive
// search over the raw events gives, in both modes, with and without a window;
// the scan says complete and counts every event of the range. A scan whose
// chain dies mid-way resumes to the same answer, showing partial counts before.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import type { AnalyticsEvent, FunnelMode, FunnelStep } from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  createSite,
  drainAll,
  ingest,
  type T,
} from "./oracle.harness.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { pathMatches } from "./funnelMath.js";
import { MAX_SCAN_RESTARTS, SCAN_LEASE_MS, SCAN_PARTITIONS } from "./scans.js";
import { DAY, HOUR, MINUTE } from "./time.js";

const RUNS = Number(process.env.ORACLE_RUNS ?? 8);
const T0 = Date.parse("2026-10-20T00:00:00Z");

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- streams

const PATHS = ["/", "/blog", "/blog/a", "/blog/a/b", "/pricing", "/docs/a", "/docs/a/"];
const arbEvent = fc.record({
  minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
  kind: fc.constantFrom("pageview", "pageview", "track", "identify"),
  path: fc.constantFrom(...PATHS),
  name: fc.constantFrom("signup", "buy"),
  plan: fc.constantFrom(undefined, "pro", "free"),
});
const arbStream = fc.record({
  visitors: fc.array(fc.array(arbEvent, { minLength: 1, maxLength: 12 }), {
    minLength: 1,
    maxLength: 7,
  }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
  order: fc.array(fc.nat(), { maxLength: 40 }),
});
type Stream = typeof arbStream extends fc.Arbitrary<infer S> ? S : never;

const STEP_POOL: FunnelStep[] = [
  { path: "/" },
  { path: "/blog/**" },
  { path: "/blog/*" },
  { path: "/*/a" },
  { path: "/**" },
  { path: "/pricing" },
  { event: "signup" },
  { event: "signup", props: { plan: "pro" } },
  { event: "buy" },
];
const arbFunnel = fc.record({
  steps: fc.array(fc.constantFrom(...STEP_POOL), { minLength: 2, maxLength: 4 }),
  mode: fc.constantFrom<FunnelMode | undefined>(undefined, "sequential", "strict"),
  windowMs: fc.constantFrom(undefined, 30 * MINUTE, 6 * HOUR),
  fromHour: fc.integer({ min: -2, max: 60 }),
  hours: fc.integer({ min: 1, max: 80 }),
});
type FunnelCase = typeof arbFunnel extends fc.Arbitrary<infer S> ? S : never;

function eventsOf(stream: Stream): AnalyticsEvent[] {
  return stream.visitors.flatMap((events, v) =>
    events.map((e, i): AnalyticsEvent => {
      const base = {
        id: `v${v}-e${i}`,
        occurredAt: T0 + e.minute * MINUTE,
        url: `https://shop.test${e.path}`,
        visitorId: `v${v}`,
      };
      if (e.kind === "track")
        return {
          ...base,
          type: "track",
          name: e.name,
          ...(e.plan ? { props: { plan: e.plan } } : {}),
        };
      if (e.kind === "identify") return { ...base, type: "identify", userId: `u${v}` };
      return { ...base, type: "pageview" };
    }),
  );
}

/** Each visitor's events cut into batches (never spanning more than 6 days), ingested in a shuffled order. */
function batchesOf(stream: Stream, events: AnalyticsEvent[]) {
  const batches: { batchId: string; events: AnalyticsEvent[] }[] = [];
  for (const [v] of stream.visitors.entries()) {
    const own = events.filter((e) => e.visitorId === `v${v}`);
    for (let i = 0, cut = 0; i < own.length; cut++) {
      const size = stream.batchSizes[cut % stream.batchSizes.length]!;
      batches.push({ batchId: `v${v}-b${cut}`, events: own.slice(i, i + size) });
      i += size;
    }
  }
  for (const [i, pick] of stream.order.entries()) {
    const a = i % batches.length;
    const b = pick % batches.length;
    [batches[a], batches[b]] = [batches[b]!, batches[a]!];
  }
  return batches;
}

// ---------------------------------------------------------------- the oracle

/** Pattern to regex, independently of funnelMath's matcher: "**" any segments, "*" one. */
function patternRegex(pattern: string): RegExp {
  const parts = pattern.split("/").filter(Boolean);
  const body = parts
    .map((p) =>
      p === "**"
        ? "(?:/[^/]+)*"
        : p === "*"
          ? "/[^/]+"
          : `/${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")}`,
    )
    .join("");
  return new RegExp(`^${body}$`);
}

function oracleMatches(step: FunnelStep, e: AnalyticsEvent): boolean {
  if ("path" in step) {
    const path = new URL(e.url).pathname.replace(/\/+$/, "");
    return e.type === "pageview" && patternRegex(step.path).test(path);
  }
  return (
    e.type === "track" &&
    e.name === step.event &&
    Object.entries(step.props ?? {}).every(([k, value]) => e.props?.[k] === value)
  );
}

/** Visitors per step by exhaustive search over every ordered choice of events. */
function oracleFunnel(events: AnalyticsEvent[], c: FunnelCase, from: number, to: number): number[] {
  const window = c.windowMs ?? Infinity;
  const strict = c.mode === "strict";
  const reached = new Map<string, number>();
  for (const visitor of new Set(events.map((e) => e.visitorId))) {
    const own = events
      .filter((e) => e.visitorId === visitor && e.type !== "identify")
      .filter((e) => e.occurredAt >= from && e.occurredAt < to)
      .sort((a, b) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : 1));
    const deepest = (k: number, last: number, start: number): number => {
      if (k === c.steps.length) return k;
      let best = k;
      const candidates = strict ? [last + 1] : own.map((_, j) => j).filter((j) => j > last);
      for (const j of candidates) {
        const e = own[j];
        if (e && oracleMatches(c.steps[k]!, e) && e.occurredAt - start <= window)
          best = Math.max(best, deepest(k + 1, j, start));
      }
      return best;
    };
    let best = 0;
    for (const [i, e] of own.entries())
      if (oracleMatches(c.steps[0]!, e)) best = Math.max(best, deepest(1, i, e.occurredAt));
    reached.set(visitor, best);
  }
  return c.steps.map((_, k) => [...reached.values()].filter((r) => r > k).length);
}

// ---------------------------------------------------------------- driving

async function ingestStream(t: T, stream: Stream) {
  // Before the stream: convex-test's creation times never go back, and a site created at
  // the real clock's time would push every batch's creation time past the stream.
  vi.setSystemTime(T0 - DAY);
  const siteId = await createSite(t);
  const events = eventsOf(stream);
  for (const batch of batchesOf(stream, events)) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  return { siteId, events };
}

function funnelArgs(siteId: string, c: FunnelCase) {
  const from = T0 + c.fromHour * HOUR;
  const to = from + c.hours * HOUR;
  return {
    siteId,
    from,
    to,
    steps: c.steps,
    ...(c.mode ? { mode: c.mode } : {}),
    ...(c.windowMs ? { windowMs: c.windowMs } : {}),
  };
}

const inRange = (events: AnalyticsEvent[], from: number, to: number) =>
  events.filter((e) => e.occurredAt >= from && e.occurredAt < to).length;

describe("funnels", () => {
  test(
    "visitors per step equal a brute-force oracle over the raw events, in both modes, and the scan is complete",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          arbStream,
          fc.array(arbFunnel, { minLength: 1, maxLength: 3 }),
          async (stream, cases) => {
            const t = initConvexTest();
            const { siteId, events } = await ingestStream(t, stream);
            for (const c of cases) {
              const args = funnelArgs(siteId, c);
              await t.mutation(api.funnels.startFunnel, args);
              await t.finishAllScheduledFunctions(vi.runAllTimers);
              const funnel = await t.query(api.funnels.getFunnel, args);
              const expected = oracleFunnel(events, c, args.from, args.to);
              expect(funnel.steps.map((s) => s.visitors)).toEqual(expected);
              expect(funnel).toMatchObject({
                complete: true,
                stale: false,
                error: null,
                scannedEvents: inRange(events, args.from, args.to),
              });
              // Conversion and drop-off follow from the counts.
              for (const [k, s] of funnel.steps.entries()) {
                expect(s.conversionRate).toBe(
                  expected[0] === 0 ? null : expected[k]! / expected[0]!,
                );
                expect(s.dropOff).toBe(k === 0 ? 0 : expected[k - 1]! - expected[k]!);
              }
            }
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  test("a scan whose step chain dies mid-way shows exact partial counts, then resumes to the oracle's answer", async () => {
    const stream: Stream = fc.sample(
      arbStream.filter((s) => s.visitors.length >= 5),
      { seed: SEED, numRuns: 1 },
    )[0]!;
    const t = initConvexTest();
    const { siteId, events } = await ingestStream(t, stream);
    const c: FunnelCase = {
      steps: [{ path: "/**" }, { path: "/blog/**" }],
      mode: undefined,
      windowMs: undefined,
      fromHour: -2,
      hours: 80,
    };
    const args = funnelArgs(siteId, c);
    const expected = oracleFunnel(events, c, args.from, args.to);
    const { scanId } = await t.mutation(api.funnels.startFunnel, args);
    // The collect step and half the partitions, by hand; then the chain dies (its next step is lost).
    for (let i = 0; i < 1 + SCAN_PARTITIONS / 2; i++)
      await t.mutation(internal.scans.scanStep, { scanId: scanId as Id<"scans"> });
    await t.run(async (ctx) => {
      for (const job of await ctx.db.system.query("_scheduled_functions").collect())
        if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
    });
    const partial = await t.query(api.funnels.getFunnel, args);
    expect(partial.complete).toBe(false);
    for (const [k, s] of partial.steps.entries())
      expect(s.visitors).toBeLessThanOrEqual(expected[k]!);
    // Starting again within the lease changes nothing.
    await t.mutation(api.funnels.startFunnel, args);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await t.query(api.funnels.getFunnel, args)).complete).toBe(false);
    // After it, the kick cron resumes the scan where it stopped.
    vi.advanceTimersByTime(SCAN_LEASE_MS + 1);
    await t.mutation(api.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const funnel = await t.query(api.funnels.getFunnel, args);
    expect(funnel.steps.map((s) => s.visitors)).toEqual(expected);
    expect(funnel.complete).toBe(true);
    expect(funnel.scannedEvents).toBe(inRange(events, args.from, args.to));
    // Done: its parts are gone, and the answer is one cached row.
    const left = await t.run(async (ctx) => ({
      parts: (await ctx.db.query("scanParts").collect()).length,
      scans: (await ctx.db.query("scans").collect()).length,
    }));
    expect(left).toEqual({ parts: 0, scans: 1 });
  });

  test("a cached answer goes stale when the worker processes more events, and a new scan replaces it", async () => {
    vi.setSystemTime(T0 + DAY);
    const t = initConvexTest();
    const siteId = await createSite(t);
    const page = (id: string, minute: number, path: string): AnalyticsEvent => ({
      id,
      type: "pageview",
      occurredAt: T0 + minute * MINUTE,
      url: `https://shop.test${path}`,
      visitorId: id.slice(0, 2),
    });
    await ingest(t, siteId, {
      batchId: "b1",
      events: [page("v1-1", 10, "/"), page("v1-2", 11, "/pricing")],
    });
    await drainAll(t, siteId);
    const args = {
      siteId,
      from: T0,
      to: T0 + 2 * HOUR,
      steps: [{ path: "/" }, { path: "/pricing" }],
    };
    await t.mutation(api.funnels.startFunnel, args);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.query(api.funnels.getFunnel, args)).toMatchObject({
      complete: true,
      stale: false,
    });
    await ingest(t, siteId, {
      batchId: "b2",
      events: [page("v2-1", 20, "/"), page("v2-2", 21, "/pricing")],
    });
    await drainAll(t, siteId);
    const stale = await t.query(api.funnels.getFunnel, args);
    expect(stale).toMatchObject({ complete: true, stale: true });
    expect(stale.steps.map((s) => s.visitors)).toEqual([1, 1]);
    await t.mutation(api.funnels.startFunnel, args);
    // While the new scan runs, the complete older answer is shown, still marked stale.
    expect(await t.query(api.funnels.getFunnel, args)).toEqual(stale);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const fresh = await t.query(api.funnels.getFunnel, args);
    expect(fresh).toMatchObject({ complete: true, stale: false, scannedEvents: 4 });
    expect(fresh.steps.map((s) => s.visitors)).toEqual([2, 2]);
    expect(await t.run(async (ctx) => (await ctx.db.query("scans").collect()).length)).toBe(1);
  });

  test("a scan that dies again and again stops after 5 restarts, with the reason", async () => {
    vi.setSystemTime(T0);
    const t = initConvexTest();
    const siteId = await createSite(t);
    const args = { siteId, from: T0 - HOUR, to: T0, steps: [{ path: "/" }, { event: "signup" }] };
    const loseScheduledSteps = () =>
      t.run(async (ctx) => {
        for (const job of await ctx.db.system.query("_scheduled_functions").collect())
          if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
      });
    await t.mutation(api.funnels.startFunnel, args);
    for (let i = 0; i <= MAX_SCAN_RESTARTS; i++) {
      await loseScheduledSteps();
      vi.advanceTimersByTime(SCAN_LEASE_MS + 1);
      await t.mutation(api.funnels.startFunnel, args);
    }
    expect(await t.query(api.funnels.getFunnel, args)).toMatchObject({
      complete: false,
      error: "The scan stopped after 5 restarts without progress",
    });
  });

  test("retention deletes expired scans and their parts", async () => {
    vi.setSystemTime(T0);
    const t = initConvexTest();
    const siteId = await createSite(t);
    const args = { siteId, from: T0 - HOUR, to: T0, steps: [{ path: "/" }, { event: "signup" }] };
    await t.mutation(api.funnels.startFunnel, args);
    vi.setSystemTime(T0 + 8 * DAY);
    await t.mutation(api.maintenance.applyRetention, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => ({
      parts: (await ctx.db.query("scanParts").collect()).length,
      scans: (await ctx.db.query("scans").collect()).length,
    }));
    expect(left).toEqual({ parts: 0, scans: 0 });
  });

  test("bad funnels are refused with a clear error", async () => {
    vi.setSystemTime(T0);
    const t = initConvexTest();
    const siteId = await createSite(t);
    const range = { siteId, from: T0 - HOUR, to: T0 };
    const refused = async (extra: object, message: string) =>
      await expect(
        t.query(api.funnels.getFunnel, {
          ...range,
          steps: [{ path: "/" }, { path: "/a" }],
          ...extra,
        }),
      ).rejects.toThrow(message);
    await refused({ steps: [{ path: "/" }] }, "A funnel has 2 to 8 steps");
    await refused(
      { steps: Array.from({ length: 9 }, () => ({ path: "/" })) },
      "A funnel has 2 to 8 steps",
    );
    await refused(
      { steps: [{ path: "/" }, { path: "blog" }] },
      'A funnel path must start with "/"',
    );
    await refused(
      { steps: [{ path: "/" }, { path: "/blog*" }] },
      "neither can be part of a segment",
    );
    await refused(
      { steps: [{ path: "/" }, { event: "" }] },
      "A funnel event name has 1 to 200 characters",
    );
    await refused({ windowMs: 0 }, "windowMs must be a positive number");
    await refused({ from: T0, to: T0 - HOUR }, "Invalid range");
  });

  test("path patterns: * is one whole segment, ** any number of them (none included)", () => {
    const cases: [string, string, boolean][] = [
      ["/blog/**", "/blog", true],
      ["/blog/**", "/blog/a/b", true],
      ["/blog/**", "/blogs", false],
      ["/blog/*", "/blog", false],
      ["/blog/*", "/blog/a", true],
      ["/blog/*", "/blog/a/b", false],
      ["/*/a", "/docs/a", true],
      ["/**/b", "/a/c/b", true],
      ["/**/b", "/b", true],
      ["/", "/", true],
      ["/", "/a", false],
      ["/**", "/", true],
    ];
    for (const [pattern, path, want] of cases)
      expect([pattern, path, pathMatches(pattern, path)]).toEqual([pattern, path, want]);
  });
});
