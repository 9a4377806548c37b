// Filtered reports that rollups cannot answer (filterMath.ts routeFilters): the
// report queries (reports.ts) answer them from the cached filter scan of (site,
// range, spec, data version) and say how far it is; startFilterScan, a
// mutation, starts that scan or resumes it. A dashboard calls startFilterScan
// when the arguments change (or the answer says `stale`) and shows the report
// through useQuery: partial while the scan runs, then complete (as funnels do).
import { mutation, type QueryCtx } from "./_generated/server.js";
import { v } from "convex/values";
import {
  vStartFilterScanArgs,
  type BreakdownArgs,
  type Filter,
  type Granularity,
  type OverviewArgs,
  type StartFilterScanArgs,
  type TimeseriesArgs,
} from "../shared.js";
import { canonicalFilters, filterSpec, routeFilters, type FilterReport } from "./filterMath.js";
import {
  encodeFilterResult,
  decodeFilterResult,
  filteredOverview,
  filteredPoints,
  filteredRows,
} from "./filterReduce.js";
import { latestScan, scanKey, startScan } from "./scans.js";
import { siteOrThrow } from "./sites.js";
import { DAY, HOUR, alignRange, hourPhase, pickGranularity } from "./time.js";
import { DEFAULT_SESSION_TIMEOUT_MS } from "./sessions.js";

/** Hour points are allowed for ranges up to this long (as reports.ts MAX_HOUR_GRANULARITY_MS). */
const MAX_HOUR_GRANULARITY_MS = 31 * DAY;

type Args = { siteId: string; from: number; to: number; compare?: unknown };

/** A scanned report's granularity: the one asked for, or the automatic one; no minutes. */
export function scanGranularity(from: number, to: number, asked?: Granularity): Granularity {
  const granularity = asked ?? pickGranularity(from, to);
  if (granularity === "minute")
    throw new Error("Filtered timeseries have no minute points: use hour or coarser");
  if (granularity === "hour" && to - from > MAX_HOUR_GRANULARITY_MS)
    throw new Error(
      "Hour granularity covers at most 31 days; use day or coarser for longer ranges",
    );
  return granularity;
}

/** The scan a filtered report's arguments name: ranges align to the site's hours, as every report's do. */
async function filterScanOf(
  ctx: QueryCtx,
  report: FilterReport,
  args: Args & { granularity?: Granularity; dimension?: BreakdownArgs["dimension"] },
  filters: Filter[],
) {
  if (args.compare !== undefined)
    throw new Error(
      "compare is not available yet with filters that need a scan (one `is` filter on an overview or timeseries has it)",
    );
  const site = await siteOrThrow(ctx, args.siteId);
  const { from, to } = alignRange(args.from, args.to, HOUR, hourPhase(site.timezone));
  const spec = filterSpec({
    report,
    filters,
    dimension: args.dimension,
    granularity: report === "timeseries" ? scanGranularity(from, to, args.granularity) : undefined,
    timeZone: site.timezone,
    sessionTimeoutMs: site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
  });
  const specJson = JSON.stringify(spec);
  return {
    site,
    range: { from, to },
    spec,
    specJson,
    readsTo: to + spec.contextMs,
    key: await scanKey("filter", specJson, from, to),
  };
}

/** The cached scan's answer so far and its progress (an empty answer before it starts). */
async function scanned(
  ctx: QueryCtx,
  report: FilterReport,
  args: Parameters<typeof filterScanOf>[2],
  filters: Filter[],
) {
  const of = await filterScanOf(ctx, report, args, filters);
  const { scan, stale } = await latestScan(ctx, of.site._id, of.key, of.readsTo);
  const result = decodeFilterResult(scan?.result ?? "[]");
  const progress = {
    complete: scan?.phase === "done" && scan.error === undefined,
    scannedEvents: scan?.scannedEvents ?? 0,
    stale,
    error: scan?.error ?? null,
  };
  return { ...of, result, progress };
}

export async function scannedOverview(ctx: QueryCtx, args: OverviewArgs, filters: Filter[]) {
  const { result, progress } = await scanned(ctx, "overview", args, filters);
  return { ...filteredOverview(result), ...progress };
}

export async function scannedTimeseries(ctx: QueryCtx, args: TimeseriesArgs, filters: Filter[]) {
  const { result, progress, spec, range } = await scanned(ctx, "timeseries", args, filters);
  return {
    granularity: spec.granularity!,
    points: filteredPoints(spec, range, result),
    ...progress,
  };
}

export async function scannedBreakdown(
  ctx: QueryCtx,
  args: BreakdownArgs,
  filters: Filter[],
  limit: number,
) {
  const { result, progress } = await scanned(ctx, "breakdown", args, filters);
  return { rows: filteredRows(result, limit), ...progress };
}

/**
 * Starts the scan a filtered report shows (or resumes it, or keeps the cached one);
 * null when the filters need no scan (unfiltered, or answered from a rollup row).
 */
export async function startFilterScanHandler(
  ctx: Parameters<typeof startScan>[0],
  args: StartFilterScanArgs,
): Promise<{ scanId: string | null }> {
  const filters = canonicalFilters(args.filters);
  if (args.report === "breakdown" && args.dimension === undefined)
    throw new Error("A breakdown's scan needs its dimension");
  if (routeFilters(args.report, filters).via !== "scan") return { scanId: null };
  const { site, range, specJson, readsTo } = await filterScanOf(ctx, args.report, args, filters);
  const scanId = await startScan(ctx, {
    siteId: site._id,
    kind: "filter",
    spec: specJson,
    ...range,
    readsTo,
    emptyResult: encodeFilterResult(new Map()),
  });
  return { scanId };
}

export const startFilterScan = mutation({
  args: vStartFilterScanArgs,
  returns: v.object({ scanId: v.union(v.string(), v.null()) }),
  handler: startFilterScanHandler,
});
