// A filter scan's fold (filterMath.ts has the definitions): each visitor's
// records, in the order the worker processed them, are sessionized again with
// the worker's rule (sessions.ts), then every counted event and session adds to
// the report's sums. Partitions hold disjoint visitors, so per-partition
// visitor counts add up exactly. The answer so far is JSON: sums by group key
// ("" for an overview, a bucket start for a timeseries, a row key for a breakdown).
import { OTHER_KEY, type Breakdown, type Overview, type Timeseries } from "../shared.js";
import { breakdownRow, compareRows, ratio } from "./rows.js";
import { bucketStart, nextBucket } from "./time.js";
import {
  fieldIndex,
  fieldOf,
  keyMatches,
  selectsSessions,
  type FilterRecord,
  type FilterSpec,
} from "./filterMath.js";

/** [events, pageviews, visitors, entries, bounces, durationMs] */
type Sums = [number, number, number, number, number, number];
/** Sums by group key (a Map: keys are whatever pages and props are called, "__proto__" too). */
export type FilterResult = Map<string, Sums>;
/** The answer's JSON in the scan row: [key, sums] pairs. */
export const encodeFilterResult = (result: FilterResult) => JSON.stringify([...result]);
export const decodeFilterResult = (json: string): FilterResult =>
  new Map(JSON.parse(json) as [string, Sums][]);

/** Distinct breakdown keys a scan keeps; later keys are counted under "(other)", as rollups cap theirs. */
export const MAX_SCAN_BREAKDOWN_KEYS = 2_000;
/**
 * Characters of keys a scan keeps: at most 3 bytes each (6 escaped), so the answer stays far
 * below the scan row's 1 MiB whatever the keys are made of.
 */
export const MAX_SCAN_BREAKDOWN_KEY_CHARS = 100_000;

type Session = {
  index: number;
  startedAt: number;
  lastSeenAt: number;
  events: number;
  pageviews: number;
  entry: FilterRecord;
  exitPath: string | null;
  exitAt: number;
  records: FilterRecord[];
};

/** One visitor's sessions from its records in processing order: oracle.testlib.ts buildModel's rule, sessions.ts's. */
export function sessionsOf(records: readonly FilterRecord[], spec: FilterSpec): Session[] {
  const sessions: Session[] = [];
  const path = spec.fields.includes("path") ? fieldIndex(spec, "path") : -1;
  let latest: Session | null = null;
  const timeout = spec.sessionTimeoutMs;
  for (const record of records) {
    const [t, pageview] = record;
    let session: Session;
    if (latest !== null && t <= latest.lastSeenAt + timeout && t >= latest.startedAt - timeout) {
      session = latest;
      session.lastSeenAt = Math.max(session.lastSeenAt, t);
      session.events += 1;
      session.records.push(record);
    } else {
      session = {
        index: sessions.length,
        startedAt: t,
        lastSeenAt: t,
        events: 1,
        pageviews: 0,
        entry: record,
        exitPath: path < 0 ? null : (record[path] as string),
        exitAt: t,
        records: [record],
      };
      sessions.push(session);
    }
    // The first pageview is the exit whatever its time; later ones when not earlier (sessions.ts extendSession).
    if (pageview === 1) {
      if (session.pageviews === 0 || t >= session.exitAt) {
        session.exitAt = t;
        if (path >= 0) session.exitPath = record[path] as string;
      }
      session.pageviews += 1;
    }
    // The visitor's latest session: the one seen last, the later one on a tie.
    if (
      latest === null ||
      session.lastSeenAt > latest.lastSeenAt ||
      (session.lastSeenAt === latest.lastSeenAt && session.index >= latest.index)
    )
      latest = session;
  }
  return sessions;
}

/** A session dimension's key for a session: fixed at its start, the exit page where it ended. */
function sessionValue(spec: FilterSpec, s: Session, d: Filter["dimension"]): string {
  if (d === "exitPage") return s.exitPath!;
  return s.entry[fieldIndex(spec, fieldOf(d)!)] as string;
}
type Filter = FilterSpec["filters"][number];

/** A goal filter on a record: `is` when the event converts for the goal, `isNot` when not (no `contains`). */
function goalPasses(spec: FilterSpec, f: Filter, r: FilterRecord): boolean {
  const converts = (r[fieldIndex(spec, "goals")] as string[]).includes(f.value);
  return f.op === "is" ? converts : !converts;
}

/** An event filter on an event (a page filter matches pageviews only). */
function eventPasses(spec: FilterSpec, f: Filter, r: FilterRecord): boolean {
  if (f.dimension === "goal") return goalPasses(spec, f, r);
  if (f.dimension === "page" && r[1] !== 1) return false;
  return keyMatches(f, r[fieldIndex(spec, fieldOf(f.dimension)!)] as string);
}

/**
 * An event filter on a session's entry: its entry page and hostname, and for a goal
 * whether its entry event converts; no event filter matches an entry.
 */
function entryPasses(spec: FilterSpec, f: Filter, s: Session): boolean {
  if (f.dimension === "goal") return goalPasses(spec, f, s.entry);
  if (f.dimension === "event") return false;
  return keyMatches(f, s.entry[fieldIndex(spec, fieldOf(f.dimension)!)] as string);
}

/** The keys of the breakdown dimension a counted event counts under (oracle.testlib.ts eventKeys). */
function eventKeys(spec: FilterSpec, s: Session, r: FilterRecord): string[] {
  const d = spec.dimension;
  if (spec.report === "overview") return [""];
  if (spec.report === "timeseries")
    return [String(bucketStart(spec.granularity!, r[0], spec.timeZone))];
  if (d === "page") return r[1] === 1 ? [r[fieldIndex(spec, "path")] as string] : [];
  if (d === "exitPage") return [];
  if (d === "entryPage") return [s.entry[fieldIndex(spec, "path")] as string];
  if (d === "prop") return r[fieldIndex(spec, "props")] as string[];
  const field = fieldOf(d!)!;
  // Session dimensions are the session's; hostname and event are the event's own.
  return [
    (selectsSessions(d as Filter["dimension"]) ? s.entry : r)[fieldIndex(spec, field)] as string,
  ];
}

