// Data hooks: each is one `useQuery` against the host's facades. A failed query
// comes back as `error` instead of throwing, so one failing panel (an auth
// refusal, say) never takes the rest of the dashboard down with it.
import { useEffect, useMemo, useRef, useState } from "react";
import { useConvex, useQuery } from "convex/react";
import type { DefaultFunctionArgs, FunctionReference } from "convex/server";
import type {
  Breakdown,
  BreakdownArgs,
  Compare,
  Dimension,
  Filter,
  Granularity,
  GoalsArgs,
  GoalsReport,
  Overview,
  OverviewArgs,
  Realtime,
  Site,
  StartFilterScanArgs,
  Timeseries,
  TimeseriesArgs,
} from "../shared.js";
import { MINUTE } from "../component/time.js";
import { computeRange, type CustomRange, type RangePreset, type TimeRange } from "./range.js";

/** Arguments of every range report. */
export type RangeArgs = { siteId: string; from: number; to: number };
type PublicQuery<Args extends DefaultFunctionArgs, Result> = FunctionReference<
  "query",
  "public",
  Args,
  Result
>;

/**
 * The host module that re-exports the facades: `api.analytics` when
 * `convex/analytics.ts` re-exports `exposeAnalyticsApi`'s functions.
 * `getSite` (from `exposeAdminApi`) is optional: it gives the header its site
 * name and timezone; without it pass `site` to the dashboard. `getGoals`
 * (optional) adds the goals panel; `startFilterScan` (optional) lets filter
 * combinations that rollups cannot answer complete (without it they stay partial).
 */
export type AnalyticsApi = {
  getOverview: PublicQuery<OverviewArgs, Overview>;
  getTimeseries: PublicQuery<TimeseriesArgs, Timeseries>;
  getBreakdown: PublicQuery<BreakdownArgs, Breakdown>;
  getRealtime: PublicQuery<{ siteId: string; now: number }, Realtime>;
  getSite?: PublicQuery<{ siteId: string }, Site | null>;
  getGoals?: PublicQuery<GoalsArgs, GoalsReport>;
  startFilterScan?: FunctionReference<
    "mutation",
    "public",
    StartFilterScanArgs,
    { scanId: string | null }
  >;
};

/** What every range report of the dashboard may also take: its filters (AND) and a compared period. */
export type ReportOptions = { filters?: readonly Filter[]; compare?: Compare };

/** What a report hook returns: `data` once loaded, `error` if the query failed (with the server's message). */
export type ReportState<T> = { data: T | undefined; error: Error | undefined; loading: boolean };

/**
 * useQuery, with the error returned rather than thrown. convex/react's useQuery
 * throws only after all of its hooks have run, so catching it keeps hook order.
 */
export function useReport<Args extends DefaultFunctionArgs, T>(
  query: PublicQuery<Args, T> | undefined,
  args: Args | "skip",
): ReportState<T> {
  let data: T | undefined;
  let error: Error | undefined;
  try {
    // A missing query (an optional facade the host did not export) is skipped, not called.
    data = useQuery(
      query ?? (SKIPPED as PublicQuery<Args, T>),
      (query ? args : "skip") as never,
    ) as T | undefined;
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }
  return {
    data,
    error,
    loading: data === undefined && error === undefined && args !== "skip" && !!query,
  };
}
// Any reference works for a skipped query: useQuery only reads its name.
const SKIPPED = "analytics:skipped" as unknown as PublicQuery<Record<string, never>, never>;

/**
 * The clock, rounded down to `stepMs` and advanced by a timer at each step: the
 * value (and every query argument derived from it) changes once per step, never
 * on a re-render.
 */
export function useNow(stepMs: number = MINUTE): number {
  const [now, setNow] = useState(() => Math.floor(Date.now() / stepMs) * stepMs);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const arm = () => {
      const t = Date.now();
      timer = setTimeout(
        () => {
          setNow(Math.floor(Date.now() / stepMs) * stepMs);
          arm();
        },
        stepMs - (t % stepMs) + 5,
      );
    };
    arm();
    return () => clearTimeout(timer);
  }, [stepMs]);
  return now;
}

export type AnalyticsRange = {
  preset: RangePreset;
  setPreset: (preset: RangePreset) => void;
  custom: CustomRange | undefined;
  setCustom: (custom: CustomRange) => void;
  /** The range to report: stable within the hour (the same object until it changes). */
  range: TimeRange;
  /** Set when the custom range cannot be used; the range then stays what it was. */
  error: string | undefined;
};

/**
 * The selected range, computed in the site's timezone from a clock that
 * advances by the hour, so its `from`/`to` are identical across re-renders and
 * across every component showing it.
 */
