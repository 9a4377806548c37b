// Report filters as pure functions: validation into a canonical spec, routing
// (rollup row or raw-event scan), and the compact record a filter scan keeps per
// event. filterReduce.ts folds the records; filters.ts runs the scans.
//
// What a filter means (README "Filters"), the same on both routes:
// - Session dimensions (referrer, channel, UTM, country, device, browser, OS,
//   screen), entryPage and exitPage select sessions: every event of a matching
//   session counts, judged on the values fixed when the session started (its exit
//   page: where it ended).
// - page, hostname, event and goal select events: a page filter matches pageviews
//   of that path only (a custom event is on no page), hostname the event's own host,
//   event the event's name ("pageview" for pageviews), goal (`is` a goal id) the
//   events that convert for that goal, as the worker counts them (goalMath.ts
//   conversionsOf: the scan record keeps which of the filters' goals it converts).
// - Visitors: those with a counted event. Sessions (and their bounce rate and
//   duration): the sessions started in the range that match every session filter
//   and whose entry matches every event filter (its entry page and hostname, and
//   whether its entry event converts for a goal; an event filter matches no
//   entry, so under one, sessions are 0). This is what a rollup row counts;
//   Plausible instead counts the sessions containing a matching page or event
//   (README).
import {
  FILTER_DIMENSIONS,
  MAX_FILTERS,
  MAX_FILTER_VALUE_LENGTH,
  SESSION_DIMENSIONS,
  propKey,
  type AnalyticsEvent,
  type Dimension,
  type Filter,
  type FilterDimension,
  type Granularity,
  type SessionDimension,
} from "../shared.js";
import { attributionOf, hostnameOf, pagePath, propertyName } from "./events.js";
import { conversionsOf, type CountedGoal } from "./goalMath.js";
import { isCounted } from "./sessions.js";
import { rollupKey } from "./rows.js";
import { DAY } from "./time.js";

export type FilterReport = "overview" | "timeseries" | "breakdown";

const isSessionDimension = (d: string): d is SessionDimension =>
  (SESSION_DIMENSIONS as readonly string[]).includes(d);

/** Dimensions whose filter selects sessions (the rest select events). */
export const selectsSessions = (d: FilterDimension) =>
  isSessionDimension(d) || d === "entryPage" || d === "exitPage";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Validates filters into their canonical list (duplicates dropped, sorted), so equal filters share a cache. */
export function canonicalFilters(filters: readonly Filter[] | undefined): Filter[] {
  const list = filters ?? [];
  if (list.length > MAX_FILTERS) throw new Error(`At most ${MAX_FILTERS} filters`);
  const seen = new Map<string, Filter>();
  for (const { dimension, op, value } of list) {
    if (!(FILTER_DIMENSIONS as readonly string[]).includes(dimension))
      throw new Error(`A filter's dimension is one of ${FILTER_DIMENSIONS.join(", ")}`);
    if (value.length === 0 || value.length > MAX_FILTER_VALUE_LENGTH)
      throw new Error(`A filter's value has 1 to ${MAX_FILTER_VALUE_LENGTH} characters`);
    if (dimension === "goal" && op === "contains")
      throw new Error("A goal filter has no `contains`: use `is` or `isNot` with a goal id");
    seen.set(JSON.stringify([dimension, op, value]), { dimension, op, value });
  }
  return [...seen.entries()].sort(([a], [b]) => compare(a, b)).map(([, f]) => f);
}

/**
 * Dimensions whose rollup rows answer one `is` filter exactly (each row's counters
 * mean what the filter does). Not `goal`: a goal row carries no session metrics (its
 * durationMs holds revenue, goalMath.ts REVENUE_COUNTER; no entries or bounces), so
 * it cannot answer an overview exactly, and a goal filter is always scanned.
 */
export const ROLLUP_FILTER_DIMENSIONS: readonly FilterDimension[] = [
  ...SESSION_DIMENSIONS,
  "entryPage",
  "page",
  "hostname",
  "event",
];

export type FilterRoute =
  { via: "none" } | { via: "rollup"; dimension: Dimension; key: string } | { via: "scan" };

/**
 * How a report with these (canonical) filters is answered: unfiltered; from the
 * rollup row of the one filter's (dimension, value) for an overview or
 * timeseries with one `is` filter on a ROLLUP_FILTER_DIMENSIONS dimension; else
 * by a scan of the raw events (a breakdown has no cross rollups).
 */
export function routeFilters(report: FilterReport, filters: readonly Filter[]): FilterRoute {
  if (filters.length === 0) return { via: "none" };
  const [only] = filters;
  if (
    filters.length === 1 &&
    report !== "breakdown" &&
    only!.op === "is" &&
    ROLLUP_FILTER_DIMENSIONS.includes(only!.dimension)
  )
    return { via: "rollup", dimension: only!.dimension, key: only!.value };
  return { via: "scan" };
}

/** A value a filter is tested on, in the record: the event's own, or its session's if it starts one. */
type Field = "path" | "host" | "name" | "props" | "goals" | SessionDimension;

/** A goal a filter names, as the scan matches it: its id and definition (not its revenue, which selects nothing). */
export type FilterGoal = Pick<CountedGoal, "id" | "match">;

