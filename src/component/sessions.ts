// Server-side sessionization and the rollup deltas it produces. Pure: the worker
// feeds it events in arrival order and writes what it returns.
//
// Session metrics go to the buckets where the session started, as deltas: a
// session's contribution is a function of its state, and every update emits
// contribution(new) - contribution(old). So +1 entry and +1 bounce at the start,
// -1 bounce at the second event, +duration as lastSeen advances, and the exit
// page moving by -1 old, +1 new all fall out of one rule, and shards and
// compaction never need to know session logic.
import { SESSION_DIMENSIONS, type AnalyticsEvent, type Dimension, type Interval } from "../shared.js";
import { attributionOf, hostnameOf, pagePath, type Attribution } from "./events.js";
import { emptyRow, DimensionRows, type Row } from "./rows.js";
import { sketchOf, hashVisitor } from "./sketch.js";
import { dayStart, hourStart, minuteStart } from "./time.js";

export const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60_000;
export const TOTAL_KEY = "total";

export type SessionState = {
  visitorId: string;
  startedAt: number;
  lastSeenAt: number;
  /** Pageviews and track events; a session of exactly one is a bounce. */
  events: number;
  pageviews: number;
  entryPage: string;
  hostname: string;
  exitPage: string;
  exitAt: number;
  attribution: Attribution;
};

/** Identify events only link a user id; they are stored raw but neither counted nor sessionized. */
export function isCounted(event: AnalyticsEvent): boolean {
  return event.type !== "identify";
}

/** Does `event` continue `session`, or start a new one? */
export function continues(session: SessionState | null, event: AnalyticsEvent, timeoutMs: number): boolean {
  return (
    session !== null &&
    event.occurredAt <= session.lastSeenAt + timeoutMs &&
    event.occurredAt >= session.startedAt - timeoutMs
  );
}

export function startSession(event: AnalyticsEvent): SessionState {
  const page = pagePath(event.url);
  return {
    visitorId: event.visitorId,
    startedAt: event.occurredAt,
    lastSeenAt: event.occurredAt,
    events: 1,
    pageviews: event.type === "pageview" ? 1 : 0,
    entryPage: page,
    hostname: hostnameOf(event.url),
    exitPage: page,
    exitAt: event.occurredAt,
    attribution: attributionOf(event),
  };
}

/** The session after `event`, which `continues` it. An earlier event joins without moving the start. */
export function extendSession(session: SessionState, event: AnalyticsEvent): SessionState {
  const isPageview = event.type === "pageview";
  // The first pageview is the exit whatever its time: exitAt is only the start time while the session has none.
  const laterExit = isPageview && (session.pageviews === 0 || event.occurredAt >= session.exitAt);
  return {
    ...session,
    lastSeenAt: Math.max(session.lastSeenAt, event.occurredAt),
    events: session.events + 1,
    pageviews: session.pageviews + (isPageview ? 1 : 0),
    exitPage: laterExit ? pagePath(event.url) : session.exitPage,
    exitAt: laterExit ? event.occurredAt : session.exitAt,
  };
}

/** Rollup deltas keyed by (interval, bucketStart), each holding rows of every dimension. */
export class Deltas {
  /**
   * Minute rows exist for realtime only and are deleted once older than
   * MINUTE_RETENTION_MS, so events before `minuteCutoff` (a backlog, a late
   * batch) write none: no report can read them, and they would cost a write.
   */
  constructor(private readonly minuteCutoff = -Infinity) {}

  readonly buckets = new Map<string, { interval: Interval; bucketStart: number; rows: DimensionRows }>();

  add(interval: Interval, bucketStart: number, dimension: Dimension, row: Row): void {
    const id = `${interval}:${bucketStart}`;
    let bucket = this.buckets.get(id);
    if (!bucket) this.buckets.set(id, (bucket = { interval, bucketStart, rows: new DimensionRows() }));
    bucket.rows.add(dimension, row);
  }

  merge(other: Deltas): void {
    for (const { interval, bucketStart, rows } of other.buckets.values()) {
      for (const deltaRow of rows.toDeltaRows()) {
        const { dimension, ...row } = deltaRow;
        this.add(interval, bucketStart, dimension, row);
      }
    }
  }

  /** Adds `sign` times the session metrics of `session` at its start buckets. */
  addSession(session: SessionState, timeZone: string, sign: 1 | -1): void {
    const start = session.startedAt;
    const counters = (key: string): Row => ({
      ...emptyRow(key),
      entries: sign,
      bounces: session.events === 1 ? sign : 0,
      durationMs: sign * (session.lastSeenAt - session.startedAt),
    });
    if (start >= this.minuteCutoff) this.add("minute", minuteStart(start), "total", counters(TOTAL_KEY));
    for (const [interval, bucket] of [
      ["hour", hourStart(start)],
      ["day", dayStart(start, timeZone)],
    ] as const) {
      this.add(interval, bucket, "total", counters(TOTAL_KEY));
      this.add(interval, bucket, "entryPage", counters(session.entryPage));
      // Plausible's top-pages bounce rate: that of the sessions entering on the page.
      this.add(interval, bucket, "page", counters(session.entryPage));
      this.add(interval, bucket, "hostname", counters(session.hostname));
      for (const d of SESSION_DIMENSIONS) this.add(interval, bucket, d, counters(session.attribution[d]));
      this.add(interval, bucket, "exitPage", { ...emptyRow(session.exitPage), entries: sign });
    }
  }

  /** Adds one counted event of `session` at the event's own buckets. */
  addEvent(event: AnalyticsEvent, session: SessionState, timeZone: string): void {
    const visitors = sketchOf([hashVisitor(event.visitorId)]);
    const pageviews = event.type === "pageview" ? 1 : 0;
    const counters = (key: string): Row => ({ ...emptyRow(key), events: 1, pageviews, visitors });
    const t = event.occurredAt;
    if (t >= this.minuteCutoff) this.add("minute", minuteStart(t), "total", counters(TOTAL_KEY));
    for (const [interval, bucket] of [
      ["hour", hourStart(t)],
      ["day", dayStart(t, timeZone)],
    ] as const) {
      this.add(interval, bucket, "total", counters(TOTAL_KEY));
      this.add(interval, bucket, "page", counters(pagePath(event.url)));
      this.add(interval, bucket, "hostname", counters(hostnameOf(event.url)));
      this.add(interval, bucket, "entryPage", counters(session.entryPage));
      for (const d of SESSION_DIMENSIONS) this.add(interval, bucket, d, counters(session.attribution[d]));
      const name = event.type === "pageview" ? "pageview" : event.name!;
      this.add(interval, bucket, "event", counters(name));
      for (const [k, value] of Object.entries(event.props ?? {})) {
        this.add(interval, bucket, "prop", counters(`${name}|${k}|${String(value)}`));
      }
    }
  }
}
