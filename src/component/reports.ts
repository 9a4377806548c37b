// Report queries. A report is a declarative query (range, granularity,
// dimension) normalised by pure steps (alignRange, planRange, pickGranularity)
// and answered from canonical rows plus the rows not yet compacted. Reports never
// read raw events, so their reads do not grow with the number of events, and
// they read each dimension's rows through one index range per run of
// same-sized buckets, so no range plan can reach Convex's index-range limit.
// Filters (filterMath.ts) read one key's rows the same way, or, when no rollup
// row answers them, the cached raw-event scan filters.ts keeps (never raw events).
import { query, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import {
  vBreakdown,
  vBreakdownArgs,
  vOverview,
  vOverviewArgs,
  vPropertyBreakdownArgs,
  vRealtime,
  vRealtimeArgs,
  vTimeseries,
  vTimeseriesArgs,
  propGroup,
  type Breakdown,
  type BreakdownArgs,
  type Compare,
  type Dimension,
  type Granularity,
  type Overview,
  type OverviewArgs,
  type PropertyBreakdownArgs,
  type RangeArgs,
  type Timeseries,
  type TimeseriesArgs,
} from "../shared.js";
import { getRealtimeHandler, readMinutes } from "./realtime.js";
import {
  TOTAL_KEY,
  breakdownRow,
  compareRows,
  emptyRow,
  mergeRow,
  ratio,
  type Counters,
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
  comparisonRange,
  hourPhase,
  lastStartAtOrBefore,
  nextBucket,
  pickGranularity,
  planRange,
  type Piece,
} from "./time.js";
import { liveOwner } from "./generations.js";
import {
  readGroups,
  visitorsAtMost,
  visitorsOf,
  type DeltaReads,
  type Group,
} from "./rangeRows.js";
import { assertRetained, loadHorizons, type RollupHorizons } from "./retention.js";
import { canonicalFilters, routeFilters, type FilterReport } from "./filterMath.js";
import { scannedBreakdown, scannedOverview, scannedTimeseries } from "./filters.js";

/** The rollup rows a report reads: the totals, or one filter's (dimension, key) row (filterMath.ts). */
type Selected = { dimension: Dimension; key: string };
const TOTALS: Selected = { dimension: "total", key: TOTAL_KEY };
/** A rollup-answered filtered report's progress: complete, nothing scanned. */
const FROM_ROLLUPS = { complete: true, scannedEvents: 0, stale: false, error: null };

/** How the report's filters are answered, and the rows it reads when not by a scan. */
function routeOf(report: FilterReport, filters: OverviewArgs["filters"]) {
  const canonical = canonicalFilters(filters);
  const route = routeFilters(report, canonical);
  const selected: Selected = route.via === "rollup" ? route : TOTALS;
  return { canonical, route, selected, progress: route.via === "none" ? {} : FROM_ROLLUPS };
}

/** Hour points are allowed for ranges up to this long: beyond it, one point per hour is more than a chart can show. */
export const MAX_HOUR_GRANULARITY_MS = 31 * DAY;

/**
 * A report's aligned range, with the documents every part of the report shares:
 * its site and the site's retention horizons, read once by loadRange, and the
 * delta documents it has read (rangeRows.ts DeltaReads), all carried to the
 * compared period (comparedRange), so a compared report reads each of them once.
 */
export type Aligned = {
  site: Doc<"sites">;
  horizons: RollupHorizons;
  deltaReads: DeltaReads;
  from: number;
  to: number;
};

export async function loadRange(ctx: QueryCtx, args: RangeArgs, unit = HOUR): Promise<Aligned> {
  const site = await siteOrThrow(ctx, args.siteId);
  const range = alignRange(args.from, args.to, unit, phaseOf(site, unit));
  return { site, horizons: await loadHorizons(ctx, site._id), deltaReads: new Map(), ...range };
}

/** The range's pieces (planRange), refused if one was deleted by retention (retention.ts). */
function planRetained({ site, horizons, from, to }: Aligned): Piece[] {
  const pieces = planRange(from, to, site.timezone);
  assertRetained(pieces, horizons, site);
  return pieces;
}

const phaseOf = (site: Doc<"sites">, unit: number) =>
  unit === HOUR ? hourPhase(site.timezone) : 0;

/** The compared period of an aligned range (time.ts comparisonRange), or null when none was asked for. */
export function comparedRange(
  aligned: Aligned,
  compare: Compare | undefined,
  unit = HOUR,
): Aligned | null {
  if (compare === undefined) return null;
  const { site, from, to } = aligned;
  const range = comparisonRange(from, to, compare, site.timezone, unit, phaseOf(site, unit));
  return { ...aligned, ...range };
}

export async function overviewOf(ctx: QueryCtx, range: Aligned, selected = TOTALS) {
  const { site } = range;
  const pieces = planRetained(range);
  const { groups, sketches } = await readGroups(
    ctx,
    liveOwner(site),
    pieces,
    site.timezone,
    selected.dimension,
    undefined,
    range.deltaReads,
  );
  const total = groups.get(`0\u0000${selected.key}`);
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

export async function getOverviewHandler(ctx: QueryCtx, args: OverviewArgs): Promise<Overview> {
  const { canonical, route, selected, progress } = routeOf("overview", args.filters);
  if (route.via === "scan") return await scannedOverview(ctx, args, canonical);
  const range = await loadRange(ctx, args);
  const compared = comparedRange(range, args.compare);
  const overview = { ...(await overviewOf(ctx, range, selected)), ...progress };
  if (!compared) return overview;
  const { from, to } = compared;
  return { ...overview, comparison: { from, to, ...(await overviewOf(ctx, compared, selected)) } };
}

/** The points of [from, to) at `granularity`, zero-filled, after the checks a granularity needs. */
async function timeseriesOf(
  ctx: QueryCtx,
  { site, horizons, deltaReads, from, to }: Aligned,
  granularity: Granularity,
  selected = TOTALS,
): Promise<Timeseries["points"]> {
  const minutes = granularity === "minute";
  if (minutes && selected !== TOTALS)
    throw new Error("Filtered timeseries have no minute points: use hour or coarser");
  if (minutes && from < Date.now() - MINUTE_RETENTION_MS) {
    throw new Error(
      "Minute granularity covers only the last 2 hours; use hour or coarser for older ranges",
    );
  }
  if (granularity === "hour" && to - from > MAX_HOUR_GRANULARITY_MS) {
    throw new Error(
      "Hour granularity covers at most 31 days; use day or coarser for longer ranges",
    );
  }
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
    const owner = liveOwner(site);
    const { groups, sketches } = await readGroups(
      ctx,
      owner,
      pieces,
      tz,
      selected.dimension,
      pointOf,
      deltaReads,
    );
    const points = [...groups.values()].filter((g) => g.key === selected.key);
    const visitors = await visitorsOf(points, sketches, tz);
    for (const [i, g] of points.entries())
      totals[g.group] = { counters: g.counters, visitors: visitors[i]! };
  }
  return starts.map((start, i) => {
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
  });
}

export async function getTimeseriesHandler(
  ctx: QueryCtx,
  args: TimeseriesArgs,
): Promise<Timeseries> {
  const { canonical, route, selected, progress } = routeOf("timeseries", args.filters);
  if (route.via === "scan") return await scannedTimeseries(ctx, args, canonical);
  const unit = args.granularity === "minute" ? MINUTE : HOUR;
  const range = await loadRange(ctx, args, unit);
  const compared = comparedRange(range, args.compare, unit);
  // Automatic hour points only where hours are kept: an older short range is shown by day.
  const picked = pickGranularity(range.from, range.to);
  const hoursFrom = range.horizons.hour ?? -Infinity;
  const granularity =
    args.granularity ?? (picked === "hour" && range.from < hoursFrom ? "day" : picked);
  const points = await timeseriesOf(ctx, range, granularity, selected);
  if (!compared) return { granularity, points, ...progress };
  // Aligned by position: the compared period at the same granularity, never more points than the base.
  const comparedPoints = (await timeseriesOf(ctx, compared, granularity, selected)).slice(
    0,
    points.length,
  );
  const { from, to } = compared;
  return { granularity, points, comparison: { from, to, points: comparedPoints }, ...progress };
}

export const DEFAULT_BREAKDOWN_LIMIT = 10;
export const MAX_BREAKDOWN_LIMIT = 1_000;

type Ranked = Counters & { key: string; visitorCount: number };

function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_BREAKDOWN_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_BREAKDOWN_LIMIT) {
    throw new Error(`limit must be an integer from 1 to ${MAX_BREAKDOWN_LIMIT}`);
  }
  return n;
}

