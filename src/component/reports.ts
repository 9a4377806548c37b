// Report queries. A report is a declarative query (range, granularity,
// dimension) normalised by pure steps (alignRange, planRange, pickGranularity)
// and answered from canonical rows plus the bounded uncompacted shards. Reports
// never read raw events, so their reads do not grow with the number of events.
import { v } from "convex/values";
import { query, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  vBreakdown,
  vDimension,
  vGranularity,
  vOverview,
  vRange,
  vRealtime,
  vRealtimeArgs,
  vTimeseries,
  type Breakdown,
  type Dimension,
  type Granularity,
  type Overview,
  type Timeseries,
} from "../shared.js";
import { RowMap, compareRows, emptyRow, mergeRow, type Counters, type Row } from "./rows.js";
import { TOTAL_KEY } from "./sessions.js";
import { estimate } from "./sketch.js";
import { siteOrThrow } from "./sites.js";
import {
  HOUR,
  MINUTE,
  MINUTE_RETENTION_MS,
  alignRange,
  bucketStart,
  nextBucket,
  pickGranularity,
  planRange,
  type Piece,
} from "./time.js";
import { sumHourTotals } from "./totals.js";

/** More uncompacted shard documents than this under one bucket means compaction is stalled. */
const MAX_SHARD_DOCS_PER_PIECE = 512;
const MAX_PAGES_PER_PIECE = 256;

/** The rows of one dimension in one planned bucket: canonical pages plus uncompacted shards. */
async function readPiece(ctx: QueryCtx, siteId: Id<"sites">, piece: Piece, dimension: Dimension): Promise<Row[]> {
  const pages = await ctx.db
    .query("rollups")
    .withIndex("by_bucket", (q) =>
      q.eq("siteId", siteId).eq("interval", piece.interval).eq("bucketStart", piece.bucketStart).eq("dimension", dimension),
    )
    .take(MAX_PAGES_PER_PIECE);
  // Months are folded from days at compaction: their uncompacted deltas are day shards.
  const shards =
    piece.interval === "month"
      ? await ctx.db
          .query("rollupShards")
          .withIndex("by_bucket", (q) =>
            q
              .eq("siteId", siteId)
              .eq("interval", "day")
              .gte("bucketStart", piece.bucketStart)
              .lt("bucketStart", piece.bucketEnd),
          )
          .take(MAX_SHARD_DOCS_PER_PIECE + 1)
      : await ctx.db
          .query("rollupShards")
          .withIndex("by_bucket", (q) => q.eq("siteId", siteId).eq("interval", piece.interval).eq("bucketStart", piece.bucketStart))
          .take(MAX_SHARD_DOCS_PER_PIECE + 1);
  assertCompactionKeepsUp(shards);
  const rows = pages.flatMap((p) => p.rows);
  for (const shard of shards) for (const { dimension: d, ...row } of shard.rows) if (d === dimension) rows.push(row);
  return rows;
}

function assertCompactionKeepsUp(shards: Doc<"rollupShards">[]): void {
  if (shards.length > MAX_SHARD_DOCS_PER_PIECE) {
    throw new Error("Too many uncompacted rollup shards: compaction is not running (is registerMaintenanceCrons set up?)");
  }
}

