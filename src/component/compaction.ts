// Compaction folds closed hours' rollup deltas into canonical rows (hour, and
// the day and month they belong to) and the hourly-totals BTree. It is the only
// writer of canonical rows and of the BTree, so neither is ever contended, and
// it is single-flight (compactionLock), so two runs never pick the same work.
//
// Two kinds of bounded step, each one transaction that moves rows from one
// place to the next, so a report always sees every row exactly once:
// - explode: up to EXPLODE_READ_BYTES of one (site, hour)'s delta documents (or,
//   for a small site, all its closed hours of one local day, so the day's and
//   month's pages are rewritten once, not once an hour) are split by dimension,
//   each dimension folded at once while the step has room and staged otherwise;
// - fold: up to FOLD_READ_BYTES of one (site, dimension)'s staging, from one
//   hour to the end of its local day, is merged into the canonical pages of
//   those hours (while the step has room) and of their day and month, capped
//   at the site's cardinality cap and CANONICAL_MAX_BYTES (then the first
//   hour's other staged dimensions, while there is room).
// A step that fails (say, a bug meeting strange data) is skipped for the rest
// of the run, so one site's data can never stop another site's compaction.
import { v } from "convex/values";
import {
  internalAction,
  internalMutation,
  internalQuery,
  type MutationCtx,
  type QueryCtx,
} from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { DIMENSIONS, type Dimension } from "../shared.js";
import { readCanonicalRows, writeCanonicalRows, type CanonicalInterval } from "./canonical.js";
import { chunkRows } from "./deltas.js";
import { decodeRows, encodeRows } from "./rowCodec.js";
import { DimensionRows, RowMap, TOTAL_KEY, capRows, isZero, rankRows, type Row } from "./rows.js";
import { estimate } from "./sketch.js";
import { HOUR, dayStart, monthStart, nextBucket } from "./time.js";
import { writeHourTotals } from "./totals.js";

export const DEFAULT_CARDINALITY_CAP = 2_000;
/** The canonical rows of one (bucket, dimension) never take more than this; the tail folds into "(other)". */
export const CANONICAL_MAX_BYTES = 768 * 1024;
/** Staging documents are at most this size. */
export const MAX_PAGE_BYTES = 256 * 1024;
/** Delta bytes one explode step reads, and staging bytes one fold step reads. */
const EXPLODE_READ_BYTES = 1024 * 1024;
export const FOLD_READ_BYTES = 512 * 1024;
const MAX_STEPS_PER_RUN = 200;
/** A run that has not shown a sign of life for this long is presumed dead, and its lock can be taken. */
export const COMPACTION_LEASE_MS = 10 * 60_000;

type Work =
  | { kind: "explode"; siteId: Id<"sites">; bucketStart: number }
  | { kind: "fold"; siteId: Id<"sites">; bucketStart: number; dimension: Dimension };

/** Reads documents from a query until `maxBytes` (always at least one). */
async function takeBytes<T extends { rows: ArrayBuffer }>(
  docs: AsyncIterable<T>,
  maxBytes: number,
): Promise<T[]> {
  const out: T[] = [];
  let bytes = 0;
  for await (const doc of docs) {
    if (out.length > 0 && bytes + doc.rows.byteLength > maxBytes) break;
    out.push(doc);
    bytes += doc.rows.byteLength;
  }
  return out;
}

/**
 * A step folds another dimension only while it has read and written less than
 * this: one more fold (three page sets of CANONICAL_MAX_BYTES and its rows)
 * then still leaves it under a quarter of Convex's 16 MiB.
 */
const FOLD_MORE_BELOW_BYTES = 1024 * 1024;

async function roomToFold(ctx: MutationCtx): Promise<boolean> {
  const { bytesRead, bytesWritten } = await ctx.meta.getTransactionMetrics();
  return Math.max(bytesRead.used, bytesWritten.used) < FOLD_MORE_BELOW_BYTES;
}

/**
 * Takes up to EXPLODE_READ_BYTES of one closed hour's deltas: folds each
 * dimension straight into canonical rows while the step has room (a small
 * site's hour is one step), and stages the rest by dimension for later steps.
 */