/**
 * The groups of `dimension` over a range whose stored key `keyOf` maps to a
 * report key (null: not in this report), regrouped by that key.
 */
async function keyedGroups(
  ctx: QueryCtx,
  range: Aligned,
  dimension: Dimension,
  keyOf: (stored: string) => string | null,
) {
  const owner = liveOwner(range.site);
  const pieces = planRetained(range);
  const { groups, sketches } = await readGroups(
    ctx,
    owner,
    pieces,
    range.site.timezone,
    dimension,
    undefined,
    range.deltaReads,
  );
  const byKey = new Map<string, Group>();
  for (const g of groups.values()) {
    const key = keyOf(g.key);
    if (key !== null) byKey.set(key, { ...g, key });
  }
  return { groups: byKey, sketches };
}

/**
 * The exact top `limit` keys. Threshold selection: rank every key on exact
 * counters and an upper bound of its visitors, then merge sketches only for the
 * keys that can still make the top `limit`, a batch at a time, until the next
 * key's bound cannot beat the last row kept. So sketches are read for about
 * `limit` keys, not for all.
 */
async function topRows(
  ctx: QueryCtx,
  range: Aligned,
  dimension: Dimension,
  limit: number,
  keyOf: (stored: string) => string | null,
): Promise<Ranked[]> {
  const { groups, sketches } = await keyedGroups(ctx, range, dimension, keyOf);
  const candidates = [...groups.values()]
    .filter((g) => g.counters.events > 0 || g.counters.entries > 0)
    .map((g) => ({ g, best: { ...g.counters, key: g.key, visitorCount: visitorsAtMost(g) } }))
    .sort((a, b) => compareRows(a.best, b.best));
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
    const visitors = await visitorsOf(batch, sketches, range.site.timezone);
    rows = [
      ...rows,
      ...batch.map((g, i) => ({ ...g.counters, key: g.key, visitorCount: visitors[i]! })),
    ]
      .sort(compareRows)
      .slice(0, limit);
  }
  return rows;
}

