// Report queries. A report is a declarative query (range, granularity,
// dimension) normalised by pure steps (alignRange, planRange, pickGranularity)
// and answered from canonical rows plus the rows not yet compacted. Reports never
// read raw events, so their reads do not grow with the number of events, and
// they read each dimension's rows through one index range per run of
// same-sized buckets, so no range plan can reach Convex's index-range limit.
import { query, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
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
  type Overview,
  type RangeArgs,
  type Timeseries,
  type TimeseriesArgs,
} from "../shared.js";
import { readDeltaDocs } from "./deltas.js";
import { decodeRows } from "./rowCodec.js";
import { TOTAL_KEY, compareRows, emptyRow, mergeRow, type Counters } from "./rows.js";
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
  lastStartAtOrBefore,
  nextBucket,
  pickGranularity,
  planRange,
  type Piece,
} from "./time.js";
import { assertRetained, loadHorizons } from "./retention.js";
import { readGroups, visitorsAtMost, visitorsOf, type Group, type Located } from "./rangeRows.js";

/** Hour points are allowed for ranges up to this long: beyond it, one point per hour is more than a chart can show. */
export const MAX_HOUR_GRANULARITY_MS = 31 * DAY;

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

/** The range's pieces (planRange), refused if one was deleted by retention (retention.ts). */
async function planRetained(
  ctx: QueryCtx,
  site: Doc<"sites">,
  from: number,
  to: number,
): Promise<Piece[]> {
  const pieces = planRange(from, to, site.timezone);
  assertRetained(pieces, await loadHorizons(ctx, site._id), site);
  return pieces;
}

export async function getOverviewHandler(ctx: QueryCtx, args: RangeArgs): Promise<Overview> {
  const { site, from, to } = await loadRange(ctx, args);
  const pieces = await planRetained(ctx, site, from, to);
  const { groups, sketches } = await readGroups(ctx, site._id, pieces, "total");
  const total = groups.values().next().value;
  // Counters: the total rows of the coarsest buckets that make up the range, plus what is not
  // folded into them yet. Not the hourly-totals BTree: it holds only the retained hours.
  const counters: Counters = total?.counters ?? (emptyRow(TOTAL_KEY) as Counters);
  // Visitors: a sketch union over the coarsest buckets that make up the range.
  const [visitors = 0] = total ? await visitorsOf([total], sketches, site.timezone) : [];
  return {
    visitors,
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
  const tz = site.timezone;
  const horizons = await loadHorizons(ctx, site._id);
  const hoursFrom = horizons.hour ?? -Infinity;
  // Automatic hour points only where hours are kept: an older short range is shown by day.
  const picked = pickGranularity(from, to);
  const granularity = args.granularity ?? (picked === "hour" && from < hoursFrom ? "day" : picked);
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
  assertRetained(pieces, horizons, site);
  // The last point whose start is at or before a bucket's start.
  const pointOf = (at: number) => lastStartAtOrBefore(starts, at);
  const totals = starts.map(() => ({ counters: emptyRow(TOTAL_KEY) as Counters, visitors: 0 }));
  if (minutes) {
    const rows = starts.map(() => emptyRow(TOTAL_KEY));
    for (const { bucketStart: at, row } of await readMinutes(ctx, site, from, to))
      rows[pointOf(at)] = mergeRow(rows[pointOf(at)]!, row);
    for (const [i, row] of rows.entries())
      totals[i] = { counters: row, visitors: estimate(row.visitors) };
  } else {
    const { groups, sketches } = await readGroups(ctx, site._id, pieces, "total", pointOf);
    const points = [...groups.values()];
    const visitors = await visitorsOf(points, sketches, tz);
    for (const [i, g] of points.entries())
      totals[g.group] = { counters: g.counters, visitors: visitors[i]! };
  }
  return {
    granularity,
    points: starts.map((start, i) => {
      const { counters: total, visitors } = totals[i]!;
      return {
        bucketStart: start,
        visitors,
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
  const { groups, sketches } = await readGroups(
    ctx,
    site._id,
    await planRetained(ctx, site, from, to),
    args.dimension,
  );
  // Threshold selection: rank every key on exact counters and an upper bound of
  // its visitors, then merge sketches only for the keys that can still make the
  // top `limit`, a batch at a time, until the next key's bound cannot beat the
  // last row kept. So sketches are read for about `limit` keys, not for all.
  const candidates = [...groups.values()]
    .filter((g) => g.counters.events > 0 || g.counters.entries > 0)
    .map((g) => ({ g, best: { ...g.counters, key: g.key, visitorCount: visitorsAtMost(g) } }))
    .sort((a, b) => compareRows(a.best, b.best));
  type Ranked = Counters & { key: string; visitorCount: number };
  let rows: Ranked[] = [];
  for (let next = 0; next < candidates.length;) {
    const cutoff = rows.length === limit ? rows[limit - 1]! : null;
    const batch: Group[] = [];
    while (
      next < candidates.length &&
      batch.length < limit &&
      !(cutoff && compareRows(candidates[next]!.best, cutoff) > 0)
    )
      batch.push(candidates[next++]!.g);
    if (batch.length === 0) break;
    const visitors = await visitorsOf(batch, sketches, site.timezone);
    rows = [
      ...rows,
      ...batch.map((g, i) => ({ ...g.counters, key: g.key, visitorCount: visitors[i]! })),
    ]
      .sort(compareRows)
      .slice(0, limit);
  }
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
