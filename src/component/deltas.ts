// Rollup deltas: what the worker derives from sessions and events, and how it
// stores them until compaction.
//
// Session metrics go to the hour where the session started, as deltas: a
// session's contribution is a function of its state, and every update emits
// contribution(new) - contribution(old). So +1 entry and +1 bounce at the start,
// -1 bounce at the second event, +duration as lastSeen advances, and the exit
// page moving by -1 old, +1 new all fall out of one rule, and deltas and
// compaction never need to know session logic. Days and months are folded from
// hours at compaction (every local day is a whole number of site-local hours).
//
// Storage is append-only and tiered, like an LSM tree: each worker run inserts
// its own rows as new documents (it never rewrites what earlier runs wrote), and
// once FAN_IN documents of one size class pile up in a bucket they are merged
// into one of a larger class. Every byte is rewritten at most once per class, and
// a bucket holds at most FAN_IN - 1 documents per class plus full ones.
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { RollupOwner } from "./generations.js";
import { SESSION_DIMENSIONS, propKey, type AnalyticsEvent, type Dimension } from "../shared.js";
import { hostnameOf, pagePath, propertyName } from "./events.js";
import { decodeRows, encodeRows, ENCODING_HEADER_BYTES, rowByteLength } from "./rowCodec.js";
import {
  DimensionRows,
  TOTAL_KEY,
  capRows,
  emptyRow,
  rollupKey,
  type DeltaRow,
  type Row,
} from "./rows.js";
import type { SessionState } from "./sessions.js";
import { isDailyVisitorId } from "./salts.js";
import { estimate, hashVisitor, sketchOf } from "./sketch.js";
import { hourStart, minuteStart } from "./time.js";
import { REVENUE_COUNTER, conversionsOf, type CountedGoal } from "./goalMath.js";

export type DeltaInterval = Doc<"rollupDeltas">["interval"];

/** No delta document is larger than this (Convex allows 1 MiB; we keep half of it spare). */
export const MAX_DELTA_DOC_BYTES = 256 * 1024;
/** Documents of one size class merged at once. */
export const FAN_IN = 8;
/** Upper bounds of the mergeable size classes; a document at or over the last is full and never merged. */
const SIZE_CLASSES = [2 * 1024, 16 * 1024, 128 * 1024];
const FULL_CLASS = SIZE_CLASSES.length;

export function sizeClass(bytes: number): number {
  const c = SIZE_CLASSES.findIndex((limit) => bytes < limit);
  return c === -1 ? FULL_CLASS : c;
}

/** Rollup deltas keyed by (interval, bucketStart), each holding rows of every dimension. */
export class Deltas {
  /**
   * Minute rows exist for realtime only and are deleted once older than
   * MINUTE_RETENTION_MS, so events before `minuteCutoff` (a backlog, a late
   * batch) write none: no report can read them, and they would cost a write.
   */
  constructor(private readonly minuteCutoff = -Infinity) {}

  readonly buckets = new Map<
    string,
    { interval: DeltaInterval; bucketStart: number; rows: DimensionRows }
  >();

  add(interval: DeltaInterval, bucketStart: number, dimension: Dimension, row: Row): void {
    const id = `${interval}:${bucketStart}`;
    let bucket = this.buckets.get(id);
    if (!bucket)
      this.buckets.set(id, (bucket = { interval, bucketStart, rows: new DimensionRows() }));
    bucket.rows.add(dimension, { ...row, key: rollupKey(row.key) });
  }

  merge(other: Deltas): void {
    for (const { interval, bucketStart, rows } of other.buckets.values()) {
      for (const { dimension, ...row } of rows.toDeltaRows())
        this.add(interval, bucketStart, dimension, row);
    }
  }

  /** The encoded size of every bucket's rows: an upper bound on what merging these into a run adds. */
  byteLength(): number {
    let bytes = 0;
    for (const { rows } of this.buckets.values()) {
      bytes += ENCODING_HEADER_BYTES;
      for (const row of rows.toDeltaRows()) bytes += rowByteLength(row);
    }
    return bytes;
  }

  /**
   * Minute rows, in a document per hour: each keyed by its minute (minuteKey).
   * `total` rows have the session metrics too; `page` and `referrer` rows hold
   * events and visitors, for realtime's top pages and sources.
   */
  private addMinute(t: number, timeZone: string, dimension: Dimension, row: Row): void {
    if (t >= this.minuteCutoff)
      this.add("minute", hourStart(t, timeZone), dimension, {
        ...row,
        key: minuteKey(minuteStart(t), dimension === "total" ? null : row.key),
      });
  }