export function useAnalyticsRange(timeZone: string, initial: RangePreset = "30d"): AnalyticsRange {
  const [preset, setPresetState] = useState<RangePreset>(initial);
  const [custom, setCustomState] = useState<CustomRange | undefined>(undefined);
  // A minute clock (local midnight in a UTC+05:30 zone is not on the hour); the range
  // it yields changes only when its whole-hour end or its local-midnight start does.
  const now = useNow(MINUTE);
  const [lastGood, setLastGood] = useState<TimeRange | undefined>(undefined);
  const computed = useMemo(() => {
    try {
      return { range: computeRange(preset, now, timeZone, custom), error: undefined };
    } catch (e) {
      return { range: undefined, error: (e as Error).message };
    }
  }, [preset, now, timeZone, custom]);
  const fallback = lastGood ?? computeRange("30d", now, timeZone);
  const { from, to } = computed.range ?? fallback;
  const range = useMemo(() => ({ from, to }), [from, to]);
  useEffect(() => {
    if (computed.range) setLastGood(computed.range);
  }, [computed.range]);
  return {
    preset,
    setPreset: setPresetState,
    custom,
    setCustom: (c) => {
      setCustomState(c);
      setPresetState("custom");
    },
    range,
    error: computed.error,
  };
}

function rangeArgs(siteId: string, range: TimeRange): RangeArgs {
  return { siteId, from: range.from, to: range.to };
}

/**
 * A report's arguments: the range, then `filters` and `compare` only when set, so
 * an unfiltered, uncompared report asks exactly what it always did.
 */
export function reportArgs(
  siteId: string,
  range: TimeRange,
  options: ReportOptions = {},
): RangeArgs & { filters?: Filter[]; compare?: Compare } {
  return {
    ...rangeArgs(siteId, range),
    ...(options.filters?.length ? { filters: [...options.filters] } : {}),
    ...(options.compare ? { compare: options.compare } : {}),
  };
}

/** Visitors, pageviews, sessions, bounce rate, visit duration, views per session, events. */
export function useOverview(
  api: AnalyticsApi,
  siteId: string,
  range: TimeRange,
  options?: ReportOptions,
): ReportState<Overview> {
  return useReport(api.getOverview, reportArgs(siteId, range, options));
}

/** The zero-filled series; `granularity` omitted lets the API pick it from the range. */
export function useTimeseries(
  api: AnalyticsApi,
  siteId: string,
  range: TimeRange,
  granularity?: Granularity,
  options?: ReportOptions,
): ReportState<Timeseries> {
  return useReport(api.getTimeseries, {
    ...reportArgs(siteId, range, options),
    ...(granularity ? { granularity } : {}),
  });
}

/** The top `limit` keys of a dimension, by visitors. */
export function useBreakdown(
  api: AnalyticsApi,
  siteId: string,
  range: TimeRange,
  dimension: Dimension,
  limit = 10,
  options?: ReportOptions,
): ReportState<Breakdown> {
  return useReport(api.getBreakdown, { ...reportArgs(siteId, range, options), dimension, limit });
}

/** Every goal over the range (and the compared period); skipped when the host has no `getGoals`. */
export function useGoals(
  api: AnalyticsApi,
  siteId: string,
  range: TimeRange,
  compare?: Compare,
): ReportState<GoalsReport> {
  return useReport(api.getGoals, reportArgs(siteId, range, { compare }));
}

/** A filtered report's progress, as its result carries it. */
export type FilterProgress = {
  complete?: boolean;
  scannedEvents?: number;
  stale?: boolean;
  error?: string | null;
};

/**
 * Starts the raw-event scan a filtered report needs: once when its result says
 * `complete: false`, and again each time it turns `stale` (events processed since
 * the scan began). Nothing without `api.startFilterScan` (the report then stays
 * partial) or without filters. Returns why the start failed, if it did.
 */
export function useFilterScan(
  api: AnalyticsApi,
  args: StartFilterScanArgs | undefined,
  result: FilterProgress | undefined,
): Error | undefined {
  const convex = useConvex();
  const start = api.startFilterScan;
  const key = args?.filters?.length ? JSON.stringify(args) : undefined;
  const last = useRef<{ key: string; stale: boolean } | undefined>(undefined);
  const [failed, setFailed] = useState<{ key: string; error: Error } | undefined>(undefined);
  const complete = result?.complete;
  const stale = result?.stale === true;
  useEffect(() => {
    if (!start || !key || !args || complete === undefined) return;
    const prev = last.current;
    const fire = (complete === false || stale) && (prev?.key !== key || (stale && !prev.stale));
    last.current = { key, stale };
    if (!fire) return;
    convex.mutation(start, args).catch((e: unknown) => {
      setFailed({ key, error: e instanceof Error ? e : new Error(String(e)) });
    });
    // `args` is `key`, parsed: the effect follows the key, not the object.
  }, [start, key, complete, stale, convex]);
  return failed && failed.key === key ? failed.error : undefined;
}

/**
 * Realtime: current visitors (the last 5 minutes) and the last 30 minutes. `now` is the end of the current minute (rounded up, so
 * the minute in progress counts and a new event shows at once), advanced every
 * minute by a timer.
 */
export function useRealtime(api: AnalyticsApi, siteId: string): ReportState<Realtime> {
  const now = useNow(MINUTE) + MINUTE;
  return useReport(api.getRealtime, { siteId, now });
}

/** The site (name, timezone) when the host exports `getSite`; skipped otherwise. */
export function useSite(api: AnalyticsApi, siteId: string, skip = false): ReportState<Site | null> {
  return useReport(api.getSite, skip ? "skip" : { siteId });
}
