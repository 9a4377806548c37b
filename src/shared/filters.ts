// Report filters: what a filter can name and how filters combine (README "Filters").
import { v, type Infer } from "convex/values";
import { DIMENSIONS, type Dimension } from "./dimensions.js";

/**
 * What a filter can name: every breakdown dimension but `total` and `prop`. Session
 * dimensions, entryPage and exitPage select sessions (every event of a matching
 * session counts); page, hostname, event and goal select events (README "Filters").
 * A goal filter's value is a goal id of the site (createGoal): `is` selects the events
 * that convert for it, `isNot` those that do not; it has no `contains`.
 */
export const FILTER_DIMENSIONS = DIMENSIONS.filter(
  (d): d is Exclude<Dimension, "total" | "prop"> => d !== "total" && d !== "prop",
);
export type FilterDimension = (typeof FILTER_DIMENSIONS)[number];
export const MAX_FILTERS = 10;
/** Values longer than a rollup key (rows.ts MAX_KEY_LENGTH) could never match one. */
export const MAX_FILTER_VALUE_LENGTH = 300;
export const vFilterOp = v.union(v.literal("is"), v.literal("isNot"), v.literal("contains"));
export type FilterOp = Infer<typeof vFilterOp>;
/** `is` / `isNot`: the dimension's key equals `value` (or not); `contains`: the key contains it (case-sensitive). */
export const vFilter = v.object({
  dimension: v.union(...FILTER_DIMENSIONS.map((d) => v.literal(d))),
  op: vFilterOp,
  value: v.string(),
});
export type Filter = Infer<typeof vFilter>;
/** Filters combine with AND; at most MAX_FILTERS. */
export const vFilters = v.array(vFilter);