/** `keys`' rows over a range, in their order (zeros for a key not seen): sketches are read for these keys only. */
export async function rowsForKeys(
  ctx: QueryCtx,
  range: Aligned,
  dimension: Dimension,
  keys: string[],
  keyOf: (stored: string) => string | null,
): Promise<Ranked[]> {
  const { groups, sketches } = await keyedGroups(ctx, range, dimension, keyOf);
  const found = keys.flatMap((k) => groups.get(k) ?? []);
  const visitors = await visitorsOf(found, sketches, range.site.timezone);
  const byKey = new Map<string, Ranked>(
    found.map((g, i) => [g.key, { ...g.counters, key: g.key, visitorCount: visitors[i]! }]),
  );
  return keys.map((key) => byKey.get(key) ?? { ...emptyRow(key), visitorCount: 0 });
}

/** A breakdown and, when asked, its rows' keys over the compared period. */
async function breakdownOf(
  ctx: QueryCtx,
  args: RangeArgs & { limit?: number; compare?: Compare },
  dimension: Dimension,
  keyOf: (stored: string) => string | null,
): Promise<Breakdown> {
  const range = await loadRange(ctx, args);
  const limit = checkLimit(args.limit);
  const compared = comparedRange(range, args.compare);
  const rows = await topRows(ctx, range, dimension, limit, keyOf);
  if (!compared) return { rows: rows.map(breakdownRow) };
  const keys = rows.map((r) => r.key);
  const then = await rowsForKeys(ctx, compared, dimension, keys, keyOf);
  const { from, to } = compared;
  return { rows: rows.map(breakdownRow), comparison: { from, to, rows: then.map(breakdownRow) } };
}

export async function getBreakdownHandler(ctx: QueryCtx, args: BreakdownArgs): Promise<Breakdown> {
  const { canonical, route } = routeOf("breakdown", args.filters);
  if (route.via === "scan")
    return await scannedBreakdown(ctx, args, canonical, checkLimit(args.limit));
  return await breakdownOf(ctx, args, args.dimension, (key) => key);
}

/**
 * One event's values of one property, from the `prop` rollups (keys
 * `event|property|value`): the same threshold selection as any breakdown, over
 * the keys of that (event, property) only.
 */
export async function getPropertyBreakdownHandler(
  ctx: QueryCtx,
  args: PropertyBreakdownArgs,
): Promise<Breakdown> {
  const prefix = propGroup(args.event, args.property);
  return await breakdownOf(ctx, args, "prop", (key) =>
    key.startsWith(prefix) ? key.slice(prefix.length) : null,
  );
}

export const getOverview = query({
  args: vOverviewArgs,
  returns: vOverview,
  handler: getOverviewHandler,
});

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

export const getPropertyBreakdown = query({
  args: vPropertyBreakdownArgs,
  returns: vBreakdown,
  handler: getPropertyBreakdownHandler,
});

/**
 * The live view before `now` (realtime.ts). `now` comes from the caller, rounded
 * to the minute (a query that read the clock would be cached until something it
 * read changed, so a quiet site would freeze).
 */
export const getRealtime = query({
  args: vRealtimeArgs,
  returns: vRealtime,
  handler: getRealtimeHandler,
});
