// Partial rebuilds: rebuildRollups({ from, to }) recomputes the buckets of the
// local months in [from, to) from the raw events, and keeps the other months as
// the live rollups hold them (rebuilds.ts runs the steps).
//
// Whole local months, because a month's canonical pages are folded from its
// days' hours: a month half kept and half recomputed would need the live month
// minus the recomputed days, which a visitor sketch cannot give. With whole
// months every hour, day and month bucket is either kept or recomputed.
//
// The catch-up replays every raw batch, not only those of the range, and keeps
// only the deltas of recomputed buckets: an event's rows depend on its session
// (entry page, attribution), and that on the visitor's earlier events, so the
// rebuild sessionizes the raw events exactly as a full rebuild does. A session's
// metrics go to the hour it started in, so a session crossing an edge counts
// where it started: in a kept month as before, or in a recomputed month with
// all its events, those past the edge included.
//
// Kept months are copied page by page from the live generation, so they must
// not change under the copy: only months the live worker can no longer write are
// kept (events arrive at most MAX_PAST_MS late, so months ending that long
// before the oldest batch it has not counted), and the copy starts once
// compaction has folded all of them. A month outside [from, to) more recent
// than that is recomputed too. A batch received after the start that still
// counts in a kept month (assertKeptUntouched) fails the rebuild.
import { streamQuery } from "convex-helpers/server/pagination";
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc } from "./_generated/dataModel.js";
import schema from "./schema.js";
import { DIMENSIONS, type BucketSpan, type RebuildArgs } from "../shared.js";
import { SiteCursor } from "./cursor.js";
import type { Deltas } from "./deltas.js";
import { MAX_FUTURE_MS, MAX_PAST_MS } from "./events.js";
import { DEFAULT_RAW_RETENTION_DAYS } from "./retention.js";
import { liveSite } from "./sites.js";
import { DAY, HOUR, monthStart, nextBucket } from "./time.js";
import { sumHourTotals, writeHourTotals } from "./totals.js";

export type PartialRebuild = NonNullable<Doc<"rebuilds">["partial"]>;

/** Bytes a copy step reads or writes before it stops. */
const COPY_STEP_BYTES = 2 * 1024 * 1024;
/** Pages one copy step copies at most. */
const COPY_STEP_PAGES = 500;
/** Hours whose totals one copy step writes into the BTree at most (each writes a few tree nodes). */
const COPY_STEP_TOTALS = 100;