async function readTotal(ctx: QueryCtx, siteId: Id<"sites">, pieces: Piece[]): Promise<Row> {
  let total = emptyRow(TOTAL_KEY);
  for (const piece of pieces) for (const row of await readPiece(ctx, siteId, piece, "total")) total = mergeRow(total, row);
  return total;
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

async function loadRange(ctx: QueryCtx, args: { siteId: string; from: number; to: number }, unit = HOUR) {
  const site = await siteOrThrow(ctx, args.siteId);
  const { from, to } = alignRange(args.from, args.to, unit);
  return { site, from, to };
}

export async function getOverviewHandler(ctx: QueryCtx, args: { siteId: string; from: number; to: number }): Promise<Overview> {
  const { site, from, to } = await loadRange(ctx, args);
  // Counters: exact BTree range sums of compacted hours, plus the hour shards not yet compacted.
  const counters: Counters = await sumHourTotals(ctx, site._id, from, to);
  const openHours = await ctx.db
    .query("rollupShards")
    .withIndex("by_bucket", (q) => q.eq("siteId", site._id).eq("interval", "hour").gte("bucketStart", from).lt("bucketStart", to))
    .take(MAX_SHARD_DOCS_PER_PIECE + 1);
  assertCompactionKeepsUp(openHours);
  for (const shard of openHours) {
    for (const row of shard.rows) {
      if (row.dimension !== "total") continue;
      for (const c of Object.keys(counters) as (keyof Counters)[]) counters[c] += row[c];
    }
  }
  // Visitors: a sketch union over the coarsest buckets that make up the range.
  const total = await readTotal(ctx, site._id, planRange(from, to, site.timezone));
  return {
    visitors: estimate(total.visitors),
    pageviews: counters.pageviews,
    sessions: counters.entries,
    bounceRate: ratio(counters.bounces, counters.entries),
    avgSessionDurationMs: ratio(counters.durationMs, counters.entries),
    viewsPerSession: ratio(counters.pageviews, counters.entries),
    events: counters.events,
  };
}

export async function getTimeseriesHandler(
  ctx: QueryCtx,
  args: { siteId: string; from: number; to: number; granularity?: Granularity },
): Promise<Timeseries> {
  const minutes = args.granularity === "minute";
  const { site, from, to } = await loadRange(ctx, args, minutes ? MINUTE : HOUR);
  if (minutes && from < Date.now() - MINUTE_RETENTION_MS) {
    throw new Error("Minute granularity covers only the last 2 hours; use hour or coarser for older ranges");
  }
  const granularity = args.granularity ?? pickGranularity(from, to);
  const tz = site.timezone;
  const points: Timeseries["points"] = [];
  for (let start = bucketStart(granularity, from, tz); start < to; start = nextBucket(granularity, start, tz)) {
    // Stored buckets are whole UTC hours: where local midnight is not on the hour
    // (e.g. UTC+05:30), a point is cut at the hour before it, so no event is
    // counted twice or lost.
    const unit = minutes ? MINUTE : HOUR;
    const lo = Math.max(Math.floor(start / unit) * unit, from);
    const hi = Math.min(Math.floor(nextBucket(granularity, start, tz) / unit) * unit, to);
    const pieces = planRange(lo, hi, tz, minutes);
    const total = await readTotal(ctx, site._id, pieces);
    points.push({
      bucketStart: start,
      visitors: estimate(total.visitors),
      pageviews: total.pageviews,
      sessions: total.entries,
      events: total.events,
      bounceRate: ratio(total.bounces, total.entries),
      avgSessionDurationMs: ratio(total.durationMs, total.entries),
    });
  }
  return { granularity, points };
}

export const DEFAULT_BREAKDOWN_LIMIT = 10;
export const MAX_BREAKDOWN_LIMIT = 1_000;

export async function getBreakdownHandler(
  ctx: QueryCtx,
  args: { siteId: string; from: number; to: number; dimension: Dimension; limit?: number },
): Promise<Breakdown> {
  const { site, from, to } = await loadRange(ctx, args);
  const limit = args.limit ?? DEFAULT_BREAKDOWN_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BREAKDOWN_LIMIT) {
    throw new Error(`limit must be an integer from 1 to ${MAX_BREAKDOWN_LIMIT}`);
  }
  const merged = new RowMap();
  for (const piece of planRange(from, to, site.timezone)) {
    merged.addAll(await readPiece(ctx, site._id, piece, args.dimension));
  }
  const rows = merged
    .values()
    .map((r) => ({ ...r, visitorCount: estimate(r.visitors) }))
    .filter((r) => r.events > 0 || r.entries > 0)
    .sort(compareRows)
    .slice(0, limit);
  return {
    rows: rows.map((r) => ({
      key: r.key,
      visitors: r.visitorCount,
      pageviews: r.pageviews,
      events: r.events,
      entries: r.entries,
      bounceRate: ratio(r.bounces, r.entries),
    })),
  };
}

export const getOverview = query({ args: vRange, returns: vOverview, handler: getOverviewHandler });

export const getTimeseries = query({
  args: { ...vRange, granularity: v.optional(vGranularity) },
  returns: vTimeseries,
  handler: getTimeseriesHandler,
});

export const getBreakdown = query({
  args: { ...vRange, dimension: vDimension, limit: v.optional(v.number()) },
  returns: vBreakdown,
  handler: getBreakdownHandler,
});

/**
 * The 30 minutes before `now`, by minute: visitors online now and what they did.
 * `now` comes from the caller, rounded to the minute (a query that read the clock
 * would be cached until something it read changed, so a quiet site would freeze).
 */
export const getRealtime = query({
  args: vRealtimeArgs,
  returns: vRealtime,
  handler: async (ctx, { siteId, now }) => {
    const site = await siteOrThrow(ctx, siteId);
    const to = alignRange(now - 1, now, MINUTE).to;
    const total = await readTotal(ctx, site._id, planRange(to - 30 * MINUTE, to, site.timezone, true));
    return { visitors: estimate(total.visitors), pageviews: total.pageviews, events: total.events };
  },
});