async function explode(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  siteId: Id<"sites">,
  bucketStart: number,
): Promise<number> {
  const docs = await takeBytes(
    ctx.db
      .query("rollupDeltas")
      .withIndex("by_bucket", (q) =>
        q.eq("siteId", siteId).eq("interval", "hour").eq("bucketStart", bucketStart),
      ),
    EXPLODE_READ_BYTES,
  );
  const rows = new DimensionRows();
  for (const doc of docs) rows.addDeltaRows(decodeRows(doc.rows));
  for (const doc of docs) await ctx.db.delete("rollupDeltas", doc._id);
  for (const [dimension, map] of rows.byDimension) {
    if (await roomToFold(ctx)) {
      await foldRows(ctx, site, siteId, bucketStart, dimension, map.values());
      continue;
    }
    await stage(ctx, siteId, bucketStart, dimension, map.values());
  }
  return docs.length;
}

/** Merges `delta` into the canonical pages of one (bucket, dimension); returns the merged rows. */
export async function foldIntoCanonical(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  interval: CanonicalInterval,
  bucketStart: number,
  dimension: Dimension,
  delta: Row[],
  cap: number,
): Promise<RowMap> {
  const bucket = { siteId, interval, bucketStart, dimension };
  const { rows: stored, docs } = await readCanonicalRows(ctx, bucket);
  const merged = new RowMap().addAll(stored).addAll(delta);
  const rows = capRows(
    merged.values().filter((r) => !isZero(r)),
    cap,
    estimate,
    CANONICAL_MAX_BYTES,
  );
  await writeCanonicalRows(ctx, bucket, rankRows(rows), docs);
  return merged;
}

/** Merges rows into one hour's canonical pages, and the hour's totals into the BTree. */
async function foldHour(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  hour: number,
  dimension: Dimension,
  rows: Row[],
  cap: number,
): Promise<void> {
  const merged = await foldIntoCanonical(ctx, siteId, "hour", hour, dimension, rows, cap);
  if (dimension === "total") await writeHourTotals(ctx, siteId, hour, merged.get(TOTAL_KEY));
}

/** Delta bytes under which a step takes a site's other closed hours of the same local day too. */
const SMALL_DAY_BYTES = 64 * 1024;

/**
 * A small site's closed hours of one local day in one step: each hour's rows
 * into its hour pages, and the day's and month's pages rewritten once for all
 * of them instead of once an hour. Returns null (and the step takes the
 * one-hour path) when the deltas hold only one hour or are not small.
 */
async function explodeDay(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  siteId: Id<"sites">,
  bucketStart: number,
  closedBefore: number,
): Promise<number | null> {
  if (!site) return null;
  const tz = site.timezone;
  const day = dayStart(bucketStart, tz);
  const end = Math.min(nextBucket("day", day, tz), closedBefore);
  const docs = await takeBytes(
    ctx.db
      .query("rollupDeltas")
      .withIndex("by_bucket", (q) =>
        q
          .eq("siteId", siteId)
          .eq("interval", "hour")
          .gte("bucketStart", bucketStart)
          .lt("bucketStart", end),
      ),
    SMALL_DAY_BYTES,
  );
  const bytes = docs.reduce((sum, d) => sum + d.rows.byteLength, 0);
  if (new Set(docs.map((d) => d.bucketStart)).size < 2 || bytes > SMALL_DAY_BYTES) return null;
  const byHour = new Map<number, DimensionRows>();
  for (const doc of docs) {
    let rows = byHour.get(doc.bucketStart);
    if (!rows) byHour.set(doc.bucketStart, (rows = new DimensionRows()));
    rows.addDeltaRows(decodeRows(doc.rows));
  }
  for (const doc of docs) await ctx.db.delete("rollupDeltas", doc._id);
  const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
  for (const dimension of DIMENSIONS) {
    const hours = [...byHour].flatMap(([hour, rows]) => {
      const map = rows.byDimension.get(dimension);
      return map ? [{ hour, rows: map.values() }] : [];
    });
    if (hours.length === 0) continue;
    if (!(await roomToFold(ctx))) {
      for (const { hour, rows } of hours) await stage(ctx, siteId, hour, dimension, rows);
      continue;
    }
    const dayRows = new RowMap();
    for (const { hour, rows } of hours) {
      await foldHour(ctx, siteId, hour, dimension, rows, cap);
      dayRows.addAll(rows);
    }
    await foldIntoCanonical(ctx, siteId, "day", day, dimension, dayRows.values(), cap);
    await foldIntoCanonical(
      ctx,
      siteId,
      "month",
      monthStart(day, tz),
      dimension,
      dayRows.values(),
      cap,
    );
  }
  return docs.length;
}

async function stage(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  bucketStart: number,
  dimension: Dimension,
  rows: Row[],
): Promise<void> {
  const dimRows = rows.map((r) => ({ dimension, ...r }));
  for (const chunk of chunkRows(dimRows, MAX_PAGE_BYTES)) {
    await ctx.db.insert("rollupStaging", {
      siteId,
      bucketStart,
      dimension,
      rows: encodeRows(chunk),
      rowCount: chunk.length,
    });
  }
}

