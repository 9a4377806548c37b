// Goals: admin-defined conversions (a pageview path pattern, or a track event
// with optional props), counted by the worker as the `goal` rollup dimension, so
// a goals report reads rollups like any breakdown and never raw events.
//
// Exactly once across creation: every worker run reads the site's goals, and
// createGoal reads the site's cursor, which every run writes, so Convex orders
// each run before or after the creation. Runs after it count the goal live;
// the batches the runs before it had counted (the cursor at creation: the
// backfill's `boundary`) are counted by the goal's backfill (goalBackfills.ts),
// and no batch is in both. Goals are refused while a rebuild runs (its replay
// would count the new goal for only part of the batches), and a rebuild is
// refused while a backfill runs (it would copy or replace half-backfilled rows).
import { v } from "convex/values";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  vCreateGoalArgs,
  vGoalIdArgs,
  vGoalInfo,
  vGoalsArgs,
  vGoalsReport,
  vSiteIdArgs,
  type GoalInfo,
  type GoalsArgs,
  type GoalsReport,
} from "../shared.js";
import { siteOrThrow } from "./sites.js";
import {
  MAX_GOALS_PER_SITE,
  REVENUE_COUNTER,
  REVENUE_UNITS_PER_CURRENCY_UNIT,
  clientMatch,
  countedGoal,
  goalDefinition,
  storedMatch,
  type CountedGoal,
} from "./goalMath.js";
import { startBackfill } from "./goalBackfills.js";
import { ratio } from "./rows.js";
import { comparedRange, loadRange, overviewOf, rowsForKeys, type Aligned } from "./reports.js";

type Reader = Pick<QueryCtx, "db">;

async function goalDocs(ctx: Reader, siteId: Id<"sites">): Promise<Doc<"goals">[]> {
  return await ctx.db
    .query("goals")
    .withIndex("by_site", (q) => q.eq("siteId", siteId))
    .take(MAX_GOALS_PER_SITE);
}

/** The site's goals as the worker counts them (at most MAX_GOALS_PER_SITE, in creation order). */
export async function loadGoals(ctx: Reader, siteId: Id<"sites">): Promise<CountedGoal[]> {
  return (await goalDocs(ctx, siteId)).map(countedGoal);
}

/** The site's backfills still running, by goal: one index range, whatever the number of goals. */
async function runningBackfills(ctx: Reader, siteId: Id<"sites">) {
  const running = await ctx.db
    .query("goalBackfills")
    .withIndex("by_site", (q) => q.eq("siteId", siteId).eq("status", "running"))
    .take(MAX_GOALS_PER_SITE + 1);
  return new Set<string>(running.map((b) => b.goalId));
}

/** For rebuildRollups: a rebuild would copy or replace rows a backfill is still adding to. */
export async function assertNoGoalBackfill(ctx: Reader, siteId: Id<"sites">): Promise<void> {
  if ((await runningBackfills(ctx, siteId)).size > 0)
    throw new Error(
      "A goal's backfill is running for this site: rebuild once it is done (listGoals shows it)",
    );
}

async function assertNoRebuild(ctx: Reader, siteId: Id<"sites">): Promise<void> {
  const latest = await ctx.db
    .query("rebuilds")
    .withIndex("by_site", (q) => q.eq("siteId", siteId))
    .order("desc")
    .first();
  if (latest?.status === "running" || latest?.status === "failed")
    throw new Error(
      "A rollup rebuild is in progress for this site (getRebuild): create goals once it is done, resume it with rebuildRollups, or cancel it (cancelRebuild)",
    );
}

/**
 * Creates a goal. It counts events from the worker's next run on, and a
 * backfill adds the events already counted (those still in the raw events,
 * rawRetentionDays), in bounded steps: getGoals says `backfilling` until then.
 */
export const createGoal = mutation({
  args: vCreateGoalArgs,
  returns: v.object({ goalId: v.string() }),
  handler: async (ctx, args) => {
    const site = await siteOrThrow(ctx, args.siteId);
    const definition = goalDefinition(args);
    if ((await goalDocs(ctx, site._id)).length >= MAX_GOALS_PER_SITE)
      throw new Error(
        `A site has at most ${MAX_GOALS_PER_SITE} goals: delete one before creating another`,
      );
    await assertNoRebuild(ctx, site._id);
    const goalId = await ctx.db.insert("goals", {
      siteId: site._id,
      ...definition,
      match: storedMatch(definition.match),
    });
    await startBackfill(ctx, site, goalId);
    return { goalId };
  },
});

