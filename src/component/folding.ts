// Compaction's steps (compaction.ts schedules them).
//
// Two kinds of bounded step, each one transaction that moves rows from one
// place to the next, so a report always sees every row exactly once:
// - explode: up to EXPLODE_READ_BYTES of one (site, hour)'s delta documents (or,
//   for a small site, all its closed hours of one local day, so the day's and
//   month's pages are rewritten once, not once an hour) are split by dimension;
// - fold: up to FOLD_READ_BYTES of one (site, dimension)'s staging, from one
//   hour to the end of its local day.
// Either folds its rows into canonical pages one level at a time (the hours',
// then the day's, then the month's; foldLevels), capped at the site's
// cardinality cap and CANONICAL_MAX_BYTES, while the step's byte budget
// (STEP_BYTES) holds another page set, and stages the rest marked with the
// levels that already hold it. A fold step then takes the same hour's other
// staged dimensions while there is room.
import type { MutationCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { RollupOwner } from "./generations.js";
import { DIMENSIONS, type Dimension } from "../shared.js";
import {
  COUNTER_PAGE_BYTES,
  readCanonicalRows,
  writeCanonicalRows,
  type CanonicalInterval,
} from "./canonical.js";
import { chunkRows } from "./deltas.js";
import { decodeRows, encodeRows } from "./rowCodec.js";
import {
  DimensionRows,
  RowMap,
  TOTAL_KEY,
  capPropRows,
  capRows,
  isZero,
  rankRows,
  type Row,
} from "./rows.js";
import { hourPagesChanged } from "./hourGroups.js";
import { estimate } from "./sketch.js";
import { dayStart, monthStart, nextBucket } from "./time.js";
import { writeHourTotals } from "./totals.js";

export const DEFAULT_CARDINALITY_CAP = 2_000;
/** The canonical rows of one (bucket, dimension) never take more than this; the tail folds into "(other)". */
export const CANONICAL_MAX_BYTES = 768 * 1024;
/** Staging documents are at most this size. */
export const MAX_PAGE_BYTES = 256 * 1024;
/** Delta bytes one explode step reads, and staging bytes one fold step reads. */
const EXPLODE_READ_BYTES = 1024 * 1024;
export const FOLD_READ_BYTES = 512 * 1024;
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

/** What one compaction step may read and write: a quarter of Convex's 16 MiB limits. */
const STEP_BYTES = 4 * 1024 * 1024;
/**
 * What folding rows into one canonical page set can cost: its pages are read
 * (CANONICAL_MAX_BYTES of full rows, and their counter rows, a counter page at
 * realistic key lengths), and each page that changes is read again by its
 * replace or delete (Convex counts those reads) and written.
 */
const PAGE_SET_BYTES = 2 * (CANONICAL_MAX_BYTES + COUNTER_PAGE_BYTES);

/** Whether the step can still fold one more page set and then spend `finish` bytes. */
export async function roomFor(ctx: MutationCtx, finish: number): Promise<boolean> {
  const { bytesRead, bytesWritten } = await ctx.meta.getTransactionMetrics();
  return Math.max(bytesRead.used, bytesWritten.used) + PAGE_SET_BYTES + finish <= STEP_BYTES;
}

/**
 * Asked before each page set a step folds: yes to the first when `force` is
 * set (so every step moves something), then while there is room for the page
 * set and `finish` bytes more (re-reading the staging taken, or staging the rest).
 */
function pageSetBudget(ctx: MutationCtx, finish: number, force: boolean) {
  let forced = force;
  return async () => {
    if (!forced) return roomFor(ctx, finish);
    forced = false;
    return true;
  };
}

/** Which canonical levels hold a set of rows: none yet, its hour's, also its day's, or all three. */
type Folded = Doc<"rollupStaging">["folded"] | "month";
export type HourRows = { hour: number; rows: Row[]; folded: Folded };

/**
 * Folds one (site, dimension)'s rows of hours of one local day as far as the
 * step has room, one page set at a time: each hour's rows into its hour pages
 * (and the BTree), then all the rows that reached their hours into the day's
 * pages, then those into the month's. So the day's and month's pages are
 * rewritten once for all the hours, and a step never rewrites more page sets
 * than its budget holds. Advances each entry's `folded`.
 */
async function foldLevels(
  ctx: MutationCtx,
  site: Doc<"sites">,
  owner: RollupOwner,
  dimension: Dimension,
  day: number,
  hours: HourRows[],
  mayFold: () => Promise<boolean>,
): Promise<void> {
  const cap = site.settings.cardinalityCap ?? DEFAULT_CARDINALITY_CAP;
  let hourPagesWritten = false;
  for (const h of hours) {
    if (h.folded !== undefined) continue;
    if (!(await mayFold())) break;
    const merged = await foldIntoCanonical(ctx, owner, "hour", h.hour, dimension, h.rows, cap);
    if (dimension === "total") await writeHourTotals(ctx, owner, h.hour, merged.get(TOTAL_KEY));
    h.folded = "hour";
    hourPagesWritten = true;
  }
  if (hourPagesWritten) await hourPagesChanged(ctx, owner, dimension, day, site.timezone);
  const levels = [
    { from: "hour", to: "day", bucketStart: day },
    { from: "day", to: "month", bucketStart: monthStart(day, site.timezone) },
  ] as const;
  for (const { from, to, bucketStart } of levels) {
    const ready = hours.filter((h) => h.folded === from);
    if (ready.length === 0) continue;
    if (!(await mayFold())) return;
    const rows = ready.flatMap((h) => h.rows);
    await foldIntoCanonical(ctx, owner, to, bucketStart, dimension, rows, cap);
    for (const h of ready) h.folded = to;
  }
}

/**
 * Takes up to EXPLODE_READ_BYTES of one closed hour's deltas: folds each
 * dimension into canonical rows as far as the step has room (a small site's
 * hour is one step), and stages the rest by dimension, with how far it got.
 */
export async function explode(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  owner: RollupOwner,
  bucketStart: number,
): Promise<number> {
  const docs = await takeBytes(
    ctx.db
      .query("rollupDeltas")
      .withIndex("by_bucket", (q) =>
        q
          .eq("siteId", owner.siteId)
          .eq("generation", owner.generation)
          .eq("interval", "hour")
          .eq("bucketStart", bucketStart),
      ),
    EXPLODE_READ_BYTES,
  );
  const rows = new DimensionRows();
  for (const doc of docs) rows.addDeltaRows(decodeRows(doc.rows));
  for (const doc of docs) await ctx.db.delete("rollupDeltas", doc._id);
  // A deleted site's rows have nowhere to go.
  if (!site) return docs.length;
  // What is not folded is staged: about as many bytes as were read.
  const mayFold = pageSetBudget(ctx, bytesOf(docs), false);
  const day = dayStart(bucketStart, site.timezone);
  for (const [dimension, map] of rows.byDimension) {
    const hour: HourRows = { hour: bucketStart, rows: map.values(), folded: undefined };
    await foldLevels(ctx, site, owner, dimension, day, [hour], mayFold);
    await stage(ctx, owner, hour, dimension);
  }
  return docs.length;
}

const bytesOf = (docs: { rows: ArrayBuffer }[]) =>
  docs.reduce((sum, d) => sum + d.rows.byteLength, 0);

/** Merges `delta` into the canonical pages of one (bucket, dimension); returns the merged rows. */
export async function foldIntoCanonical(
  ctx: MutationCtx,
  owner: RollupOwner,
  interval: CanonicalInterval,
  bucketStart: number,
  dimension: Dimension,
  delta: Row[],
  cap: number,
): Promise<RowMap> {
  const bucket = { ...owner, interval, bucketStart, dimension };
  const { rows: stored, docs } = await readCanonicalRows(ctx, bucket);
  const merged = new RowMap().addAll(stored).addAll(delta);
  const rows = (dimension === "prop" ? capPropRows : capRows)(
    merged.values().filter((r) => !isZero(r)),
    // A goal's row folded into "(other)" would lose its conversions: a site has at most 50
    // goals, so the goal dimension keeps the default cap even where a site set a lower one.
    dimension === "goal" ? Math.max(cap, DEFAULT_CARDINALITY_CAP) : cap,
    estimate,
    CANONICAL_MAX_BYTES,
  );
  await writeCanonicalRows(ctx, bucket, rankRows(rows), docs);
  return merged;
}

/** Delta bytes under which a step takes a site's other closed hours of the same local day too. */
const SMALL_DAY_BYTES = 64 * 1024;

/**
 * A small site's closed hours of one local day in one step: each hour's rows
 * into its hour pages, and the day's and month's pages rewritten once for all
 * of them instead of once an hour. Returns null (and the step takes the
 * one-hour path) when the deltas hold only one hour or are not small.
 */
export async function explodeDay(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  owner: RollupOwner,
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
          .eq("siteId", owner.siteId)
          .eq("generation", owner.generation)
          .eq("interval", "hour")
          .gte("bucketStart", bucketStart)
          .lt("bucketStart", end),
      ),
    SMALL_DAY_BYTES,
  );
  const bytes = bytesOf(docs);
  if (new Set(docs.map((d) => d.bucketStart)).size < 2 || bytes > SMALL_DAY_BYTES) return null;
  const byHour = new Map<number, DimensionRows>();
  for (const doc of docs) {
    let rows = byHour.get(doc.bucketStart);
    if (!rows) byHour.set(doc.bucketStart, (rows = new DimensionRows()));
    rows.addDeltaRows(decodeRows(doc.rows));
  }
  for (const doc of docs) await ctx.db.delete("rollupDeltas", doc._id);
  const mayFold = pageSetBudget(ctx, bytes, false);
  for (const dimension of DIMENSIONS) {
    const hours = [...byHour].flatMap(([hour, rows]): HourRows[] => {
      const map = rows.byDimension.get(dimension);
      return map ? [{ hour, rows: map.values(), folded: undefined }] : [];
    });
    await foldLevels(ctx, site, owner, dimension, day, hours, mayFold);
    for (const hour of hours) await stage(ctx, owner, hour, dimension);
  }
  return docs.length;
}