/** Merges rows of one (hour, dimension) into the canonical hour, day and month, and the BTree for totals. */
async function foldRows(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  siteId: Id<"sites">,
  bucketStart: number,
  dimension: Dimension,
  rows: Row[],
): Promise<void> {
  // A deleted site's rows have nowhere to go.
  if (!site) return;
  const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
  await foldHour(ctx, siteId, bucketStart, dimension, rows, cap);
  await foldDayAndMonth(ctx, site, siteId, dayStart(bucketStart, site.timezone), dimension, rows);
}

/** Merges rows of one local day (of one or more of its hours) into the day's and month's canonical pages. */
async function foldDayAndMonth(
  ctx: MutationCtx,
  site: Doc<"sites">,
  siteId: Id<"sites">,
  day: number,
  dimension: Dimension,
  rows: Row[],
): Promise<void> {
  const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
  await foldIntoCanonical(ctx, siteId, "day", day, dimension, rows, cap);
  const month = monthStart(day, site.timezone);
  await foldIntoCanonical(ctx, siteId, "month", month, dimension, rows, cap);
}

/**
 * Folds up to FOLD_READ_BYTES of one (site, dimension)'s staging, from one hour
 * on to the end of its local day: each hour's rows into its hour pages (the
 * first always, later ones while the step has room), and the day's and month's
 * pages rewritten once for all of them. Folding an hour at a time instead
 * rewrote the day and month pages once per staged (hour, dimension): for a
 * small site whose day's deltas are staged (once the total dimension's hour
 * totals have used the step's room), 24 times a day per dimension, growing
 * month pages included; that was most of a day's compaction. The bound is the
 * hour-at-a-time step's: what is read here counts towards roomToFold, so after
 * the hours there is room for the day's and month's page sets.
 */
async function fold(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  siteId: Id<"sites">,
  bucketStart: number,
  dimension: Dimension,
): Promise<number> {
  const day = site ? dayStart(bucketStart, site.timezone) : bucketStart;
  const end = site ? nextBucket("day", day, site.timezone) : bucketStart + 1;
  const docs = await takeBytes(
    ctx.db
      .query("rollupStaging")
      .withIndex("by_dimension", (q) =>
        q
          .eq("siteId", siteId)
          .eq("dimension", dimension)
          .gte("bucketStart", bucketStart)
          .lt("bucketStart", end),
      ),
    FOLD_READ_BYTES,
  );
  // In index order, so by hour.
  const byHour = new Map<number, typeof docs>();
  for (const doc of docs) {
    const hour = byHour.get(doc.bucketStart);
    if (hour) hour.push(doc);
    else byHour.set(doc.bucketStart, [doc]);
  }
  let moved = 0;
  const dayRows = new RowMap();
  for (const [hour, hourDocs] of byHour) {
    // Hours left here stay staged for a later step.
    if (moved > 0 && !(await roomToFold(ctx))) break;
    const rows = new RowMap();
    for (const doc of hourDocs) rows.addAll(decodeRows(doc.rows));
    for (const doc of hourDocs) await ctx.db.delete("rollupStaging", doc._id);
    moved += hourDocs.length;
    // A deleted site's rows have nowhere to go.
    if (!site) continue;
    const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
    await foldHour(ctx, siteId, hour, dimension, rows.values(), cap);
    dayRows.addAll(rows.values());
  }
  if (site) await foldDayAndMonth(ctx, site, siteId, day, dimension, dayRows.values());
  return moved;
}

/**
 * The oldest work there is, passing over what `skip` names (work that failed in
 * this run). Looks at a bounded number of documents: with that many skipped,
 * the run ends and the next one starts over.
 */
async function nextWork(
  ctx: QueryCtx,
  closedBefore: number,
  skip: Set<string>,
): Promise<Work | null> {
  let looked = 0;
  // Staging first: it is the nearest to done, and it keeps the staging table small.
  for await (const doc of ctx.db.query("rollupStaging").withIndex("by_age")) {
    const work: Work = {
      kind: "fold",
      siteId: doc.siteId,
      bucketStart: doc.bucketStart,
      dimension: doc.dimension,
    };
    if (!skip.has(workKey(work))) return work;
    if (++looked > MAX_SKIPPED_LOOKS) return null;
  }
  const closed = ctx.db
    .query("rollupDeltas")
    .withIndex("by_age", (q) => q.eq("interval", "hour").lt("bucketStart", closedBefore));
  for await (const doc of closed) {
    const work: Work = { kind: "explode", siteId: doc.siteId, bucketStart: doc.bucketStart };
    if (!skip.has(workKey(work))) return work;
    if (++looked > MAX_SKIPPED_LOOKS) return null;
  }
  return null;
}
const MAX_SKIPPED_LOOKS = 64;