async function goalOf(ctx: Reader, site: Doc<"sites">, goalId: string) {
  const id = ctx.db.normalizeId("goals", goalId);
  const goal = id && (await ctx.db.get("goals", id));
  // Checked against the site the host authorised, so one site's admin cannot touch another's goals.
  return goal && goal.siteId === site._id ? goal : null;
}

function goalInfo(goal: Doc<"goals">, backfill: Doc<"goalBackfills"> | null): GoalInfo {
  return {
    goalId: goal._id,
    siteId: goal.siteId,
    name: goal.name,
    match: clientMatch(goal.match),
    revenue: goal.revenue ?? null,
    createdAt: goal._creationTime,
    backfilling: backfill?.status === "running",
    backfillError: backfill?.error ?? null,
  };
}

/** The site's goals, in creation order, with their backfill's state. */
export const listGoals = query({
  args: vSiteIdArgs,
  returns: v.array(vGoalInfo),
  handler: async (ctx, { siteId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const goals = await goalDocs(ctx, site._id);
    const out: GoalInfo[] = [];
    for (const goal of goals) {
      const backfill = await ctx.db
        .query("goalBackfills")
        .withIndex("by_goal", (q) => q.eq("goalId", goal._id))
        .first();
      out.push(goalInfo(goal, backfill));
    }
    return out;
  },
});

/**
 * Deletes a goal and stops its backfill; false when the site has no such goal.
 * Its rollup rows stay where they are (no report shows them) until retention
 * deletes their buckets.
 */
export const deleteGoal = mutation({
  args: vGoalIdArgs,
  returns: v.boolean(),
  handler: async (ctx: MutationCtx, { siteId, goalId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const goal = await goalOf(ctx, site, goalId);
    if (!goal) return false;
    const backfill = await ctx.db
      .query("goalBackfills")
      .withIndex("by_goal", (q) => q.eq("goalId", goal._id))
      .first();
    if (backfill) await ctx.db.delete("goalBackfills", backfill._id);
    await ctx.db.delete("goals", goal._id);
    return true;
  },
});

/** Every goal's numbers over one aligned range: one read of the `goal` rows of its keys, and the total visitors. */
async function goalsOf(ctx: QueryCtx, range: Aligned, goals: Doc<"goals">[]) {
  const { visitors } = await overviewOf(ctx, range);
  const ids = goals.map((g) => g._id as string);
  const rows = await rowsForKeys(ctx, range, "goal", ids, (key) => key);
  return {
    visitors,
    goals: goals.map((goal, i) => {
      const row = rows[i]!;
      return {
        goalId: goal._id,
        conversions: row.events,
        converters: row.visitorCount,
        conversionRate: ratio(row.visitorCount, visitors),
        revenue: goal.revenue ? row[REVENUE_COUNTER] / REVENUE_UNITS_PER_CURRENCY_UNIT : null,
      };
    }),
  };
}

export async function getGoalsHandler(ctx: QueryCtx, args: GoalsArgs): Promise<GoalsReport> {
  const range = await loadRange(ctx, args);
  const compared = comparedRange(range, args.compare);
  const goals = await goalDocs(ctx, range.site._id);
  const backfilling = await runningBackfills(ctx, range.site._id);
  const now = await goalsOf(ctx, range, goals);
  const report: GoalsReport = {
    visitors: now.visitors,
    goals: now.goals.map((g, i) => ({
      ...g,
      name: goals[i]!.name,
      currency: goals[i]!.revenue?.currency ?? null,
      backfilling: backfilling.has(g.goalId),
    })),
  };
  if (!compared) return report;
  const { from, to } = compared;
  return { ...report, comparison: { from, to, ...(await goalsOf(ctx, compared, goals)) } };
}

/** Conversions, converters, conversion rate and revenue of every goal of the site over a range. */
export const getGoals = query({
  args: vGoalsArgs,
  returns: vGoalsReport,
  handler: getGoalsHandler,
});