  /** Adds `sign` times the session metrics of `session` at its start hour. */
  addSession(session: SessionState, timeZone: string, sign: 1 | -1): void {
    const start = session.startedAt;
    const counters = (key: string): Row => ({
      ...emptyRow(key),
      entries: sign,
      bounces: session.events === 1 ? sign : 0,
      durationMs: sign * (session.lastSeenAt - session.startedAt),
    });
    this.addMinute(start, timeZone, "total", counters(TOTAL_KEY));
    const hour = hourStart(start, timeZone);
    this.add("hour", hour, "total", counters(TOTAL_KEY));
    this.add("hour", hour, "entryPage", counters(session.entryPage));
    // Plausible's top-pages bounce rate: that of the sessions entering on the page.
    this.add("hour", hour, "page", counters(session.entryPage));
    this.add("hour", hour, "hostname", counters(session.hostname));
    for (const d of SESSION_DIMENSIONS) this.add("hour", hour, d, counters(session.attribution[d]));
    this.add("hour", hour, "exitPage", { ...emptyRow(session.exitPage), entries: sign });
  }

  /** Adds one counted event of `session` at the event's own hour. */
  addEvent(event: AnalyticsEvent, session: SessionState, timeZone: string): void {
    const visitors = sketchOf([hashVisitor(event.visitorId)]);
    // Ids that can outlive a local day are also kept apart, for unions across days (rows.ts).
    const persistent = isDailyVisitorId(event.visitorId) ? {} : { persistent: visitors };
    const isPageview = event.type === "pageview";
    const counters = (key: string): Row => ({
      ...emptyRow(key),
      events: 1,
      pageviews: isPageview ? 1 : 0,
      visitors,
      ...persistent,
    });
    const t = event.occurredAt;
    this.addMinute(t, timeZone, "total", counters(TOTAL_KEY));
    if (isPageview) this.addMinute(t, timeZone, "page", counters(pagePath(event.url)));
    this.addMinute(t, timeZone, "referrer", counters(session.attribution.referrer));
    const hour = hourStart(t, timeZone);
    this.add("hour", hour, "total", counters(TOTAL_KEY));
    // A page's visitors are those who viewed it: a custom event sent from a page does not count there.
    if (isPageview) this.add("hour", hour, "page", counters(pagePath(event.url)));
    this.add("hour", hour, "hostname", counters(hostnameOf(event.url)));
    this.add("hour", hour, "entryPage", counters(session.entryPage));
    for (const d of SESSION_DIMENSIONS) this.add("hour", hour, d, counters(session.attribution[d]));
    const name = isPageview ? "pageview" : event.name!;
    this.add("hour", hour, "event", counters(name));
    // Rollups hold the names the client sent ("$plan"), not their stored field names ("p:%24plan").
    for (const [k, value] of Object.entries(event.props ?? {})) {
      this.add("hour", hour, "prop", counters(propKey(name, propertyName(k), String(value))));
    }
  }

  /**
   * Adds one counted event's conversions of `goals` at the event's own hour: a
   * `goal` row per goal it matches, keyed by the goal's id, with the event
   * (`events`), its visitor (the converters) and its revenue (REVENUE_COUNTER).
   * Hours only: realtime shows no goals.
   */
  addConversions(event: AnalyticsEvent, goals: readonly CountedGoal[], timeZone: string): void {
    if (goals.length === 0) return;
    const visitors = sketchOf([hashVisitor(event.visitorId)]);
    const persistent = isDailyVisitorId(event.visitorId) ? {} : { persistent: visitors };
    const hour = hourStart(event.occurredAt, timeZone);
    for (const { goalId, revenue } of conversionsOf(goals, event, pagePath(event.url)))
      this.add("hour", hour, "goal", {
        ...emptyRow(goalId),
        events: 1,
        [REVENUE_COUNTER]: revenue,
        visitors,
        ...persistent,
      });
  }
}

/**
 * A minute row's key: the minute's start, then "|" and the dimension's key
 * (none for `total`, whose rows were keyed by the minute alone from the start).
 */
export function minuteKey(minute: number, key: string | null): string {
  return key === null ? String(minute) : `${minute}|${key}`;
}
export function splitMinuteKey(stored: string): { minute: number; key: string } {
  const bar = stored.indexOf("|");
  if (bar === -1) return { minute: Number(stored), key: TOTAL_KEY };
  return { minute: Number(stored.slice(0, bar)), key: stored.slice(bar + 1) };
}

