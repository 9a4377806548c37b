// A brute-force model of what the reports must answer, for the property tests in
// oracle.test.ts (invariants I1 and I6). It keeps every counted event and every
// session in memory and answers each report by scanning them: no rollups, no
// deltas, no sketches. It shares only the pure key functions (pagePath,
// hostnameOf, attributionOf) and the bucket calendar (bucketStart, nextBucket)
// with the product; counting is its own.
import type {
  AnalyticsEvent,
  Breakdown,
  Dimension,
  Granularity,
  Overview,
  Realtime,
  SessionDimension,
  Timeseries,
} from "../shared.js";
import { SESSION_DIMENSIONS, propKey } from "../shared.js";
import { attributionOf, hostnameOf, pagePath } from "./events.js";
import { bucketStart, nextBucket } from "./time.js";

export const ORACLE_SESSION_TIMEOUT_MS = 30 * 60_000;

export type OracleSession = {
  visitorId: string;
  /** The event that started it (a goal filter tests whether it converts). */
  entry: AnalyticsEvent;
  startedAt: number;
  lastSeenAt: number;
  events: number;
  pageviews: number;
  entryPage: string;
  hostname: string;
  /** The latest pageview so far (a later-processed one with an equal time wins), or null. */
  lastPageview: { at: number; page: string } | null;
  attribution: Record<SessionDimension, string>;
};

/** One counted event and the session it was sessionized into. */
export type OracleEvent = { event: AnalyticsEvent; session: OracleSession };

export type OracleModel = { events: OracleEvent[]; sessions: OracleSession[] };

const isSessionDimension = (d: Dimension): d is SessionDimension =>
  (SESSION_DIMENSIONS as readonly string[]).includes(d);

export const exitPageOf = (s: OracleSession): string => s.lastPageview?.page ?? s.entryPage;

/**
 * Replays events in the order they were processed. For each visitor, an event
 * continues the visitor's latest session (the one seen last) iff it falls within
 * the timeout after its last event and not more than the timeout before its start.
 */
export function buildModel(
  processed: readonly AnalyticsEvent[],
  timeoutMs = ORACLE_SESSION_TIMEOUT_MS,
): OracleModel {
  const events: OracleEvent[] = [];
  const sessions: OracleSession[] = [];
  const byVisitor = new Map<string, OracleSession[]>();
  for (const event of processed) {
    if (event.type === "identify") continue;
    const own = byVisitor.get(event.visitorId) ?? [];
    byVisitor.set(event.visitorId, own);
    let latest: OracleSession | null = null;
    for (const s of own) if (latest === null || s.lastSeenAt >= latest.lastSeenAt) latest = s;
    const t = event.occurredAt;
    const isPageview = event.type === "pageview";
    let session: OracleSession;
    if (
      latest !== null &&
      t <= latest.lastSeenAt + timeoutMs &&
      t >= latest.startedAt - timeoutMs
    ) {
      session = latest;
      session.lastSeenAt = Math.max(session.lastSeenAt, t);
      session.events += 1;
      if (isPageview) session.pageviews += 1;
    } else {
      session = {
        visitorId: event.visitorId,
        entry: event,
        startedAt: t,
        lastSeenAt: t,
        events: 1,
        pageviews: isPageview ? 1 : 0,
        entryPage: pagePath(event.url),
        hostname: hostnameOf(event.url),
        lastPageview: null,
        attribution: attributionOf(event),
      };
      own.push(session);
      sessions.push(session);
    }
    if (isPageview && (session.lastPageview === null || t >= session.lastPageview.at)) {
      session.lastPageview = { at: t, page: pagePath(event.url) };
    }
    events.push({ event, session });
  }
  return { events, sessions };
}

type Sums = {
  events: number;
  pageviews: number;
  visitors: Set<string>;
  entries: number;
  bounces: number;
  durationMs: number;
};
const emptySums = (): Sums => ({
  events: 0,
  pageviews: 0,
  visitors: new Set(),
  entries: 0,
  bounces: 0,
  durationMs: 0,
});
const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
const inRange = (t: number, from: number, to: number) => t >= from && t < to;

