// Goals as pure functions: what a goal's definition may be, whether an event
// converts, and the revenue it brings. The worker (worker.ts applyBatch) and the
// backfill (goalBackfills.ts) both count through these, so a goal means the same
// whether an event was counted live or backfilled. Matching is a funnel step's
// (funnelMath.ts stepMatches): one definition of "this event is that step".
import type { AnalyticsEvent, CreateGoalArgs, GoalMatch, GoalRevenue } from "../shared.js";
import { propertyName, storedPropertyName } from "./events.js";
import { MAX_EVENT_NAME_LENGTH, checkPattern, stepMatches } from "./funnelMath.js";
import type { Counters } from "./rows.js";

/** Goals one site may have: the worker matches every event against each, so this bounds a run's cost. */
export const MAX_GOALS_PER_SITE = 50;
const MAX_GOAL_NAME_LENGTH = 100;
const MAX_PROPERTY_NAME_LENGTH = 200;
const MAX_CURRENCY_LENGTH = 16;

/**
 * Rollup counters are integers (rows.ts COUNTERS, varints in rowCodec.ts), so
 * revenue is stored in thousandths of a currency unit. A goal row carries no
 * session metrics (entries, bounces and duration are the `total`/page rows'),
 * so it keeps its revenue in the `durationMs` counter: no new field, no byte
 * added to any other row. Only goal rows read it this way (goals.ts).
 */
export const REVENUE_COUNTER = "durationMs" satisfies keyof Counters;
export const REVENUE_UNITS_PER_CURRENCY_UNIT = 1000;
/** Larger amounts are not revenue (a mistyped id, say): the event still converts, with no revenue. */
const MAX_REVENUE_AMOUNT = 1e12;

/** A goal as the worker counts it: its id (the rollup key) and its definition. */
export type CountedGoal = { id: string; match: GoalMatch; revenue?: GoalRevenue };

/**
 * A match as the `goals` table stores it: prop names as events store them
 * (events.ts storedPropertyName), since Convex refuses nested field names that
 * begin with "_" (and "$"), which clients may send.
 */
export function storedMatch(match: GoalMatch): GoalMatch {
  if ("path" in match || !match.props) return match;
  const props = Object.entries(match.props).map(([k, v]) => [storedPropertyName(k), v]);
  return { event: match.event, props: Object.fromEntries(props) };
}

/** A stored match with its prop names as the client sent them. */
export function clientMatch(match: GoalMatch): GoalMatch {
  if ("path" in match || !match.props) return match;
  const props = Object.entries(match.props).map(([k, v]) => [propertyName(k), v]);
  return { event: match.event, props: Object.fromEntries(props) };
}

/** A stored goal as the worker and the backfill count it. */
export function countedGoal(doc: {
  _id: string;
  match: GoalMatch;
  revenue?: GoalRevenue;
}): CountedGoal {
  return {
    id: doc._id,
    match: clientMatch(doc.match),
    ...(doc.revenue ? { revenue: doc.revenue } : {}),
  };
}

/** Validates a goal's definition into its canonical form (props sorted by name). */
export function goalDefinition(
  args: Pick<CreateGoalArgs, "name" | "match" | "revenue">,
): Pick<CreateGoalArgs, "name" | "match" | "revenue"> {
  const name = args.name.trim();
  if (name.length === 0 || name.length > MAX_GOAL_NAME_LENGTH)
    throw new Error(`A goal's name has 1 to ${MAX_GOAL_NAME_LENGTH} characters`);
  let match: GoalMatch;
  if ("path" in args.match) {
    checkPattern(args.match.path, "A goal's path");
    match = { path: args.match.path };
  } else {
    const { event } = args.match;
    if (event.length === 0 || event.length > MAX_EVENT_NAME_LENGTH)
      throw new Error(`A goal's event name has 1 to ${MAX_EVENT_NAME_LENGTH} characters`);
    if (event === "pageview")
      throw new Error('A goal on pageviews matches a path: use { path: "/**" } for every page');
    const props = Object.entries(args.match.props ?? {}).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    match = props.length === 0 ? { event } : { event, props: Object.fromEntries(props) };
  }
  const { revenue } = args;
  if (revenue) {
    if ("path" in match)
      throw new Error("Revenue comes from an event's property: a path goal has none");
    if (revenue.property.length === 0 || revenue.property.length > MAX_PROPERTY_NAME_LENGTH)
      throw new Error(`A goal's revenue property has 1 to ${MAX_PROPERTY_NAME_LENGTH} characters`);
    if (revenue.currency.length === 0 || revenue.currency.length > MAX_CURRENCY_LENGTH)
      throw new Error(`A goal's currency has 1 to ${MAX_CURRENCY_LENGTH} characters`);
  }
  return { name, match, ...(revenue ? { revenue: { ...revenue } } : {}) };
}

/**
 * The revenue of one prop value, in thousandths (REVENUE_UNITS_PER_CURRENCY_UNIT):
 * a finite number, or a string of a decimal number ("12.50", as trackers often
 * send it). Anything else is no revenue (0); the event still converts.
 */
export function revenueUnits(value: string | number | boolean | undefined): number {
  const amount =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^-?\d{1,15}(\.\d+)?$/.test(value.trim())
        ? Number(value.trim())
        : NaN;
  if (!Number.isFinite(amount) || Math.abs(amount) > MAX_REVENUE_AMOUNT) return 0;
  return Math.round(amount * REVENUE_UNITS_PER_CURRENCY_UNIT);
}

/**
 * The goals `event` (a counted event, whose page path is `path`) converts, each
 * with its revenue in thousandths (0 for a goal without revenue).
 */
export function conversionsOf(
  goals: readonly CountedGoal[],
  event: AnalyticsEvent,
  path: string,
): { goalId: string; revenue: number }[] {
  const out: { goalId: string; revenue: number }[] = [];
  for (const goal of goals) {
    if (!stepMatches(goal.match, event, path)) continue;
    const revenue = goal.revenue
      ? revenueUnits(event.props?.[storedPropertyName(goal.revenue.property)])
      : 0;
    out.push({ goalId: goal.id, revenue });
  }
  return out;
}