/** Cuts rows into chunks that each encode to at most `maxBytes` (a single larger row is its own chunk). */
export function chunkRows(rows: DeltaRow[], maxBytes: number): DeltaRow[][] {
  const chunks: DeltaRow[][] = [];
  let current: DeltaRow[] = [];
  let bytes = ENCODING_HEADER_BYTES;
  for (const row of rows) {
    const size = rowByteLength(row);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = ENCODING_HEADER_BYTES;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function insertChunks(
  ctx: MutationCtx,
  { siteId, generation }: RollupOwner,
  interval: DeltaInterval,
  bucketStart: number,
  rows: DeltaRow[],
): Promise<Set<number>> {
  const classes = new Set<number>();
  for (const chunk of chunkRows(rows, MAX_DELTA_DOC_BYTES)) {
    const encoded = encodeRows(chunk);
    const level = sizeClass(encoded.byteLength);
    classes.add(level);
    await ctx.db.insert("rollupDeltas", {
      siteId,
      generation,
      interval,
      bucketStart,
      level,
      rows: encoded,
      rowCount: chunk.length,
    });
  }
  return classes;
}

/** Appends one run's rows to a bucket, then merges any size class that reached FAN_IN documents. */
export async function appendDeltas(
  ctx: MutationCtx,
  owner: RollupOwner,
  interval: DeltaInterval,
  bucketStart: number,
  rows: DeltaRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const pending = [...(await insertChunks(ctx, owner, interval, bucketStart, rows))];
  // Classes only grow through merges, so walking them upwards reaches every one that can fill.
  for (let level = 0; level < FULL_CLASS; level++) {
    if (!pending.includes(level)) continue;
    const docs = await ctx.db
      .query("rollupDeltas")
      .withIndex("by_bucket", (q) =>
        q
          .eq("siteId", owner.siteId)
          .eq("generation", owner.generation)
          .eq("interval", interval)
          .eq("bucketStart", bucketStart)
          .eq("level", level),
      )
      .take(FAN_IN);
    if (docs.length < FAN_IN) continue;
    const merged = new DimensionRows();
    for (const doc of docs) merged.addDeltaRows(decodeRows(doc.rows));
    for (const doc of docs) await ctx.db.delete("rollupDeltas", doc._id);
    const rows = merged.toDeltaRows();
    const kept = interval === "minute" ? capMinuteRows(rows) : rows;
    for (const c of await insertChunks(ctx, owner, interval, bucketStart, kept)) pending.push(c);
  }
}

/**
 * Keys kept per (minute, dimension) of the realtime page and referrer rows when
 * a bucket's documents merge: the rest fold into that minute's "(other)". One
 * run writes at most MAX_EVENTS_PER_RUN keys a minute, so with this an hour's
 * minute rows stay about 60 x 2 x 100 rows however busy the site is.
 */
export const REALTIME_KEYS_PER_MINUTE = 100;

function capMinuteRows(rows: DeltaRow[]): DeltaRow[] {
  const groups = new Map<string, { dimension: Dimension; minute: number; rows: Row[] }>();
  const out: DeltaRow[] = [];
  for (const { dimension, ...row } of rows) {
    if (dimension === "total") {
      out.push({ dimension, ...row });
      continue;
    }
    const { minute, key } = splitMinuteKey(row.key);
    const id = `${dimension}|${minute}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { dimension, minute, rows: [] }));
    g.rows.push({ ...row, key });
  }
  for (const { dimension, minute, rows: own } of groups.values())
    for (const row of capRows(own, REALTIME_KEYS_PER_MINUTE, estimate))
      out.push({ dimension, ...row, key: minuteKey(minute, row.key) });
  return out;
}

/** Most delta documents one report piece may read; past it compaction is not keeping up. */
export const MAX_DELTA_DOCS_PER_READ = 1_000;

/** The uncompacted delta documents of a site's buckets in [from, to). */
export async function readDeltaDocs(
  ctx: QueryCtx,
  owner: RollupOwner,
  interval: DeltaInterval,
  from: number,
  to: number,
): Promise<Doc<"rollupDeltas">[]> {
  const docs = await ctx.db
    .query("rollupDeltas")
    .withIndex("by_bucket", (q) =>
      q
        .eq("siteId", owner.siteId)
        .eq("generation", owner.generation)
        .eq("interval", interval)
        .gte("bucketStart", from)
        .lt("bucketStart", to),
    )
    .take(MAX_DELTA_DOCS_PER_READ + 1);
  if (docs.length > MAX_DELTA_DOCS_PER_READ) {
    throw new Error(
      "Too many uncompacted rollup deltas: compaction is not running (is registerMaintenanceCrons set up?)",
    );
  }
  return docs;
}