/**
 * What a filter scan computes, canonical (it is the scan's cache key with the range):
 * the report, its filters, the breakdown dimension or timeseries granularity, the
 * fields each record keeps, how sessions are rebuilt, and the definitions of the
 * goals its filters name (so a goal edited, or deleted and created again, is a new
 * scan, never a cached answer to the old definition).
 */
export type FilterSpec = {
  report: FilterReport;
  filters: Filter[];
  dimension: Dimension | null;
  granularity: Granularity | null;
  timeZone: string;
  fields: Field[];
  sessionTimeoutMs: number;
  /** Events this long before and after the range are read too, to rebuild the range's sessions. */
  contextMs: number;
  /** The goals the filters name, by id; absent without goal filters (so other specs keep their keys). */
  goals?: FilterGoal[];
};

/**
 * Sessions are rebuilt from the raw events around the range: a day each side (or
 * two session timeouts, if longer). A session with no timeout-long gap across
 * that edge is the only one rebuilt differently from the worker's (README).
 */
export const contextMsOf = (sessionTimeoutMs: number) => Math.max(DAY, 2 * sessionTimeoutMs);

function fieldsOf(dims: readonly Dimension[]): Field[] {
  const fields = new Set<Field>();
  for (const d of dims) {
    if (d === "page" || d === "entryPage" || d === "exitPage") fields.add("path");
    else if (d === "hostname") fields.add("host");
    else if (d === "event") fields.add("name");
    else if (d === "prop") fields.add("props");
    else if (d === "goal") fields.add("goals");
    else if (isSessionDimension(d)) fields.add(d);
  }
  return [...fields].sort(compare);
}

export function filterSpec(args: {
  report: FilterReport;
  filters: Filter[];
  dimension?: Dimension;
  granularity?: Granularity;
  timeZone: string;
  sessionTimeoutMs: number;
  /** The goals the goal filters name (filters.ts loads them from the site's). */
  goals?: readonly FilterGoal[];
}): FilterSpec {
  const { report, filters, timeZone, sessionTimeoutMs } = args;
  const dimension = report === "breakdown" ? args.dimension! : null;
  if (dimension === "total")
    throw new Error("A filtered breakdown by total is the filtered overview: use getOverview");
  if (dimension === "goal")
    throw new Error("Goals cannot be broken down under filters yet: use getGoals unfiltered");
  const granularity = report === "timeseries" ? args.granularity! : null;
  const named = new Set(filters.filter((f) => f.dimension === "goal").map((f) => f.value));
  const goals = (args.goals ?? [])
    .filter((g) => named.delete(g.id))
    .map((g) => ({ id: g.id, match: g.match }))
    .sort((a, b) => compare(a.id, b.id));
  if (named.size > 0) throw new Error(`A goal filter's goal was not loaded: ${[...named][0]}`);
  return {
    report,
    filters,
    dimension,
    granularity,
    timeZone,
    fields: fieldsOf([...filters.map((f) => f.dimension), ...(dimension ? [dimension] : [])]),
    sessionTimeoutMs,
    contextMs: contextMsOf(sessionTimeoutMs),
    ...(goals.length > 0 ? { goals } : {}),
  };
}

/**
 * One counted event in a scan: [occurredAt, 1 for a pageview else 0, ...the
 * spec's fields]. Every value is the key reports show (cut like a rollup key);
 * `goals` is the ids of the spec's goals the event converts, matched here on the
 * whole event by the worker's own function (goalMath.ts conversionsOf), since a
 * goal may need its path, name and props uncut.
 */
export type FilterRecord = [number, 0 | 1, ...(string | string[])[]];

/** The event's record, or null for an identify event (neither counted nor sessionized). */
export function filterRecord(spec: FilterSpec, event: AnalyticsEvent): FilterRecord | null {
  if (!isCounted(event)) return null;
  const isPageview = event.type === "pageview";
  const name = isPageview ? "pageview" : event.name!;
  const attribution = spec.fields.some(isSessionDimension) ? attributionOf(event) : null;
  const values = spec.fields.map((field): string | string[] => {
    if (field === "path") return rollupKey(pagePath(event.url));
    if (field === "host") return rollupKey(hostnameOf(event.url));
    if (field === "name") return rollupKey(name);
    if (field === "props")
      return Object.entries(event.props ?? {}).map(([k, v]) =>
        rollupKey(propKey(name, propertyName(k), String(v))),
      );
    if (field === "goals")
      return conversionsOf(spec.goals ?? [], event, pagePath(event.url)).map((c) => c.goalId);
    return rollupKey(attribution![field]);
  });
  return [event.occurredAt, isPageview ? 1 : 0, ...values];
}

/** Whether a key passes one filter. */
export function keyMatches(filter: Filter, key: string): boolean {
  if (filter.op === "is") return key === filter.value;
  if (filter.op === "isNot") return key !== filter.value;
  return key.includes(filter.value);
}

/** Where the spec's field is in a record (the fields follow occurredAt and the pageview flag). */
export const fieldIndex = (spec: FilterSpec, field: Field) => 2 + spec.fields.indexOf(field);

export const fieldOf = (d: Dimension): Field | null =>
  d === "page" || d === "entryPage" || d === "exitPage"
    ? "path"
    : d === "hostname"
      ? "host"
      : d === "event"
        ? "name"
        : d === "prop"
          ? "props"
          : d === "goal"
            ? "goals"
            : isSessionDimension(d)
              ? d
              : null;