/** The key a counted session's entry counts under, and whether its bounce counts there (oracle sessionKey). */
function sessionKey(spec: FilterSpec, s: Session): { key: string; bounces: boolean } | null {
  const d = spec.dimension;
  if (spec.report === "overview") return { key: "", bounces: true };
  if (spec.report === "timeseries")
    return {
      key: String(bucketStart(spec.granularity!, s.startedAt, spec.timeZone)),
      bounces: true,
    };
  if (d === "exitPage") return { key: s.exitPath!, bounces: false };
  if (d === "event" || d === "prop") return null;
  if (d === "page") return { key: s.entry[fieldIndex(spec, "path")] as string, bounces: true };
  return { key: sessionValue(spec, s, d as Filter["dimension"]), bounces: true };
}

/** The answer so far (`result`, added to in place) with one more partition's visitors in it. */
export function addFilterVisitors(
  spec: FilterSpec,
  range: { from: number; to: number },
  result: FilterResult,
  byVisitor: Iterable<FilterRecord[]>,
): FilterResult {
  const out = result; // decoded afresh for each step, so added to in place
  let keyChars = 0;
  for (const key of out.keys()) keyChars += key.length;
  const sessionFilters = spec.filters.filter((f) => selectsSessions(f.dimension));
  const eventFilters = spec.filters.filter((f) => !selectsSessions(f.dimension));
  const inRange = (t: number) => t >= range.from && t < range.to;
  const sums = (key: string): Sums => {
    const kept =
      out.has(key) ||
      spec.report !== "breakdown" ||
      (out.size < MAX_SCAN_BREAKDOWN_KEYS && keyChars + key.length <= MAX_SCAN_BREAKDOWN_KEY_CHARS);
    const k = kept ? key : OTHER_KEY;
    let row = out.get(k);
    if (!row) {
      out.set(k, (row = [0, 0, 0, 0, 0, 0]));
      keyChars += k.length;
    }
    return row;
  };
  for (const records of byVisitor) {
    const seen = new Set<string>();
    for (const s of sessionsOf(records, spec)) {
      if (!sessionFilters.every((f) => keyMatches(f, sessionValue(spec, s, f.dimension)))) continue;
      for (const r of s.records) {
        if (!inRange(r[0]) || !eventFilters.every((f) => eventPasses(spec, f, r))) continue;
        for (const key of eventKeys(spec, s, r)) {
          const row = sums(key);
          row[0] += 1;
          row[1] += r[1];
          if (!seen.has(key)) {
            seen.add(key);
            row[2] += 1;
          }
        }
      }
      if (!inRange(s.startedAt) || !eventFilters.every((f) => entryPasses(spec, f, s))) continue;
      const k = sessionKey(spec, s);
      if (k === null) continue;
      const row = sums(k.key);
      row[3] += 1;
      if (k.bounces && s.events === 1) row[4] += 1;
      if (spec.report !== "breakdown") row[5] += s.lastSeenAt - s.startedAt;
    }
  }
  return out;
}

const ZERO: Sums = [0, 0, 0, 0, 0, 0];

export function filteredOverview(result: FilterResult): Omit<Overview, "comparison"> {
  const [events, pageviews, visitors, entries, bounces, durationMs] = result.get("") ?? ZERO;
  return {
    visitors,
    pageviews,
    sessions: entries,
    bounceRate: ratio(bounces, entries),
    avgSessionDurationMs: ratio(durationMs, entries),
    viewsPerSession: ratio(pageviews, entries),
    events,
  };
}

/** The points of [from, to) at the spec's granularity, zero-filled. */
export function filteredPoints(
  spec: FilterSpec,
  range: { from: number; to: number },
  result: FilterResult,
): Timeseries["points"] {
  const points: Timeseries["points"] = [];
  const g = spec.granularity!;
  for (
    let b = bucketStart(g, range.from, spec.timeZone);
    b < range.to;
    b = nextBucket(g, b, spec.timeZone)
  ) {
    const [events, pageviews, visitors, entries, bounces, durationMs] =
      result.get(String(b)) ?? ZERO;
    points.push({
      bucketStart: b,
      visitors,
      pageviews,
      sessions: entries,
      events,
      bounceRate: ratio(bounces, entries),
      avgSessionDurationMs: ratio(durationMs, entries),
    });
  }
  return points;
}

/** `keys`' rows, in their order (zeros for a key not seen): a compared breakdown's. */
export function filteredRowsForKeys(result: FilterResult, keys: string[]): Breakdown["rows"] {
  const all = new Map(filteredRows(result, Infinity).map((r) => [r.key, r]));
  return keys.map(
    (key) =>
      all.get(key) ?? { key, visitors: 0, pageviews: 0, events: 0, entries: 0, bounceRate: null },
  );
}

/** The top `limit` rows, ranked as every breakdown is (rows.ts compareRows). */
export function filteredRows(result: FilterResult, limit: number): Breakdown["rows"] {
  return [...result]
    .filter(([, s]) => s[0] > 0 || s[3] > 0)
    .map(([key, [events, pageviews, visitorCount, entries, bounces]]) => ({
      key,
      events,
      pageviews,
      visitorCount,
      entries,
      bounces,
      durationMs: 0,
    }))
    .sort(compareRows)
    .slice(0, limit)
    .map(breakdownRow);
}