/** The start of the local month `ms` is in, or of the next one when `ms` is not a month start. */
function monthEndAtOrAfter(ms: number, timeZone: string): number {
  const start = monthStart(ms, timeZone);
  return start === ms ? ms : nextBucket("month", start, timeZone);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A rebuild's range for an error message: "every month" for a full one. */
export const rangeName = ({ from, to }: { from: number | null; to: number | null }) =>
  from === null ? "every month" : `[${iso(from)}, ${to === null ? "onwards" : iso(to)})`;

/**
 * The partial rebuild `args` ask for, or null for a full one. Refuses what it
 * could not do exactly: `to` without `from`, an empty range, a timezone change,
 * and a `from` whose month starts before the raw events kept.
 */
export async function planPartial(
  ctx: QueryCtx,
  site: Doc<"sites">,
  { from, to, timezone }: Pick<RebuildArgs, "from" | "to" | "timezone">,
  now: number,
): Promise<PartialRebuild | null> {
  if (from === undefined && to === undefined) return null;
  if (from === undefined)
    throw new Error("rebuildRollups: `to` needs `from` (a partial rebuild recomputes [from, to))");
  if (!Number.isFinite(from) || (to !== undefined && !(Number.isFinite(to) && from < to)))
    throw new Error("rebuildRollups: `from` and `to` must be times in ms with `from` before `to`");
  if (timezone !== undefined && timezone !== site.timezone)
    throw new Error(
      `rebuildRollups: a partial rebuild keeps the months outside [from, to) as they are, cut at the site's timezone ("${site.timezone}"): change the timezone with a full rebuild (no from or to)`,
    );
  const tz = site.timezone;
  const alignedFrom = monthStart(from, tz);
  const alignedTo = to === undefined ? undefined : monthEndAtOrAfter(to, tz);
  const rawDays = site.settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS;
  // A batch holds events up to MAX_FUTURE_MS after it was received.
  if (alignedFrom - MAX_FUTURE_MS < now - rawDays * DAY)
    throw new Error(
      `rebuildRollups: \`from\` widens to ${iso(alignedFrom)}, the start of its local month, which is older than the raw events kept (${rawDays} days): those months would be recomputed from missing events`,
    );
  const frozenBefore = monthStart((await oldestUncounted(ctx, site, now)) - MAX_PAST_MS - HOUR, tz);
  const kept: BucketSpan[] = [];
  if (Math.min(alignedFrom, frozenBefore) > 0)
    kept.push({ from: 0, to: Math.min(alignedFrom, frozenBefore) });
  if (alignedTo !== undefined && alignedTo < frozenBefore)
    kept.push({ from: alignedTo, to: frozenBefore });
  return { from: alignedFrom, to: alignedTo, kept, copied: kept.length === 0, pages: 0 };
}

/** The creation time of the oldest batch the live worker may still count (now, if it is idle). */
async function oldestUncounted(ctx: QueryCtx, site: Doc<"sites">, now: number): Promise<number> {
  const live = await SiteCursor.load(ctx, site._id);
  let oldest = Math.min(now, ...live.retry.map((r) => r.creationTime));
  for await (const batch of live.after(ctx, Number.MAX_VALUE)) {
    oldest = Math.min(oldest, batch._creationTime);
    break;
  }
  return oldest;
}

export function isKept(kept: readonly BucketSpan[], bucketStart: number): boolean {
  return kept.some((span) => span.from <= bucketStart && bucketStart < span.to);
}

/** Drops the deltas of kept buckets: the copy holds those. Minute and hour buckets both start on a site-local hour. */
export function dropKeptDeltas(deltas: Deltas, kept: readonly BucketSpan[]): void {
  for (const [id, { bucketStart }] of deltas.buckets)
    if (isKept(kept, bucketStart)) deltas.buckets.delete(id);
}

/**
 * A batch received after the rebuild started that writes into a kept month (a
 * retried dead letter's old events, or a session that has gone on without a
 * pause since a kept month) means the live worker may have changed the month
 * after the copy read it: the rebuild fails rather than lose those rows.
 */
export function assertKeptUntouched(
  rebuild: Doc<"rebuilds">,
  batch: Doc<"batches">,
  deltas: Deltas,
): void {
  if (batch._creationTime < rebuild._creationTime) return;
  for (const { interval, bucketStart } of deltas.buckets.values())
    if (interval === "hour" && isKept(rebuild.partial!.kept, bucketStart))
      throw new Error(
        `Batch ${batch.batchId}, received during the rebuild, counts in a kept month (${iso(bucketStart)}): the rebuild cannot keep that month exactly`,
      );
}

/** Whether the live generation still holds closed-hour deltas or staging in a kept month. */
async function keptUncompacted(
  ctx: MutationCtx,
  rebuild: Doc<"rebuilds">,
  kept: readonly BucketSpan[],
): Promise<boolean> {
  const { siteId, fromGeneration: generation } = rebuild;
  for (const { from, to } of kept) {
    const delta = await ctx.db
      .query("rollupDeltas")
      .withIndex("by_bucket", (q) =>
        q
          .eq("siteId", siteId)
          .eq("generation", generation)
          .eq("interval", "hour")
          .gte("bucketStart", from)
          .lt("bucketStart", to),
      )
      .first();
    if (delta) return true;
    for (const dimension of DIMENSIONS) {
      const staged = await ctx.db
        .query("rollupStaging")
        .withIndex("by_dimension", (q) =>
          q
            .eq("siteId", siteId)
            .eq("generation", generation)
            .eq("dimension", dimension)
            .gte("bucketStart", from)
            .lt("bucketStart", to),
        )
        .first();
      if (staged) return true;
    }
  }
  return false;
}

/**
 * Copies the next kept pages (and the kept hours' totals) of the live generation
 * into the new one. Returns the delay before the next step (a wait while
 * compaction folds the kept months), or null once the site is deleted.
 */
export async function copyStep(
  ctx: MutationCtx,
  rebuild: Doc<"rebuilds">,
  partial: PartialRebuild,
  waitMs: number,
): Promise<number | null> {
  const { siteId, fromGeneration, generation } = rebuild;
  // A site being deleted stops its rebuild: deleteSite's passes remove what it wrote.
  if (!liveSite(await ctx.db.get("sites", siteId))) {
    await ctx.db.patch("rebuilds", rebuild._id, { status: "failed", error: "The site is deleted" });
    return null;
  }
  // Before the first page: every kept month folded, so the copy reads the months whole.
  if (partial.copyAfter === undefined && (await keptUncompacted(ctx, rebuild, partial.kept))) {
    await ctx.db.patch("rebuilds", rebuild._id, { steps: rebuild.steps + 1, attempts: 0 });
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return waitMs;
  }
  const pages = streamQuery(ctx, {
    table: "rollups",
    index: "by_part",
    schema,
    order: "asc",
    startIndexKey: partial.copyAfter ?? [siteId, fromGeneration],
    startInclusive: partial.copyAfter === undefined,
    endIndexKey: [siteId, fromGeneration],
    endInclusive: true,
  });
  let copied = 0;
  let totals = 0;
  let copyAfter = partial.copyAfter;
  let done = true;
  for await (const [page, indexKey] of pages) {
    const { bytesRead, bytesWritten } = await ctx.meta.getTransactionMetrics();
    const holdsTotals =
      page.interval === "hour" &&
      page.dimension === "total" &&
      page.part === "counters" &&
      page.firstRank === 0;
    if (
      copied >= COPY_STEP_PAGES ||
      (holdsTotals && totals >= COPY_STEP_TOTALS) ||
      Math.max(bytesRead.used, bytesWritten.used) > COPY_STEP_BYTES
    ) {
      done = false;
      break;
    }
    if (isKept(partial.kept, page.bucketStart)) {
      const { _id, _creationTime, ...fields } = page;
      await ctx.db.insert("rollups", { ...fields, generation });
      copied++;
      if (holdsTotals) {
        const hour = page.bucketStart;
        const sums = await sumHourTotals(
          ctx,
          { siteId, generation: fromGeneration },
          hour,
          hour + 1,
        );
        await writeHourTotals(ctx, { siteId, generation }, hour, sums);
        totals++;
      }
    }
    copyAfter = indexKey as (string | number)[];
  }
  await ctx.db.patch("rebuilds", rebuild._id, {
    partial: { ...partial, copyAfter, copied: done, pages: partial.pages + copied },
    steps: rebuild.steps + 1,
    attempts: 0,
  });
  return 0;
}
