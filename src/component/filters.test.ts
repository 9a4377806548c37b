// Report filters against a brute-force oracle (oracle.filters.testlib.ts): the
// oracle's random visitors (sources, UTM, countries that roam mid-session, DST),
// ingested and processed, then every filter that rollups answer, and random
// filter combinations through the raw-event scan, must equal the oracle over
// the filtered raw events exactly; scanned answers say complete and count every
// event of the range. A scan resumed by kick, caching and refusals too
// (routing: filterMath.test.ts).
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import {
  FILTER_DIMENSIONS,
  type AnalyticsEvent,
  type Compare,
  type Dimension,
  type Filter,
  type FilterOp,
  type StartFilterScanArgs,
} from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import {
  PROPERTY_TIMEOUT_MS,
  SEED,
  createSite,
  drainAll,
  ingest,
  processedEvents,
  type T,
} from "./oracle.harness.testlib.js";
import {
  STREAM_FROM,
  STREAM_TO,
  arbScenario,
  batchesOf,
  type Scenario,
} from "./oracle.streams.testlib.js";
import {
  buildModel,
  oracleBreakdown,
  oracleOverview,
  oracleRowsForKeys,
  oracleTimeseries,
  type OracleModel,
} from "./oracle.testlib.js";
import { filterKeys, filterModel } from "./oracle.filters.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { ROLLUP_FILTER_DIMENSIONS } from "./filterMath.js";
import { SCAN_LEASE_MS, SCAN_PARTITIONS } from "./scans.js";
import { DAY, HOUR, MINUTE, alignRange, comparisonRange, hourPhase } from "./time.js";

const RUNS = Number(process.env.ORACLE_RUNS ?? 4);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- driving

/** Every visitor's batches, each sent just after its last event (so creation follows event time), then processed. */
async function ingestScenario(t: T, scenario: Scenario) {
  vi.setSystemTime(Date.parse("2026-10-01T00:00:00Z"));
  const siteId = await createSite(t, scenario.timezone);
  // Raw events kept long enough for compared periods a year back (scans refuse ranges past it).
  await t.mutation(api.sites.updateSite, { siteId, settings: { rawRetentionDays: 1_000 } });
  const batches = scenario.visitors.flatMap(batchesOf);
  const sentAt = (b: { events: AnalyticsEvent[] }) =>
    Math.max(...b.events.map((e) => e.occurredAt));
  for (const batch of batches.sort((a, b) => sentAt(a) - sentAt(b))) await ingest(t, siteId, batch);
  await drainAll(t, siteId);
  const processed = await processedEvents(t);
  return { siteId, processed, model: buildModel(processed) };
}

/** A filter from generated choices, its value one of the model's keys (or a part of one, or none). */
const arbFilterChoice = fc.record({
  dimension: fc.constantFrom(...FILTER_DIMENSIONS),
  op: fc.constantFrom<FilterOp>("is", "is", "isNot", "contains"),
  pick: fc.nat(),
  absent: fc.boolean(),
});
type FilterChoice = typeof arbFilterChoice extends fc.Arbitrary<infer C> ? C : never;

function filterOf(model: OracleModel, c: FilterChoice): Filter {
  const keys = filterKeys(model, c.dimension);
  if (keys.length === 0 || (c.absent && c.pick % 5 === 0))
    return { dimension: c.dimension, op: c.op, value: "never-seen" };
  const key = keys[c.pick % keys.length]!;
  // contains: a piece of the key (its middle third, at least one character).
  const value =
    c.op === "contains" && key.length > 2
      ? key.slice(
          Math.floor(key.length / 3),
          Math.max(Math.ceil((2 * key.length) / 3), 1 + Math.floor(key.length / 3)),
        )
      : key;
  return { dimension: c.dimension, op: c.op, value };
}

/** Every dimension a filtered breakdown can be by (all but total). */
const BREAKDOWN_BY: Dimension[] = [...FILTER_DIMENSIONS, "prop"];

/** Runs the filtered report's scan to the end. */
async function scanToEnd(t: T, args: StartFilterScanArgs) {
  await t.mutation(api.filters.startFilterScan, args);
  await t.finishAllScheduledFunctions(vi.runAllTimers);
}

const inRange = (events: AnalyticsEvent[], from: number, to: number) =>
  events.filter((e) => e.occurredAt >= from && e.occurredAt < to).length;

