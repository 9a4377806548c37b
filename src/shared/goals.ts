// Goals (src/component/goals.ts, goalBackfills.ts): what a goal matches, its revenue, and
// the admin API's goal arguments. The goals report is in reports.ts.
import { v, type Infer, type ObjectType } from "convex/values";
import { vProps } from "./events.js";

/**
 * What a goal counts: a pageview whose path matches `path` (`*` one segment,
 * `**` any number of segments, e.g. `/blog/**`), or a track event named `event`
 * whose props include every entry of `props` (names as the client sent them).
 * The same matching as a funnel step.
 */
export const vGoalMatch = v.union(
  v.object({ path: v.string() }),
  v.object({ event: v.string(), props: v.optional(vProps) }),
);
export type GoalMatch = Infer<typeof vGoalMatch>;
/**
 * Revenue of a goal: the sum of the numeric property `property` (a number, or a
 * string of a decimal number) of the events it counts, in `currency` (a label,
 * e.g. "EUR"; no conversion), kept to thousandths of a unit.
 */
export const vGoalRevenue = v.object({ property: v.string(), currency: v.string() });
export type GoalRevenue = Infer<typeof vGoalRevenue>;
export const vCreateGoalArgs = {
  siteId: v.string(),
  name: v.string(),
  match: vGoalMatch,
  revenue: v.optional(vGoalRevenue),
};
export type CreateGoalArgs = ObjectType<typeof vCreateGoalArgs>;
export const vGoalIdArgs = { siteId: v.string(), goalId: v.string() };
/** A goal as admins see it; `backfilling` while its counts of events received before it are still being added. */
export const vGoalInfo = v.object({
  goalId: v.string(),
  siteId: v.string(),
  name: v.string(),
  match: vGoalMatch,
  revenue: v.union(vGoalRevenue, v.null()),
  createdAt: v.number(),
  backfilling: v.boolean(),
  /** Why the backfill of earlier events stopped short, or null. */
  backfillError: v.union(v.string(), v.null()),
});
export type GoalInfo = Infer<typeof vGoalInfo>;
