// Hour groups: a closed local day's hour counter pages of one dimension, copied
// into one document (a rollups page of part "hours", keyed by the day's start).
// A report's range cuts the days at its two ends, and there it reads one
// document per non-empty hour; with the day's group it reads one. That is what
// keeps a compared period (both of its end days closed) within twice its base
// report, and an hourly timeseries at one document a day.
//
// A copy, not a move, so nothing else changes: compaction folds into the hour
// pages as before, sketch pages stay where they are, and every fold into an
// hour of a grouped day deletes the day's group in the same transaction and
// queues the day again. So a group, where there is one, always equals its
// day's hour pages. Compaction writes the group when the day has closed
// (hourGroupWork), for a dimension whose hours are one counter page each and
// GROUP_MAX_BYTES together; a report reads the hours themselves otherwise.
import type { MutationCtx } from "./_generated/server.js";
import { counterPagesIn, readHourGroup, type HourGroup } from "./canonical.js";
import { siteOf, type RollupOwner } from "./generations.js";
import { DIMENSIONS, type Dimension } from "../shared.js";
import { nextBucket } from "./time.js";

/** A day's hour pages of one dimension are grouped when they take at most this together. */
export const GROUP_MAX_BYTES = 128 * 1024;

/**
 * Called by every fold that writes an hour page of `day`: the day's group (if
 * any) no longer equals its hours, so it goes, and the day is queued to be
 * grouped again once it has closed (from its first folded hour on).
 */
export async function hourPagesChanged(
  ctx: MutationCtx,
  owner: RollupOwner,
  dimension: Dimension,
  day: number,
  timeZone: string,
): Promise<void> {
  const group = await readHourGroup(ctx, owner, dimension, day);
  if (group) await ctx.db.delete("rollups", group._id);
  const queued = await ctx.db
    .query("hourGroupWork")
    .withIndex("by_day", (q) =>
      q.eq("siteId", owner.siteId).eq("generation", owner.generation).eq("dayStart", day),
    )
    .first();
  if (!queued) {
    const dayEnd = nextBucket("day", day, timeZone);
    await ctx.db.insert("hourGroupWork", { ...owner, dayStart: day, dayEnd });
  } else if (group && queued.dimension !== undefined) {
    // A step stopped part way; it starts over, so it reaches this dimension again.
    await ctx.db.patch("hourGroupWork", queued._id, { dimension: undefined });
  }
}

/** Groups one (day, dimension)'s hour counter pages, if it has none and they are small. */
async function groupDimension(
  ctx: MutationCtx,
  owner: RollupOwner,
  dimension: Dimension,
  day: number,
  dayEnd: number,
): Promise<void> {
  // A group that exists equals its hours (hourPagesChanged).
  if (await readHourGroup(ctx, owner, dimension, day)) return;
  const pages = counterPagesIn(ctx, owner, "hour", dimension, day, dayEnd);
  const hours: HourGroup["hours"] = [];
  let bytes = 0;
  let rowCount = 0;
  for await (const page of pages) {
    bytes += page.rows.byteLength;
    // An hour of several counter pages, or a day past GROUP_MAX_BYTES, is read hour by hour:
    // its hours are big enough that one more document each costs little beside their bytes.
    if (page.firstRank > 0 || bytes > GROUP_MAX_BYTES) return;
    hours.push({
      bucketStart: page.bucketStart,
      rows: page.rows,
      rowCount: page.rowCount,
      ...(page.sketchPageStarts ? { sketchPageStarts: page.sketchPageStarts } : {}),
      ...(page.inline ? { inline: true } : {}),
    });
    rowCount += page.rowCount;
  }
  // One hour reads one document either way.
  if (hours.length < 2) return;
  await ctx.db.insert("rollups", {
    ...owner,
    interval: "hour",
    bucketStart: day,
    dimension,
    part: "hours",
    firstRank: 0,
    rows: new ArrayBuffer(0),
    rowCount,
    hours,
  });
}

/**
 * One compaction step of a closed day's grouping: each dimension in turn while
 * the step has room (a dimension reads at most GROUP_MAX_BYTES and one page
 * more, and writes a copy), then the work is done. Returns the documents moved.
 */
export async function groupHours(
  ctx: MutationCtx,
  owner: RollupOwner,
  day: number,
  hasRoom: () => Promise<boolean>,
) {
  const work = await ctx.db
    .query("hourGroupWork")
    .withIndex("by_day", (q) =>
      q.eq("siteId", owner.siteId).eq("generation", owner.generation).eq("dayStart", day),
    )
    .first();
  if (!work) return 0;
  // A deleted site's, or an old generation's: nothing reads its pages.
  const site = await siteOf(ctx, owner);
  const first = work.dimension ? DIMENSIONS.indexOf(work.dimension) : 0;
  for (let i = first; site && i < DIMENSIONS.length; i++) {
    if (i > first && !(await hasRoom())) {
      await ctx.db.patch("hourGroupWork", work._id, { dimension: DIMENSIONS[i] });
      return i - first;
    }
    await groupDimension(ctx, owner, DIMENSIONS[i]!, day, work.dayEnd);
  }
  await ctx.db.delete("hourGroupWork", work._id);
  return DIMENSIONS.length - first;
}
