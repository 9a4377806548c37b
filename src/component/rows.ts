// Rollup rows: counters plus a visitor sketch for one (bucket, dimension, key).
// Everything here is a plain addition or a set union, so deltas, compaction and
// reports can merge rows in any order and any grouping and get the same answer.
// Stored rows are binary-encoded (rowCodec.ts); these are their in-memory shapes.
import { OTHER_KEY, type Dimension } from "../shared.js";
import { EMPTY_SKETCH, estimate, mergeSketches, type Sketch } from "./sketch.js";
import { rowByteLength } from "./rowCodec.js";

export const COUNTERS = ["events", "pageviews", "entries", "bounces", "durationMs"] as const;
export type Counters = Record<(typeof COUNTERS)[number], number>;
/**
 * `entries`: sessions started (for exitPage: sessions that ended there).
 * `visitors`: every visitor id seen. `persistent`: those of them whose id can
 * outlive a local day (sent by the client or the host; absent when none).
 * Cookieless ids are salted per local day (admission.ts), so over several days
 * they add up, and only persistent ids need a sketch union across days
 * (rangeRows.ts).
 */
export type Row = Counters & { key: string; visitors: Sketch; persistent?: Sketch };
export type DeltaRow = Row & { dimension: Dimension };

/** The key of the one row of the `total` dimension. */
export const TOTAL_KEY = "total";
/**
 * Rollup keys are cut to this many UTF-16 units (never splitting a surrogate
 * pair): raw events keep the full value, but a 2,000-character prop value must
 * not cost 2 KB in every rollup row, bucket and level it reaches.
 */
export const MAX_KEY_LENGTH = 300;

export function rollupKey(value: string): string {
  if (value.length <= MAX_KEY_LENGTH) return value;
  const cut = value.charCodeAt(MAX_KEY_LENGTH - 1);
  return value.slice(0, cut >= 0xd800 && cut <= 0xdbff ? MAX_KEY_LENGTH - 1 : MAX_KEY_LENGTH);
}

export function emptyRow(key: string): Row {
  return {
    key,
    events: 0,
    pageviews: 0,
    entries: 0,
    bounces: 0,
    durationMs: 0,
    visitors: EMPTY_SKETCH,
  };
}

/** a + b, keeping a's key. */
export function mergeRow(a: Row, b: Row): Row {
  const out: Row = { ...a, visitors: mergeSketches(a.visitors, b.visitors) };
  if (a.persistent || b.persistent)
    out.persistent = mergeSketches(a.persistent ?? EMPTY_SKETCH, b.persistent ?? EMPTY_SKETCH);
  for (const c of COUNTERS) out[c] = a[c] + b[c];
  return out;
}

/** The exact bytes `row` adds to an encoded document (rowCodec.ts). */
export function rowBytes(row: Row): number {
  return rowByteLength({ dimension: "total", ...row });
}

/** Rows by key: the in-memory shape reports and compaction merge into. */
export class RowMap {
  readonly rows = new Map<string, Row>();
  add(row: Row): void {
    const existing = this.rows.get(row.key);
    this.rows.set(row.key, existing ? mergeRow(existing, row) : { ...row });
  }
  addAll(rows: Iterable<Row>): this {
    for (const r of rows) this.add(r);
    return this;
  }
  get(key: string): Row {
    return this.rows.get(key) ?? emptyRow(key);
  }
  values(): Row[] {
    return [...this.rows.values()];
  }
}

/** Rows of every dimension, as a shard holds them. */
export class DimensionRows {
  readonly byDimension = new Map<Dimension, RowMap>();
  add(dimension: Dimension, row: Row): void {
    let map = this.byDimension.get(dimension);
    if (!map) this.byDimension.set(dimension, (map = new RowMap()));
    map.add(row);
  }
  addDeltaRows(rows: DeltaRow[], only?: Dimension): void {
    for (const { dimension, ...row } of rows) {
      if (only === undefined || only === dimension) this.add(dimension, row);
    }
  }
  toDeltaRows(): DeltaRow[] {
    const out: DeltaRow[] = [];
    for (const [dimension, map] of this.byDimension) {
      for (const row of map.values()) if (!isZero(row)) out.push({ dimension, ...row });
    }
    return out;
  }
}