function totals(model: OracleModel, from: number, to: number): Sums {
  const sums = emptySums();
  for (const { event } of model.events) {
    if (!inRange(event.occurredAt, from, to)) continue;
    sums.events += 1;
    if (event.type === "pageview") sums.pageviews += 1;
    sums.visitors.add(event.visitorId);
  }
  for (const s of model.sessions) {
    if (!inRange(s.startedAt, from, to)) continue;
    sums.entries += 1;
    if (s.events === 1) sums.bounces += 1;
    sums.durationMs += s.lastSeenAt - s.startedAt;
  }
  return sums;
}

export function oracleOverview(model: OracleModel, from: number, to: number): Overview {
  const s = totals(model, from, to);
  return {
    visitors: s.visitors.size,
    pageviews: s.pageviews,
    sessions: s.entries,
    bounceRate: ratio(s.bounces, s.entries),
    avgSessionDurationMs: ratio(s.durationMs, s.entries),
    viewsPerSession: ratio(s.pageviews, s.entries),
    events: s.events,
  };
}

export function oracleTimeseries(
  model: OracleModel,
  from: number,
  to: number,
  granularity: Granularity,
  timeZone: string,
): Timeseries {
  const points: Timeseries["points"] = [];
  for (
    let b = bucketStart(granularity, from, timeZone);
    b < to;
    b = nextBucket(granularity, b, timeZone)
  ) {
    const s = totals(model, Math.max(b, from), Math.min(nextBucket(granularity, b, timeZone), to));
    points.push({
      bucketStart: b,
      visitors: s.visitors.size,
      pageviews: s.pageviews,
      sessions: s.entries,
      events: s.events,
      bounceRate: ratio(s.bounces, s.entries),
      avgSessionDurationMs: ratio(s.durationMs, s.entries),
    });
  }
  return { granularity, points };
}

/** The keys one event counts under in a breakdown by `dimension`. */
function eventKeys({ event, session }: OracleEvent, dimension: Dimension): string[] {
  const name = event.type === "pageview" ? "pageview" : event.name!;
  // A page's visitors are those who viewed it (Plausible): custom events sent from a page don't count there.
  if (dimension === "page") return event.type === "pageview" ? [pagePath(event.url)] : [];
  if (dimension === "hostname") return [hostnameOf(event.url)];
  if (dimension === "entryPage") return [session.entryPage];
  if (dimension === "event") return [name];
  if (dimension === "prop")
    return Object.entries(event.props ?? {}).map(([k, v]) => propKey(name, k, String(v)));
  if (isSessionDimension(dimension)) return [session.attribution[dimension]];
  return []; // exitPage: sessions only; total: not a breakdown
}

/** The key one session's entry (and bounce) counts under, or null. */
function sessionKey(
  s: OracleSession,
  dimension: Dimension,
): { key: string; bounces: boolean } | null {
  if (dimension === "page" || dimension === "entryPage") return { key: s.entryPage, bounces: true };
  if (dimension === "hostname") return { key: s.hostname, bounces: true };
  if (dimension === "exitPage") return { key: exitPageOf(s), bounces: false };
  if (isSessionDimension(dimension)) return { key: s.attribution[dimension], bounces: true };
  return null;
}

export function oracleBreakdown(
  model: OracleModel,
  from: number,
  to: number,
  dimension: Dimension,
  limit: number,
): Breakdown {
  const rows = new Map<string, Sums>();
  const row = (key: string) => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = emptySums()));
    return r;
  };
  for (const e of model.events) {
    if (!inRange(e.event.occurredAt, from, to)) continue;
    for (const key of eventKeys(e, dimension)) {
      const r = row(key);
      r.events += 1;
      if (e.event.type === "pageview") r.pageviews += 1;
      r.visitors.add(e.event.visitorId);
    }
  }
  for (const s of model.sessions) {
    if (!inRange(s.startedAt, from, to)) continue;
    const k = sessionKey(s, dimension);
    if (!k) continue;
    const r = row(k.key);
    r.entries += 1;
    if (k.bounces && s.events === 1) r.bounces += 1;
  }
  const out = [...rows.entries()]
    .filter(([, r]) => r.events > 0 || r.entries > 0)
    .map(([key, r]) => ({
      key,
      visitors: r.visitors.size,
      pageviews: r.pageviews,
      events: r.events,
      entries: r.entries,
      bounceRate: ratio(r.bounces, r.entries),
    }));
  out.sort(
    (a, b) =>
      b.visitors - a.visitors ||
      b.pageviews - a.pageviews ||
      b.events - a.events ||
      b.entries - a.entries ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return { rows: out.slice(0, limit) };
}