/** Stages what of one hour's rows has not reached every level, saying which levels hold it. */
export async function stage(
  ctx: MutationCtx,
  { siteId, generation }: RollupOwner,
  { hour, rows, folded }: HourRows,
  dimension: Dimension,
): Promise<void> {
  if (folded === "month") return;
  const dimRows = rows.map((r) => ({ dimension, ...r }));
  for (const chunk of chunkRows(dimRows, MAX_PAGE_BYTES)) {
    await ctx.db.insert("rollupStaging", {
      siteId,
      generation,
      bucketStart: hour,
      dimension,
      rows: encodeRows(chunk),
      rowCount: chunk.length,
      ...(folded ? { folded } : {}),
    });
  }
}

/**
 * Takes up to FOLD_READ_BYTES of one (site, dimension)'s staging, from one hour
 * on to the end of its local day, and folds it as far as the step has room
 * (foldLevels): the first page set always, when `force` is set. Documents that
 * reached the month are deleted, the others that moved are marked with how far
 * they got. Returns how many documents moved.
 */
export async function fold(
  ctx: MutationCtx,
  site: Doc<"sites"> | null,
  owner: RollupOwner,
  bucketStart: number,
  dimension: Dimension,
  force: boolean,
): Promise<number> {
  const day = site ? dayStart(bucketStart, site.timezone) : bucketStart;
  const end = site ? nextBucket("day", day, site.timezone) : bucketStart + 1;
  const docs = await takeBytes(
    ctx.db
      .query("rollupStaging")
      .withIndex("by_dimension", (q) =>
        q
          .eq("siteId", owner.siteId)
          .eq("generation", owner.generation)
          .eq("dimension", dimension)
          .gte("bucketStart", bucketStart)
          .lt("bucketStart", end),
      ),
    FOLD_READ_BYTES,
  );
  if (!site) {
    // A deleted site's rows have nowhere to go.
    for (const doc of docs) await ctx.db.delete("rollupStaging", doc._id);
    return docs.length;
  }
  // In index order, so by hour; an hour's documents can be at different levels.
  const sets = new Map<string, HourRows & { docs: typeof docs }>();
  for (const doc of docs) {
    const id = `${doc.bucketStart}|${doc.folded}`;
    const set = sets.get(id);
    if (set) set.docs.push(doc);
    else sets.set(id, { hour: doc.bucketStart, rows: [], folded: doc.folded, docs: [doc] });
  }
  for (const set of sets.values()) set.rows = set.docs.flatMap((d) => decodeRows(d.rows));
  const before = [...sets.values()].map((set) => set.folded);
  // The documents that move are read again by their patch or delete.
  await foldLevels(
    ctx,
    site,
    owner,
    dimension,
    day,
    [...sets.values()],
    pageSetBudget(ctx, bytesOf(docs), force),
  );
  let moved = 0;
  for (const [i, { folded, docs: setDocs }] of [...sets.values()].entries()) {
    if (folded === before[i]) continue;
    moved += setDocs.length;
    for (const doc of setDocs) {
      if (folded === "month") await ctx.db.delete("rollupStaging", doc._id);
      else await ctx.db.patch("rollupStaging", doc._id, { folded });
    }
  }
  return moved;
}