const workKey = (w: Work) =>
  `${w.kind}|${w.siteId}|${w.bucketStart}|${w.kind === "fold" ? w.dimension : ""}`;

export async function compactStepHandler(
  ctx: MutationCtx,
  args: { skip?: string[] } = {},
): Promise<{ work: string | null; moved: number }> {
  // Only closed hours: the open one is still being written by its site's worker every few seconds.
  const closedBefore = Date.now() - HOUR;
  const work = await nextWork(ctx, closedBefore, new Set(args.skip ?? []));
  if (!work) return { work: null, moved: 0 };
  const site = await ctx.db.get("sites", work.siteId);
  if (work.kind === "explode") {
    const moved =
      (await explodeDay(ctx, site, work.siteId, work.bucketStart, closedBefore)) ??
      (await explode(ctx, site, work.siteId, work.bucketStart));
    return { work: workKey(work), moved };
  }
  let moved = await fold(ctx, site, work.siteId, work.bucketStart, work.dimension);
  // The same hour's other staged dimensions, while the step has room.
  for (const dimension of DIMENSIONS) {
    if (dimension === work.dimension || !(await roomToFold(ctx))) continue;
    const staged = await ctx.db
      .query("rollupStaging")
      .withIndex("by_dimension", (q) =>
        q.eq("siteId", work.siteId).eq("dimension", dimension).eq("bucketStart", work.bucketStart),
      )
      .first();
    if (staged) moved += await fold(ctx, site, work.siteId, work.bucketStart, dimension);
  }
  return { work: workKey(work), moved };
}

/** The work the next step would take: the compaction action names a step that failed by it. */
export const peekWork = internalQuery({
  args: { skip: v.array(v.string()) },
  returns: v.union(v.string(), v.null()),
  handler: async (ctx, { skip }) => {
    const work = await nextWork(ctx, Date.now() - HOUR, new Set(skip));
    return work && workKey(work);
  },
});

export const compactStep = internalMutation({
  args: { skip: v.optional(v.array(v.string())) },
  returns: v.object({ work: v.union(v.string(), v.null()), moved: v.number() }),
  handler: compactStepHandler,
});

/** Takes the lock unless another live run holds it. */
export const claim = internalMutation({
  args: { runId: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { runId }) => {
    const lock = await ctx.db.query("compactionLock").first();
    const now = Date.now();
    if (lock && lock.runId !== runId && lock.heartbeatAt > now - COMPACTION_LEASE_MS) return false;
    if (lock) await ctx.db.patch("compactionLock", lock._id, { runId, heartbeatAt: now });
    else await ctx.db.insert("compactionLock", { runId, heartbeatAt: now });
    return true;
  },
});

export const release = internalMutation({
  args: { runId: v.string() },
  returns: v.null(),
  handler: async (ctx, { runId }) => {
    const lock = await ctx.db.query("compactionLock").first();
    if (lock?.runId === runId) await ctx.db.delete("compactionLock", lock._id);
    return null;
  },
});

/**
 * Folds every closed hour there is, in bounded steps, as the only compaction
 * running; reschedules itself if there is more than one run's worth.
 */
export const compact = internalAction({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const runId = crypto.randomUUID();
    if (!(await ctx.runMutation(internal.compaction.claim, { runId }))) return null;
    const skip: string[] = [];
    for (let step = 0; step < MAX_STEPS_PER_RUN; step++) {
      let result: { work: string | null; moved: number };
      try {
        result = await ctx.runMutation(internal.compaction.compactStep, { skip });
      } catch (error) {
        // The failing step is found again (it is the oldest work) and skipped for the rest of the run.
        console.error(
          "analytics compaction step failed:",
          error instanceof Error ? error.message : error,
        );
        const failed = await ctx.runQuery(internal.compaction.peekWork, { skip });
        if (failed === null) break;
        skip.push(failed);
        continue;
      }
      if (result.work === null) {
        await ctx.runMutation(internal.compaction.release, { runId });
        return null;
      }
      if (step % 20 === 19 && !(await ctx.runMutation(internal.compaction.claim, { runId })))
        return null;
    }
    await ctx.runMutation(internal.compaction.release, { runId });
    await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return null;
  },
});
