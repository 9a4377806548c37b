// The goals oracle and the goals tests' shared steps. The oracle counts goals
// by brute force over the processed events, with its own path matching (a
// regular expression per pattern) and its own revenue sum: it shares only
// pagePath, the bucket calendar and the model's visitors (oracle.testlib.ts)
// with the product.
import { expect } from "vitest";
import { api } from "./_generated/api.js";
import type { AnalyticsEvent, Compare, GoalMatch, GoalRevenue, GoalsReport } from "../shared.js";
import { pagePath } from "./events.js";
import { buildModel, oracleOverview } from "./oracle.testlib.js";
import { processedEvents, type T } from "./oracle.harness.testlib.js";
import { HOUR, alignRange, comparisonRange, hourPhase } from "./time.js";

export type GoalDef = { name: string; match: GoalMatch; revenue?: GoalRevenue };

/** One of each kind: path patterns (with `*` and `**`), an event, an event with props, revenue. */
export const ORACLE_GOALS: GoalDef[] = [
  { name: "Docs", match: { path: "/docs/**" } },
  { name: "Blog post", match: { path: "/blog/*" } },
  { name: "Any page", match: { path: "/**" } },
  { name: "Signup", match: { event: "signup" } },
  { name: "Pro signup", match: { event: "signup", props: { plan: "pro" } } },
  { name: "Seats", match: { event: "download" }, revenue: { property: "seats", currency: "EUR" } },
  { name: "Trial outbound", match: { event: "outbound", props: { trial: true } } },
];

/** The pattern as a regular expression over the path's segments, written independently of pathMatches. */
function patternRegex(pattern: string): RegExp {
  const parts = pattern
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) =>
      s === "**"
        ? "(?:/[^/]+)*"
        : s === "*"
          ? "/[^/]+"
          : "/" + s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    );
  return new RegExp(`^${parts.join("")}$`);
}

function converts(match: GoalMatch, e: AnalyticsEvent): boolean {
  if ("path" in match) {
    if (e.type !== "pageview") return false;
    const path = pagePath(e.url);
    return patternRegex(match.path).test(path === "/" ? "" : path.replace(/\/+/g, "/"));
  }
  if (e.type !== "track" || e.name !== match.event) return false;
  return Object.entries(match.props ?? {}).every(([k, v]) => e.props?.[k] === v);
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** What getGoals must answer for `goals` over [from, to) (already aligned), from the processed events. */
export function oracleGoals(
  processed: readonly AnalyticsEvent[],
  goals: readonly (GoalDef & { goalId: string })[],
  from: number,
  to: number,
) {
  const { visitors } = oracleOverview(buildModel(processed), from, to);
  const inRange = processed.filter(
    (e) => e.type !== "identify" && e.occurredAt >= from && e.occurredAt < to,
  );
  return {
    visitors,
    goals: goals.map((g) => {
      const hits = inRange.filter((e) => converts(g.match, e));
      const converters = new Set(hits.map((e) => e.visitorId)).size;
      let units = 0;
      if (g.revenue)
        for (const e of hits) {
          const value = e.props?.[g.revenue.property];
          if (typeof value === "number") units += Math.round(value * 1000);
        }
      return {
        goalId: g.goalId,
        conversions: hits.length,
        converters,
        conversionRate: ratio(converters, visitors),
        revenue: g.revenue ? units / 1000 : null,
      };
    }),
  };
}

export async function createGoals(t: T, siteId: string, defs: readonly GoalDef[]) {
  const out: (GoalDef & { goalId: string })[] = [];
  for (const def of defs) {
    const { goalId } = await t.mutation(api.goals.createGoal, { siteId, ...def });
    out.push({ ...def, goalId });
  }
  return out;
}

/** getGoals over [rawFrom, rawTo) (and compared, when asked) equals the oracle of what the worker processed. */
export async function expectGoalsMatch(
  t: T,
  siteId: string,
  goals: readonly (GoalDef & { goalId: string })[],
  rawFrom: number,
  rawTo: number,
  tz: string,
  label: string,
  compare?: Compare,
  processed?: readonly AnalyticsEvent[],
): Promise<GoalsReport> {
  const events = processed ?? (await processedEvents(t));
  const { from, to } = alignRange(rawFrom, rawTo, HOUR, hourPhase(tz));
  const report = await t.query(api.goals.getGoals, { siteId, from, to, compare });
  const want = oracleGoals(events, goals, from, to);
  const where = `${label} [${new Date(from).toISOString()}, ${new Date(to).toISOString()})`;
  expect(
    {
      visitors: report.visitors,
      goals: report.goals.map(({ name: _n, currency: _c, backfilling: _b, ...g }) => g),
    },
    `goals ${where}`,
  ).toEqual(want);
  expect(report.goals.map((g) => g.backfilling)).toEqual(goals.map(() => false));
  expect(report.goals.map((g) => g.currency)).toEqual(
    goals.map((g) => g.revenue?.currency ?? null),
  );
  if (compare !== undefined) {
    const period = comparisonRange(from, to, compare, tz, HOUR, hourPhase(tz));
    expect(report.comparison, `goals compared ${JSON.stringify(compare)} ${where}`).toEqual({
      ...period,
      ...oracleGoals(events, goals, period.from, period.to),
    });
  }
  return report;
}
