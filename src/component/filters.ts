// Filtered reports that rollups cannot answer (filterMath.ts routeFilters): the
// report queries (reports.ts) answer them from the cached filter scan of (site,
// range, spec, data version) and say how far it is; startFilterScan, a
// mutation, starts that scan or resumes it. A dashboard calls startFilterScan
// when the arguments change (or the answer says `stale`) and shows the report
// through useQuery: partial while the scan runs, then complete (as funnels do).
import { mutation, type QueryCtx } from "./_generated/server.js";
import { v } from "convex/values";
import {
  MAX_FILTERS,
  vStartFilterScanArgs,
  type Breakdown,
  type BreakdownArgs,
  type Compare,
  type Overview,
  type Timeseries,
  type Filter,
  type Granularity,
  type OverviewArgs,
  type StartFilterScanArgs,
  type TimeseriesArgs,
} from "../shared.js";
import {
  canonicalFilters,
  filterSpec,
  routeFilters,
  type FilterGoal,
  type FilterReport,
} from "./filterMath.js";
import {
  encodeFilterResult,
  decodeFilterResult,
  filteredOverview,
  filteredPoints,
  filteredRows,
  filteredRowsForKeys,
} from "./filterReduce.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { MAX_FUTURE_MS } from "./events.js";
import { countedGoal } from "./goalMath.js";
import { DEFAULT_RAW_RETENTION_DAYS } from "./retention.js";
import { latestScan, processedBeforeOf, scanKey, startScan } from "./scans.js";
import { siteOrThrow } from "./sites.js";
import { DAY, HOUR, alignRange, comparisonRange, hourPhase, pickGranularity } from "./time.js";
import { DEFAULT_SESSION_TIMEOUT_MS } from "./sessions.js";

/** Hour points are allowed for ranges up to this long (as reports.ts MAX_HOUR_GRANULARITY_MS). */
const MAX_HOUR_GRANULARITY_MS = 31 * DAY;

type Args = { siteId: string; from: number; to: number; compare?: Compare };
type ScanArgs = Args & { granularity?: Granularity; dimension?: BreakdownArgs["dimension"] };
type Range = { from: number; to: number };

/**
 * The filters' argument errors (here and filterMath.ts): the caller's fault, so the
 * stats API answers them with a 400 and the message.
 */
export const FILTER_ERRORS = [
  `At most ${MAX_FILTERS} filters`,
  "A filter's value has",
  "These filters need a scan of the raw events",
  "Filtered timeseries have no minute points",
  "A filtered breakdown by total",
  "Goals cannot be broken down under filters",
  "A goal filter has no `contains`",
  "Unknown goal",
];

/**
 * The goals the goal filters name, each a goal of `site` (a goal id of another site
 * is refused as an unknown one is: a site's filters reveal nothing of another's goals).
 */
async function filterGoals(
  ctx: QueryCtx,
  site: Doc<"sites">,
  filters: Filter[],
): Promise<FilterGoal[]> {
  const goals: FilterGoal[] = [];
  for (const { dimension, value } of filters) {
    if (dimension !== "goal") continue;
    const id = ctx.db.normalizeId("goals", value);
    const goal = id && (await ctx.db.get("goals", id));
    if (!goal || goal.siteId !== site._id)
      throw new Error(
        `Unknown goal ${JSON.stringify(value)}: a goal filter's value is the id of one of this site's goals (listGoals)`,
      );
    goals.push(countedGoal(goal));
  }
  return goals;
}

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

/**
 * The scans a filtered report's arguments name: its range's, and the compared
 * period's when `compare` is given. Ranges align to the site's hours, as every
 * report's do; one spec serves both (the base range picks the granularity).
 */
async function filterScansOf(
  ctx: QueryCtx,
  report: FilterReport,
  args: ScanArgs,
  filters: Filter[],
) {
  const site = await siteOrThrow(ctx, args.siteId);
  const phase = hourPhase(site.timezone);
  const base = alignRange(args.from, args.to, HOUR, phase);
  const compared =
    args.compare === undefined
      ? null
      : comparisonRange(base.from, base.to, args.compare, site.timezone, HOUR, phase);
  const spec = filterSpec({
    report,
    filters,
    dimension: args.dimension,
    granularity:
      report === "timeseries" ? scanGranularity(base.from, base.to, args.granularity) : undefined,
    timeZone: site.timezone,
    sessionTimeoutMs: site.settings.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    goals: await filterGoals(ctx, site, filters),
  });
  // Raw batches older than the site's raw retention are deleted: a scan there would miss events.
  const rawDays = site.settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS;
  const earliest = Math.min(base.from, compared?.from ?? Infinity);
  if (earliest - MAX_FUTURE_MS < Date.now() - rawDays * DAY)
    throw new Error(
      `These filters need a scan of the raw events, which are kept ${rawDays} days (rawRetentionDays): use a more recent range, or one \`is\` filter a rollup answers`,
    );
  const specJson = JSON.stringify(spec);
  const scanOf = async (range: Range) => ({
    range,
    readsTo: range.to + spec.contextMs,
    key: await scanKey("filter", specJson, range.from, range.to),
  });
  return {
    site,
    spec,
    specJson,
    base: await scanOf(base),
    compared: compared && (await scanOf(compared)),
  };
}