/** What a breakdown row is for a key the period never saw. */
export const zeroBreakdownRow = (key: string): Breakdown["rows"][number] => ({
  key,
  visitors: 0,
  pageviews: 0,
  events: 0,
  entries: 0,
  bounceRate: null,
});

/** `keys`' rows over [from, to), in their order: what a compared breakdown lists. */
export function oracleRowsForKeys(
  model: OracleModel,
  from: number,
  to: number,
  dimension: Dimension,
  keys: string[],
): Breakdown["rows"] {
  const all = new Map(
    oracleBreakdown(model, from, to, dimension, Infinity).rows.map((r) => [r.key, r]),
  );
  return keys.map((k) => all.get(k) ?? zeroBreakdownRow(k));
}

/** One event's values of one property: the events named `event` (pageviews: "pageview") carrying `property`. */
export function oraclePropertyBreakdown(
  model: OracleModel,
  from: number,
  to: number,
  event: string,
  property: string,
  limit: number,
): Breakdown {
  const rows = new Map<string, Sums>();
  for (const { event: e } of model.events) {
    if (!inRange(e.occurredAt, from, to)) continue;
    const name = e.type === "pageview" ? "pageview" : e.name!;
    const value = e.props?.[property];
    if (name !== event || value === undefined) continue;
    const key = String(value);
    let r = rows.get(key);
    if (!r) rows.set(key, (r = emptySums()));
    r.events += 1;
    if (e.type === "pageview") r.pageviews += 1;
    r.visitors.add(e.visitorId);
  }
  const out = [...rows.entries()].map(([key, r]) => ({
    key,
    visitors: r.visitors.size,
    pageviews: r.pageviews,
    events: r.events,
    entries: 0,
    bounceRate: null,
  }));
  out.sort(
    (a, b) =>
      b.visitors - a.visitors ||
      b.pageviews - a.pageviews ||
      b.events - a.events ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return { rows: out.slice(0, limit) };
}

/**
 * The live view at `now`: the minutes before it (rounded up to the minute) by
 * the events' own times; current visitors are the last 5 minutes', top pages
 * (pageviews) and sources (the session's referrer, every event) the last 30's.
 */
export function oracleRealtime(model: OracleModel, now: number): Realtime {
  const to = Math.ceil(now / 60_000) * 60_000;
  const from = to - 30 * 60_000;
  const current = new Set<string>();
  const minutes = Array.from({ length: 30 }, (_, i) => ({
    minuteStart: from + i * 60_000,
    pageviews: 0,
    visitors: new Set<string>(),
  }));
  const pages = new Map<string, Sums>();
  const sources = new Map<string, Sums>();
  const count = (map: Map<string, Sums>, key: string, e: AnalyticsEvent) => {
    let r = map.get(key);
    if (!r) map.set(key, (r = emptySums()));
    r.events += 1;
    if (e.type === "pageview") r.pageviews += 1;
    r.visitors.add(e.visitorId);
  };
  let pageviews = 0;
  let events = 0;
  for (const { event, session } of model.events) {
    const t = event.occurredAt;
    if (!inRange(t, from, to)) continue;
    events += 1;
    const minute = minutes[Math.floor((t - from) / 60_000)]!;
    minute.visitors.add(event.visitorId);
    if (t >= to - 5 * 60_000) current.add(event.visitorId);
    if (event.type === "pageview") {
      pageviews += 1;
      minute.pageviews += 1;
      count(pages, pagePath(event.url), event);
    }
    count(sources, session.attribution.referrer, event);
  }
  const top = (map: Map<string, Sums>) =>
    [...map.entries()]
      .sort(
        ([ka, a], [kb, b]) =>
          b.visitors.size - a.visitors.size ||
          b.pageviews - a.pageviews ||
          b.events - a.events ||
          (ka < kb ? -1 : ka > kb ? 1 : 0),
      )
      .slice(0, 10)
      .map(([key, r]) => ({ key, visitors: r.visitors.size, pageviews: r.pageviews }));
  return {
    visitors: current.size,
    pageviews,
    events,
    minutes: minutes.map((m) => ({ ...m, visitors: m.visitors.size })),
    topPages: top(pages),
    topSources: top(sources),
  };
}