/** A row whose counters cancelled out and that saw no visitor carries nothing (persistent ids are among its visitors). */
export function isZero(row: Row): boolean {
  return (
    COUNTERS.every((c) => row[c] === 0) &&
    "sparse" in row.visitors &&
    row.visitors.sparse.length === 0
  );
}

/** Ranking used for the cardinality cap and breakdowns: visitors, then pageviews, events, entries, key. */
export function compareRows(
  a: Counters & { key: string; visitorCount: number },
  b: Counters & { key: string; visitorCount: number },
): number {
  return (
    b.visitorCount - a.visitorCount ||
    b.pageviews - a.pageviews ||
    b.events - a.events ||
    b.entries - a.entries ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * Applies the per-(bucket, dimension) cap: the top keys stay while there are
 * fewer than `cap` of them and they fit in `maxBytes`; the rest fold into
 * "(other)", as GA4 does, so report reads stay bounded on sites with very many
 * distinct values, or values with very many visitors.
 */
export function capRows(
  rows: Row[],
  cap: number,
  visitorCount: (s: Sketch) => number,
  maxBytes = Infinity,
): Row[] {
  const total = rows.reduce((sum, r) => sum + rowBytes(r), 0);
  if (rows.length <= cap && total <= maxBytes) return rows;
  const ranked = rows
    .map((r) => ({ ...r, visitorCount: r.key === OTHER_KEY ? -1 : visitorCount(r.visitors) }))
    .sort(compareRows);
  let other = rows.find((r) => r.key === OTHER_KEY) ?? emptyRow(OTHER_KEY);
  const kept: Row[] = [];
  // Room for (other) itself, which can grow to a dense sketch.
  let bytes = rowBytes(other) + DENSE_ROW_BYTES;
  // Kept rows are a prefix of the ranking: once one does not fit, nothing ranked
  // below it is kept (a smaller one would show while a bigger-ranked one hid in "(other)").
  let full = false;
  for (const { visitorCount: _, ...r } of ranked) {
    if (r.key === OTHER_KEY) continue;
    const size = rowBytes(r);
    full ||= kept.length >= cap - 1 || bytes + size > maxBytes;
    if (full) {
      other = mergeRow(other, { ...r, key: OTHER_KEY });
    } else {
      kept.push(r);
      bytes += size;
    }
  }
  return [...kept, other];
}

/** An upper bound on one row with a dense sketch and a key of MAX_KEY_LENGTH. */
export const DENSE_ROW_BYTES =
  rowBytes({
    ...emptyRow("x".repeat(MAX_KEY_LENGTH)),
    visitors: { dense: new ArrayBuffer(1 << 14) },
    persistent: { dense: new ArrayBuffer(1 << 14) },
  }) + 64;

/**
 * Rows in rank order (compareRows, by each sketch's estimate), with that
 * estimate: the order canonical pages store rows in, so the keys a report shows
 * are on the first pages.
 */
export function rankRows(rows: Row[]): (Row & { visitorCount: number })[] {
  return rows.map((r) => ({ ...r, visitorCount: estimate(r.visitors) })).sort(compareRows);
}

/**
 * Splits items into pages of at most `maxBytes` each (always at least one item
 * a page), keeping their order.
 */
export function paginateRows<T>(
  rows: readonly T[],
  maxBytes: number,
  bytesOf: (row: T) => number,
): T[][] {
  const pages: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = bytesOf(row);
    if (current.length > 0 && bytes + size > maxBytes) {
      pages.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) pages.push(current);
  return pages;
}
