// Rollup rows: counters plus a visitor sketch for one (bucket, dimension, key).
// Everything here is a plain addition or a set union, so deltas, compaction and
// reports can merge rows in any order and any grouping and get the same answer.
// Stored rows are binary-encoded (rowCodec.ts); these are their in-memory shapes.
import { OTHER_KEY, parsePropKey, propGroup, type Dimension } from "../shared.js";
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

/** `a / b`, or null when there is nothing to divide by (a rate over no sessions). */
export const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** A row ranked by its visitors, as a breakdown returns it. */
export const breakdownRow = (r: Counters & { key: string; visitorCount: number }) => ({
  key: r.key,
  visitors: r.visitorCount,
  pageviews: r.pageviews,
  events: r.events,
  entries: r.entries,
  bounceRate: ratio(r.bounces, r.entries),
});

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

/** The (event, property) group of a stored `prop` key, or null for "(other)". */
function propGroupOfKey(key: string): string | null {
  const parts = parsePropKey(key);
  return parts && propGroup(parts.event, parts.property);
}

/**
 * The cap for the `prop` dimension: per (event, property), so one event's
 * values (a tracker's outbound-link URLs, say) cannot crowd another's out of
 * the bucket. Each group keeps its top `d` values and folds the rest into its
 * own "(other)" value (`event|property|(other)`), with the largest `d` for which
 * the bucket stays within `cap` rows and `maxBytes`: a group with fewer values
 * keeps them all, and the room it leaves goes to the others (max-min fair).
 * Only when even one "(other)" row per group does not fit does the bucket fall
 * back to capRows (one "(other)" for the whole dimension).
 */
export function capPropRows(
  rows: Row[],
  cap: number,
  visitorCount: (s: Sketch) => number,
  maxBytes = Infinity,
): Row[] {
  const total = rows.reduce((sum, r) => sum + rowBytes(r), 0);
  if (rows.length <= cap && total <= maxBytes) return rows;
  type Ranked = Row & { visitorCount: number };
  const groups = new Map<string, { ranked: Ranked[]; other: Row | null }>();
  const loose: Row[] = [];
  for (const r of rows) {
    const group = propGroupOfKey(r.key);
    if (group === null) {
      loose.push(r);
      continue;
    }
    let g = groups.get(group);
    if (!g) groups.set(group, (g = { ranked: [], other: null }));
    if (r.key === group + OTHER_KEY) g.other = r;
    else g.ranked.push({ ...r, visitorCount: visitorCount(r.visitors) });
  }
  const list = [...groups.entries()].map(([group, g]) => {
    g.ranked.sort(compareRows);
    const bytes = g.ranked.map((r) => rowBytes(r));
    // suffix[i]: the bytes of ranks i and below, which fold into the group's "(other)".
    const suffix = new Array<number>(bytes.length + 1).fill(0);
    for (let i = bytes.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + bytes[i]!;
    const otherKeyBytes = rowBytes(g.other ?? emptyRow(group + OTHER_KEY));
    return { group, ...g, bytes, suffix, otherKeyBytes };
  });
  const looseBytes = loose.reduce((sum, r) => sum + rowBytes(r), 0);
  // Rows and an upper bound on bytes when every group keeps its top `d`: a
  // merged "(other)" is at most its parts, and at most a dense row.
  const fits = (d: number) => {
    let count = loose.length;
    let bytes = looseBytes;
    for (const g of list) {
      const kept = Math.min(d, g.ranked.length);
      count += kept;
      bytes += g.suffix[0]! - g.suffix[kept]!;
      if (kept < g.ranked.length || g.other) {
        count += 1;
        bytes += g.otherKeyBytes + Math.min(g.suffix[kept]!, DENSE_ROW_BYTES);
      }
    }
    return count <= cap && bytes <= maxBytes;
  };
  if (!fits(0)) return capRows(rows, cap, visitorCount, maxBytes);
  let lo = 0;
  let hi = Math.max(0, ...list.map((g) => g.ranked.length));
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  const out: Row[] = [...loose];
  for (const g of list) {
    const strip = ({ visitorCount: _, ...r }: Ranked): Row => r;
    out.push(...g.ranked.slice(0, lo).map(strip));
    const tail = g.ranked.slice(lo);
    if (tail.length === 0 && !g.other) continue;
    out.push(
      tail.reduce(
        (other, r) => mergeRow(other, { ...strip(r), key: other.key }),
        g.other ?? emptyRow(g.group + OTHER_KEY),
      ),
    );
  }
  return out;
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