/** One cached scan's answer so far and its progress (an empty answer before it starts). */
async function cached(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  of: { key: string; readsTo: number },
  processedBefore: () => Promise<number>,
) {
  const { scan, stale } = await latestScan(ctx, siteId, of.key, of.readsTo, processedBefore);
  return {
    result: decodeFilterResult(scan?.result ?? "[]"),
    complete: scan?.phase === "done" && scan.error === undefined,
    scannedEvents: scan?.scannedEvents ?? 0,
    stale,
    error: scan?.error ?? null,
  };
}

/** The report's scans read: the base answer, the compared one (or null), and their progress together. */
async function scanned(ctx: QueryCtx, report: FilterReport, args: ScanArgs, filters: Filter[]) {
  const of = await filterScansOf(ctx, report, args, filters);
  // The site's cursor is read once for both scans.
  const processedBefore = processedBeforeOf(ctx, of.site._id);
  const base = await cached(ctx, of.site._id, of.base, processedBefore);
  const compared = of.compared && (await cached(ctx, of.site._id, of.compared, processedBefore));
  const both = compared ? [base, compared] : [base];
  const progress = {
    complete: both.every((s) => s.complete),
    scannedEvents: both.reduce((n, s) => n + s.scannedEvents, 0),
    stale: both.some((s) => s.stale),
    error: both.find((s) => s.error !== null)?.error ?? null,
  };
  return {
    spec: of.spec,
    base: { range: of.base.range, result: base.result },
    compared: compared && { range: of.compared!.range, result: compared.result },
    progress,
  };
}

export async function scannedOverview(
  ctx: QueryCtx,
  args: OverviewArgs,
  filters: Filter[],
): Promise<Overview> {
  const { base, compared, progress } = await scanned(ctx, "overview", args, filters);
  return {
    ...filteredOverview(base.result),
    ...(compared
      ? { comparison: { ...compared.range, ...filteredOverview(compared.result) } }
      : {}),
    ...progress,
  };
}

export async function scannedTimeseries(
  ctx: QueryCtx,
  args: TimeseriesArgs,
  filters: Filter[],
): Promise<Timeseries> {
  const { spec, base, compared, progress } = await scanned(ctx, "timeseries", args, filters);
  const points = filteredPoints(spec, base.range, base.result);
  // Aligned by position, never more points than the base (as unfiltered timeseries).
  const comparison = compared && {
    ...compared.range,
    points: filteredPoints(spec, compared.range, compared.result).slice(0, points.length),
  };
  return {
    granularity: spec.granularity!,
    points,
    ...(comparison ? { comparison } : {}),
    ...progress,
  };
}

export async function scannedBreakdown(
  ctx: QueryCtx,
  args: BreakdownArgs,
  filters: Filter[],
  limit: number,
): Promise<Breakdown> {
  const { base, compared, progress } = await scanned(ctx, "breakdown", args, filters);
  const rows = filteredRows(base.result, limit);
  const comparison = compared && {
    ...compared.range,
    rows: filteredRowsForKeys(
      compared.result,
      rows.map((r) => r.key),
    ),
  };
  return { rows, ...(comparison ? { comparison } : {}), ...progress };
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
  const { site, specJson, base, compared } = await filterScansOf(ctx, args.report, args, filters);
  const processedBefore = processedBeforeOf(ctx, site._id);
  const start = async ({ range, readsTo }: typeof base) =>
    await startScan(
      ctx,
      {
        siteId: site._id,
        kind: "filter",
        spec: specJson,
        ...range,
        readsTo,
        emptyResult: encodeFilterResult(new Map()),
      },
      processedBefore,
    );
  const scanId = await start(base);
  if (compared) await start(compared);
  return { scanId };
}

export const startFilterScan = mutation({
  args: vStartFilterScanArgs,
  returns: v.object({ scanId: v.union(v.string(), v.null()) }),
  handler: startFilterScanHandler,
});
