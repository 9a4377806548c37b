// Report queries. A report is a declarative query (range, granularity,
// dimension) normalised by pure steps (alignRange, planRange, pickGranularity)
// and answered from canonical rows plus the rows not yet compacted. Reports never
// read raw events, so their reads do not grow with the number of events, and
// they read each dimension's rows through one index range per run of
// same-sized buckets, so no range plan can reach Convex's index-range limit.
import { query, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  vBreakdown,
  vBreakdownArgs,
  vOverview,
  vRange,
  vRealtime,
  vRealtimeArgs,
  vTimeseries,
  vTimeseriesArgs,
  type Breakdown,
  type BreakdownArgs,
  type Dimension,
  type Overview,
  type RangeArgs,
  type Timeseries,
  type TimeseriesArgs,
} from "../shared.js";
import { readDeltaDocs } from "./deltas.js";
import { decodeRows } from "./rowCodec.js";
import {
  COUNTERS,
  RowMap,
  TOTAL_KEY,
  compareRows,
  emptyRow,
  mergeRow,
  type Counters,
  type Row,
} from "./rows.js";
import { estimate } from "./sketch.js";
import { siteOrThrow } from "./sites.js";
import {
  DAY,
  HOUR,
  MINUTE,
  MINUTE_RETENTION_MS,
  alignRange,
  bucketStart,
  hourPhase,
  nextBucket,
  pickGranularity,
  planRange,
  type Piece,
} from "./time.js";
import { sumHourTotals } from "./totals.js";

/** Hour points are allowed for ranges up to this long: beyond it, one point per hour is more than a chart can show. */
export const MAX_HOUR_GRANULARITY_MS = 31 * DAY;
/** More staging documents than this in one report's range means compaction is stalled. */
const MAX_STAGING_DOCS_PER_READ = 1_000;

type Located = { bucketStart: number; row: Row };

/** Canonical rows of `dimension` for each piece, one index range per run of adjacent same-interval pieces. */
async function readCanonical(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  pieces: Piece[],
  dimension: Dimension,
): Promise<Located[]> {
  const out: Located[] = [];
  for (let i = 0; i < pieces.length;) {
    let j = i;
    while (
      j + 1 < pieces.length &&
      pieces[j + 1]!.interval === pieces[i]!.interval &&
      pieces[j + 1]!.bucketStart === pieces[j]!.bucketEnd
    )
      j++;
    const interval = pieces[i]!.interval;
    const [from, to] = [pieces[i]!.bucketStart, pieces[j]!.bucketEnd];
    i = j + 1;
    if (interval === "minute") continue; // minutes live in rollupDeltas only
    const pages = ctx.db
      .query("rollups")
      .withIndex("by_dimension", (q) =>
        q
          .eq("siteId", siteId)
          .eq("interval", interval)
          .eq("dimension", dimension)
          .gte("bucketStart", from)
          .lt("bucketStart", to),
      );
    for await (const page of pages)
      for (const row of decodeRows(page.rows)) out.push({ bucketStart: page.bucketStart, row });
  }
  return out;
}

/**
 * The rows of `dimension` for the hours in [from, to) that compaction has not
 * folded yet: its staging documents, and the delta documents (which hold every
 * dimension). Each row is in exactly one of these or in canonical rows.
 */
async function readUncompacted(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  from: number,
  to: number,
  dimension: Dimension,
): Promise<Located[]> {
  const out: Located[] = [];
  const staging = await ctx.db
    .query("rollupStaging")
    .withIndex("by_dimension", (q) =>
      q
        .eq("siteId", siteId)
        .eq("dimension", dimension)
        .gte("bucketStart", from)
        .lt("bucketStart", to),
    )
    .take(MAX_STAGING_DOCS_PER_READ + 1);
  if (staging.length > MAX_STAGING_DOCS_PER_READ) {
    throw new Error(
      "Too many uncompacted rollup rows: compaction is not running (is registerMaintenanceCrons set up?)",
    );
  }
  const deltas: Pick<Doc<"rollupDeltas">, "bucketStart" | "rows">[] = await readDeltaDocs(
    ctx,
    siteId,
    "hour",
    from,
    to,
  );
  for (const doc of [...staging, ...deltas]) {
    for (const { dimension: d, ...row } of decodeRows(doc.rows))
      if (d === dimension) out.push({ bucketStart: doc.bucketStart, row });
  }
  return out;
}

