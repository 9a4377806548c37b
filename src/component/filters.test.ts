// Report filters against a brute-force oracle (oracle.filters.testlib.ts): the
// oracle's random visitors (sources, UTM, countries that roam mid-session, DST),
// ingested and processed, then every filter that rollups answer, and random
// filter combinations through the raw-event scan, must equal the oracle over
// the filtered raw events exactly; scanned answers say complete and count every
// event of the range. Goal filters (`is` / `isNot` a path-pattern goal or an
// event-and-prop goal) join the random combinations, and a goal's `is` over
// the stream equals the goal's own counts (getGoals, the worker's rollups). A scan resumed by kick, caching and refusals are
// filterScans.test.ts (routing: filterMath.test.ts).
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api.js";
import {
  FILTER_DIMENSIONS,
  type Compare,
  type Dimension,
  type Filter,
  type FilterOp,
} from "../shared.js";
import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
import { PROPERTY_TIMEOUT_MS, SEED } from "./oracle.harness.testlib.js";
import { STREAM_FROM, STREAM_TO, arbScenario } from "./oracle.streams.testlib.js";
import {
  oracleBreakdown,
  oracleOverview,
  oracleRowsForKeys,
  oracleTimeseries,
  type OracleModel,
} from "./oracle.testlib.js";
import { filterKeys, filterModel } from "./oracle.filters.testlib.js";
import { initConvexTest } from "./test.setup.js";
import { ROLLUP_FILTER_DIMENSIONS } from "./filterMath.js";
import { DAY, HOUR, alignRange, comparisonRange, hourPhase } from "./time.js";
import type { CountedGoal } from "./goalMath.js";
import { inRange, ingestScenario, scanToEnd } from "./filters.testlib.js";

const RUNS = Number(process.env.ORACLE_RUNS ?? 4);

enforceConvexDocumentLimits();
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

// ---------------------------------------------------------------- driving

/** The goals the scanned combinations filter by: a path pattern, and an event with a prop. */
const GOALS = [
  { name: "Read the docs", match: { path: "/docs/**" } },
  { name: "Pro signup", match: { event: "signup", props: { plan: "pro" } } },
];

/** A filter from generated choices, its value one of the model's keys (or a part of one, or none); goals are GOALS'. */
const arbFilterChoice = fc.record({
  dimension: fc.constantFrom(...FILTER_DIMENSIONS.filter((d) => d !== "goal")),
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

/** Every dimension a filtered breakdown can be by (all but total and goal). */
const BREAKDOWN_BY: Dimension[] = [...FILTER_DIMENSIONS.filter((d) => d !== "goal"), "prop"];

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
      let withGoal = 0;
      let goalIs = 0;
      await fc.assert(
        fc.asyncProperty(
          arbScenario,
          fc.array(
            fc.record({
              filters: fc.array(arbFilterChoice, { minLength: 1, maxLength: 3 }),
              /**
               * A goal filter too, in two cases of three, with at most `others` of
               * the filters above, and maybe one on the other goal.
               */
              goal: fc.option(
                fc.record({
                  index: fc.nat({ max: GOALS.length - 1 }),
                  op: fc.constantFrom<FilterOp>("is", "is", "isNot"),
                  others: fc.nat({ max: 1 }),
                  other: fc.option(fc.constantFrom<FilterOp>("is", "isNot"), { nil: undefined }),
                }),
                { freq: 3, nil: undefined },
              ),
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
            const goals: CountedGoal[] = [];
            for (const goal of GOALS) {
              const { goalId } = await t.mutation(api.goals.createGoal, { siteId, ...goal });
              goals.push({ id: goalId, match: goal.match });
            }
            const tz = scenario.timezone;
            for (const c of cases) {
              const raw = [...scenario.ranges, { from: STREAM_FROM, to: STREAM_TO }][c.range]!;
              const { from, to } = alignRange(raw.from, raw.to, HOUR, hourPhase(tz));
              // Two filters so that a single `is` filter goes through the scan too.
              const goal = (op: FilterOp, index: number): Filter => ({
                dimension: "goal",
                op,
                value: goals[index % goals.length]!.id,
              });
              const filters = [
                ...(c.goal ? c.filters.slice(0, c.goal.others) : c.filters).map((f) =>
                  filterOf(model, f),
                ),
                { dimension: "os", op: "isNot", value: "never-seen" } as Filter,
                ...(c.goal ? [goal(c.goal.op, c.goal.index)] : []),
                ...(c.goal?.other ? [goal(c.goal.other, c.goal.index + 1)] : []),
              ];
              const filtered = filterModel(model, filters, goals);
              const selects = filtered.events.some(
                (e) => e.event.occurredAt >= from && e.event.occurredAt < to,
              );
              if (c.goal && selects) withGoal++;
              if (c.goal?.op === "is" && selects) goalIs++;
              if (selects) nonEmpty++;
              all++;
              const where = `${JSON.stringify(filters)} ${c.report} [${new Date(from).toISOString()}, ${new Date(to).toISOString()})`;
              // With `compare`, the compared period is scanned too (comparisonRange: timeRanges.test.ts).
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
            // A goal filter's `is` over the stream is what the worker counted for the goal.
            await t.finishAllScheduledFunctions(vi.runAllTimers);
            const stream = alignRange(STREAM_FROM, STREAM_TO, HOUR, hourPhase(tz));
            const counted = await t.query(api.goals.getGoals, { siteId, ...stream });
            for (const [i, goal] of goals.entries()) {
              const only: Filter[] = [{ dimension: "goal", op: "is", value: goal.id }];
              const { events, visitors } = oracleOverview(
                filterModel(model, only, goals),
                stream.from,
                stream.to,
              );
              expect(counted.goals[i], goal.id).toMatchObject({
                goalId: goal.id,
                conversions: events,
                converters: visitors,
                backfilling: false,
              });
            }
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Most cases select something: the property is not passing on empty answers.
      expect(nonEmpty).toBeGreaterThan(all / 4);
      // Goal filters select something too, `is` (a goal's conversions) among them.
      expect(withGoal).toBeGreaterThan(0);
      expect(goalIs).toBeGreaterThan(0);
    },
    PROPERTY_TIMEOUT_MS,
  );
});