// ---------------------------------------------------------------- tests

describe("filters", () => {
  test(
    "rollup-answered filters equal the oracle over the filtered raw events: overview, timeseries and compared periods",
    async () => {
      await fc.assert(
        fc.asyncProperty(arbScenario, fc.nat(), async (scenario, pick) => {
          vi.clearAllTimers();
          const t = initConvexTest();
          const { siteId, model } = await ingestScenario(t, scenario);
          const tz = scenario.timezone;
          for (const raw of scenario.ranges) {
            const { from, to } = alignRange(raw.from, raw.to, HOUR, hourPhase(tz));
            const granularity = to - from <= 2 * DAY ? "hour" : "day";
            for (const dimension of ROLLUP_FILTER_DIMENSIONS) {
              const keys = filterKeys(model, dimension);
              const value = keys.length === 0 ? "never-seen" : keys[pick % keys.length]!;
              const filters: Filter[] = [{ dimension, op: "is", value }];
              const filtered = filterModel(model, filters);
              const where = `${dimension} is ${value} [${new Date(from).toISOString()}, ${new Date(to).toISOString()})`;
              expect(
                await t.query(api.reports.getOverview, { siteId, from, to, filters }),
                `overview ${where}`,
              ).toEqual({
                ...oracleOverview(filtered, from, to),
                complete: true,
                scannedEvents: 0,
                stale: false,
                error: null,
              });
              const series = await t.query(api.reports.getTimeseries, {
                ...{ siteId, from, to, filters, granularity, compare: "previous" },
              });
              const previous = alignRange(from - (to - from), from, HOUR, hourPhase(tz));
              expect(series.points, `timeseries ${where}`).toEqual(
                oracleTimeseries(filtered, from, to, granularity, tz).points,
              );
              expect(series.comparison!.points, `compared timeseries ${where}`).toEqual(
                oracleTimeseries(
                  filtered,
                  previous.from,
                  previous.to,
                  granularity,
                  tz,
                ).points.slice(0, series.points.length),
              );
              expect(series).toMatchObject({ complete: true, scannedEvents: 0 });
            }
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  test(
    "random filter combinations through the scan equal the oracle exactly, complete, every event of the range scanned",
    async () => {
      let nonEmpty = 0;
      let all = 0;
      await fc.assert(
        fc.asyncProperty(
          arbScenario,
          fc.array(
            fc.record({
              filters: fc.array(arbFilterChoice, { minLength: 1, maxLength: 3 }),
              report: fc.constantFrom("overview", "timeseries", "breakdown"),
              dimension: fc.constantFrom(...BREAKDOWN_BY),
              range: fc.constantFrom(0, 1, 2, 2, 2),
              compare: fc.constantFrom<Compare | undefined>(
                undefined,
                undefined,
                "previous",
                "yearOverYear",
              ),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          async (scenario, cases) => {
            vi.clearAllTimers();
            const t = initConvexTest();
            const { siteId, model, processed } = await ingestScenario(t, scenario);
            const tz = scenario.timezone;
            for (const c of cases) {
              const raw = [...scenario.ranges, { from: STREAM_FROM, to: STREAM_TO }][c.range]!;
              const { from, to } = alignRange(raw.from, raw.to, HOUR, hourPhase(tz));
              // Two filters so that a single `is` filter goes through the scan too.
              const filters = [
                ...c.filters.map((f) => filterOf(model, f)),
                { dimension: "os", op: "isNot", value: "never-seen" } as Filter,
              ];
              const filtered = filterModel(model, filters);
              if (
                filtered.events.some((e) => e.event.occurredAt >= from && e.event.occurredAt < to)
              )
                nonEmpty++;
              all++;
              const where = `${JSON.stringify(filters)} ${c.report} [${new Date(from).toISOString()}, ${new Date(to).toISOString()})`;
              // With `compare`, the compared period is scanned too (comparisonRange: time.test.ts).
              const then = c.compare
                ? comparisonRange(from, to, c.compare, tz, HOUR, hourPhase(tz))
                : null;
              const progress = {
                complete: true,
                stale: false,
                error: null,
                scannedEvents:
                  inRange(processed, from, to) +
                  (then ? inRange(processed, then.from, then.to) : 0),
              };
              const base = {
                siteId,
                from,
                to,
                filters,
                ...(c.compare ? { compare: c.compare } : {}),
              };
              if (c.report === "overview") {
                await scanToEnd(t, { report: "overview", ...base });
                expect(await t.query(api.reports.getOverview, base), where).toEqual({
                  ...oracleOverview(filtered, from, to),
                  ...(then
                    ? { comparison: { ...then, ...oracleOverview(filtered, then.from, then.to) } }
                    : {}),
                  ...progress,
                });
              } else if (c.report === "timeseries") {
                const granularity = to - from <= 2 * DAY ? "hour" : "day";
                await scanToEnd(t, { report: "timeseries", ...base, granularity });
                const expected = oracleTimeseries(filtered, from, to, granularity, tz);
                expect(
                  await t.query(api.reports.getTimeseries, { ...base, granularity }),
                  where,
                ).toEqual({
                  ...expected,
                  ...(then
                    ? {
                        comparison: {
                          ...then,
                          points: oracleTimeseries(
                            filtered,
                            then.from,
                            then.to,
                            granularity,
                            tz,
                          ).points.slice(0, expected.points.length),
                        },
                      }
                    : {}),
                  ...progress,
                });
              } else {
                const args = { ...base, dimension: c.dimension, limit: 1000 };
                await scanToEnd(t, { report: "breakdown", ...args });
                for (const limit of [1000, 3]) {
                  // Another limit reads the same cached scans.
                  const expected = oracleBreakdown(filtered, from, to, c.dimension, limit);
                  const keys = expected.rows.map((r) => r.key);
                  expect(
                    await t.query(api.reports.getBreakdown, { ...args, limit }),
                    `${c.dimension} limit ${limit} ${where}`,
                  ).toEqual({
                    ...expected,
                    ...(then
                      ? {
                          comparison: {
                            ...then,
                            rows: oracleRowsForKeys(
                              filtered,
                              then.from,
                              then.to,
                              c.dimension,
                              keys,
                            ),
                          },
                        }
                      : {}),
                    ...progress,
                  });
                }
              }
            }
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Most cases select something: the property is not passing on empty answers.
      expect(nonEmpty).toBeGreaterThan(all / 4);
    },
    PROPERTY_TIMEOUT_MS,
  );

  test("a scan whose chain dies shows a partial answer, then the kick resumes it to the oracle's", async () => {
    const scenario = fc.sample(
      arbScenario.filter((s) => s.visitors.length >= 3),
      { seed: SEED, numRuns: 1 },
    )[0]!;
    const t = initConvexTest();
    const { siteId, model, processed } = await ingestScenario(t, scenario);
    const from = Date.parse("2026-10-10T00:00:00Z");
    const to = Date.parse("2026-12-04T00:00:00Z");
    const { from: f, to: tt } = alignRange(from, to, HOUR, hourPhase(scenario.timezone));
    const filters: Filter[] = [
      { dimension: "country", op: "isNot", value: "DE" },
      { dimension: "page", op: "contains", value: "/" },
    ];
    const args = { siteId, from, to, filters, dimension: "page" as const, limit: 1000 };
    const expected = oracleBreakdown(filterModel(model, filters), f, tt, "page", 1000);
    const { scanId } = await t.mutation(api.filters.startFilterScan, {
      report: "breakdown",
      ...args,
    });
    expect(scanId).not.toBeNull();
    for (let i = 0; i < 1 + SCAN_PARTITIONS / 2; i++)
      await t.mutation(internal.scans.scanStep, { scanId: scanId as Id<"scans"> });
    await t.run(async (ctx) => {
      for (const job of await ctx.db.system.query("_scheduled_functions").collect())
        if (job.state.kind === "pending") await ctx.scheduler.cancel(job._id);
    });
    const partial = await t.query(api.reports.getBreakdown, args);
    expect(partial.complete).toBe(false);
    for (const row of partial.rows)
      expect(row.visitors).toBeLessThanOrEqual(
        expected.rows.find((r) => r.key === row.key)!.visitors,
      );
    vi.advanceTimersByTime(SCAN_LEASE_MS + 1);
    await t.mutation(api.maintenance.kick, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.query(api.reports.getBreakdown, args)).toEqual({
      ...expected,
      complete: true,
      stale: false,
      error: null,
      scannedEvents: inRange(processed, f, tt),
    });
    const left = await t.run(async (ctx) => (await ctx.db.query("scanParts").collect()).length);
    expect(left).toBe(0);
  });

  test("a repeat view reads the cached scan; new data makes it stale until a new scan replaces it", async () => {
    const T0 = Date.parse("2026-10-20T00:00:00Z");
    vi.setSystemTime(T0 - DAY);
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const page = (id: string, minute: number, path: string, country: string): AnalyticsEvent => ({
      id,
      type: "pageview",
      occurredAt: T0 + minute * MINUTE,
      url: `https://shop.test${path}`,
      visitorId: id.slice(0, 2),
      country,
    });
    await ingest(t, siteId, {
      batchId: "b1",
      events: [page("v1-1", 10, "/", "US"), page("v1-2", 11, "/pricing", "US")],
    });
    await drainAll(t, siteId);
    const args = {
      siteId,
      from: T0,
      to: T0 + 2 * HOUR,
      filters: [
        { dimension: "country", op: "is", value: "US" },
        { dimension: "page", op: "is", value: "/pricing" },
      ] as Filter[],
    };
    // Before any scan: an empty, incomplete answer.
    expect(await t.query(api.reports.getOverview, args)).toMatchObject({
      visitors: 0,
      complete: false,
      scannedEvents: 0,
    });
    await scanToEnd(t, { report: "overview", ...args });
    const first = await t.query(api.reports.getOverview, args);
    expect(first).toMatchObject({ visitors: 1, pageviews: 1, complete: true, stale: false });
    // Starting again reuses the scan: no new row, nothing scheduled.
    expect(await t.mutation(api.filters.startFilterScan, { report: "overview", ...args })).toEqual(
      await t.mutation(api.filters.startFilterScan, { report: "overview", ...args }),
    );
    expect(await t.run(async (ctx) => (await ctx.db.query("scans").collect()).length)).toBe(1);
    await ingest(t, siteId, { batchId: "b2", events: [page("v2-1", 20, "/pricing", "US")] });
    await drainAll(t, siteId);
    expect(await t.query(api.reports.getOverview, args)).toEqual({ ...first, stale: true });
    await scanToEnd(t, { report: "overview", ...args });
    expect(await t.query(api.reports.getOverview, args)).toMatchObject({
      visitors: 2,
      pageviews: 2,
      complete: true,
      stale: false,
      scannedEvents: 3,
    });
    expect(await t.run(async (ctx) => (await ctx.db.query("scans").collect()).length)).toBe(1);
    // Rollup-answered and unfiltered reports start no scan.
    expect(
      await t.mutation(api.filters.startFilterScan, {
        report: "overview",
        siteId,
        from: T0,
        to: T0 + HOUR,
        filters: [{ dimension: "country", op: "is", value: "US" }],
      }),
    ).toEqual({ scanId: null });
  });

  test("refusals: a scan past the raw retention, minute points, a filtered breakdown by total", async () => {
    vi.setSystemTime(Date.parse("2026-10-20T00:00:00Z"));
    const t = initConvexTest();
    const siteId = await createSite(t, "UTC");
    const range = { siteId, from: Date.now() - HOUR, to: Date.now() };
    const two: Filter[] = [
      { dimension: "country", op: "is", value: "US" },
      { dimension: "page", op: "is", value: "/" },
    ];
    await expect(
      t.query(api.reports.getOverview, { ...range, from: Date.now() - 91 * DAY, filters: two }),
    ).rejects.toThrow("which are kept 90 days (rawRetentionDays)");
    await expect(
      t.query(api.reports.getOverview, { ...range, filters: two, compare: "yearOverYear" }),
    ).rejects.toThrow("which are kept 90 days (rawRetentionDays)");
    // A rollup answers one `is` filter however old the range (while its rollups are kept).
    await t.query(api.reports.getOverview, {
      ...range,
      from: Date.now() - 91 * DAY,
      filters: [two[0]!],
    });
    await expect(
      t.query(api.reports.getTimeseries, { ...range, filters: two, granularity: "minute" }),
    ).rejects.toThrow("no minute points");
    await expect(
      t.query(api.reports.getTimeseries, {
        ...range,
        filters: [two[0]!],
        granularity: "minute",
      }),
    ).rejects.toThrow("no minute points");
    await expect(
      t.query(api.reports.getBreakdown, { ...range, filters: two, dimension: "total" }),
    ).rejects.toThrow("use getOverview");
  });
});