async function readRange(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  pieces: Piece[],
  from: number,
  to: number,
  dimension: Dimension,
): Promise<Located[]> {
  return [
    ...(await readCanonical(ctx, siteId, pieces, dimension)),
    ...(await readUncompacted(ctx, siteId, from, to, dimension)),
  ];
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

async function loadRange(ctx: QueryCtx, args: RangeArgs, unit = HOUR) {
  const site = await siteOrThrow(ctx, args.siteId);
  const { from, to } = alignRange(
    args.from,
    args.to,
    unit,
    unit === HOUR ? hourPhase(site.timezone) : 0,
  );
  return { site, from, to };
}

export async function getOverviewHandler(ctx: QueryCtx, args: RangeArgs): Promise<Overview> {
  const { site, from, to } = await loadRange(ctx, args);
  const pieces = planRange(from, to, site.timezone);
  const canonical = await readCanonical(ctx, site._id, pieces, "total");
  const uncompacted = await readUncompacted(ctx, site._id, from, to, "total");
  // Counters: exact BTree range sums of the folded hours, plus what is not folded yet.
  const counters: Counters = await sumHourTotals(ctx, site._id, from, to);
  for (const { row } of uncompacted) for (const c of COUNTERS) counters[c] += row[c];
  // Visitors: a sketch union over the coarsest buckets that make up the range.
  let total = emptyRow(TOTAL_KEY);
  for (const { row } of [...canonical, ...uncompacted]) total = mergeRow(total, row);
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

/** Minute points: the minute rows kept for realtime, from the hour documents that hold them. */
async function readMinutes(
  ctx: QueryCtx,
  site: Doc<"sites">,
  from: number,
  to: number,
): Promise<Located[]> {
  const phase = hourPhase(site.timezone);
  const firstHour = Math.floor((from - phase) / HOUR) * HOUR + phase;
  const out: Located[] = [];
  for (const doc of await readDeltaDocs(ctx, site._id, "minute", firstHour, to)) {
    for (const { dimension: _, ...row } of decodeRows(doc.rows)) {
      const minute = Number(row.key);
      if (minute >= from && minute < to) out.push({ bucketStart: minute, row });
    }
  }
  return out;
}

export async function getTimeseriesHandler(
  ctx: QueryCtx,
  args: TimeseriesArgs,
): Promise<Timeseries> {
  const minutes = args.granularity === "minute";
  const { site, from, to } = await loadRange(ctx, args, minutes ? MINUTE : HOUR);
  if (minutes && from < Date.now() - MINUTE_RETENTION_MS) {
    throw new Error(
      "Minute granularity covers only the last 2 hours; use hour or coarser for older ranges",
    );
  }
  if (args.granularity === "hour" && to - from > MAX_HOUR_GRANULARITY_MS) {
    throw new Error(
      "Hour granularity covers at most 31 days; use day or coarser for longer ranges",
    );
  }
  const granularity = args.granularity ?? pickGranularity(from, to);
  const tz = site.timezone;
  // Stored hours are the site's local hours, so every point (a local day, week
  // or month) is a whole number of stored buckets: nothing is cut or shared.
  const starts: number[] = [];
  for (
    let start = bucketStart(granularity, from, tz);
    start < to;
    start = nextBucket(granularity, start, tz)
  )
    starts.push(start);
  const pieces = minutes
    ? []
    : starts.flatMap((start, i) =>
        planRange(Math.max(start, from), Math.min(starts[i + 1] ?? to, to), tz),
      );
  const rows = minutes
    ? await readMinutes(ctx, site, from, to)
    : await readRange(ctx, site._id, pieces, from, to, "total");
  const totals = starts.map(() => emptyRow(TOTAL_KEY));
  for (const { bucketStart: at, row } of rows) {
    // The last point whose start is at or before the row's bucket.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    totals[lo] = mergeRow(totals[lo]!, row);
  }
  return {
    granularity,
    points: starts.map((start, i) => {
      const total = totals[i]!;
      return {
        bucketStart: start,
        visitors: estimate(total.visitors),
        pageviews: total.pageviews,
        sessions: total.entries,
        events: total.events,
        bounceRate: ratio(total.bounces, total.entries),
        avgSessionDurationMs: ratio(total.durationMs, total.entries),
      };
    }),
  };
}

export const DEFAULT_BREAKDOWN_LIMIT = 10;
export const MAX_BREAKDOWN_LIMIT = 1_000;

export async function getBreakdownHandler(ctx: QueryCtx, args: BreakdownArgs): Promise<Breakdown> {
  const { site, from, to } = await loadRange(ctx, args);
  const limit = args.limit ?? DEFAULT_BREAKDOWN_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BREAKDOWN_LIMIT) {
    throw new Error(`limit must be an integer from 1 to ${MAX_BREAKDOWN_LIMIT}`);
  }
  const merged = new RowMap();
  for (const { row } of await readRange(
    ctx,
    site._id,
    planRange(from, to, site.timezone),
    from,
    to,
    args.dimension,
  ))
    merged.add(row);
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
  args: vTimeseriesArgs,
  returns: vTimeseries,
  handler: getTimeseriesHandler,
});

export const getBreakdown = query({
  args: vBreakdownArgs,
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
    let total = emptyRow(TOTAL_KEY);
    for (const { row } of await readMinutes(ctx, site, to - 30 * MINUTE, to))
      total = mergeRow(total, row);
    return { visitors: estimate(total.visitors), pageviews: total.pageviews, events: total.events };
  },
});
