// Rollup rows: counters plus a visitor sketch for one (bucket, dimension, key).
// Everything here is a plain addition or a set union, so shards, compaction and
// reports can merge rows in any order and any grouping and get the same answer.
import { v, type Infer } from "convex/values";
import { OTHER_KEY, vDimension, type Dimension } from "../shared.js";
import { EMPTY_SKETCH, mergeSketches, sketchBytes, vSketch, type Sketch } from "./sketch.js";

const counterFields = {
  events: v.number(),
  pageviews: v.number(),
  /** Sessions started (for exitPage: sessions that ended there). */
  entries: v.number(),
  bounces: v.number(),
  durationMs: v.number(),
};
export const COUNTERS = Object.keys(counterFields) as (keyof typeof counterFields)[];

export const vRow = v.object({ key: v.string(), ...counterFields, visitors: vSketch });
export type Row = Infer<typeof vRow>;
export const vDeltaRow = v.object({ dimension: vDimension, ...vRow.fields });
export type DeltaRow = Infer<typeof vDeltaRow>;
export type Counters = Pick<Row, (typeof COUNTERS)[number]>;

export function emptyRow(key: string): Row {
  return { key, events: 0, pageviews: 0, entries: 0, bounces: 0, durationMs: 0, visitors: EMPTY_SKETCH };
}

/** a + b, keeping a's key. */
export function mergeRow(a: Row, b: Row): Row {
  const out: Row = { ...a, visitors: mergeSketches(a.visitors, b.visitors) };
  for (const c of COUNTERS) out[c] = a[c] + b[c];
  return out;
}

export function rowBytes(row: Row): number {
  return 2 * row.key.length + 64 + sketchBytes(row.visitors);
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

/** A row whose counters cancelled out and that saw no visitor carries nothing. */
export function isZero(row: Row): boolean {
  return COUNTERS.every((c) => row[c] === 0) && "sparse" in row.visitors && row.visitors.sparse.length === 0;
}

/** Ranking used for the cardinality cap and breakdowns: visitors, then pageviews, events, entries, key. */
export function compareRows(a: Row & { visitorCount: number }, b: Row & { visitorCount: number }): number {
  return (
    b.visitorCount - a.visitorCount ||
    b.pageviews - a.pageviews ||
    b.events - a.events ||
    b.entries - a.entries ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/**
 * Applies the per-(bucket, dimension) cardinality cap: the top `cap - 1` keys stay,
 * the rest fold into "(other)", as GA4 does, so report reads stay bounded on sites
 * with very many distinct values.
 */
export function capRows(rows: Row[], cap: number, visitorCount: (s: Sketch) => number): Row[] {
  if (rows.length <= cap) return rows;
  const ranked = rows
    .map((r) => ({ ...r, visitorCount: r.key === OTHER_KEY ? -1 : visitorCount(r.visitors) }))
    .sort(compareRows);
  const kept = ranked.slice(0, cap - 1).filter((r) => r.key !== OTHER_KEY);
  let other = rows.find((r) => r.key === OTHER_KEY) ?? emptyRow(OTHER_KEY);
  for (const r of ranked.slice(cap - 1)) if (r.key !== OTHER_KEY) other = mergeRow(other, { ...r, key: OTHER_KEY });
  return [...kept.map(({ visitorCount: _, ...r }) => r), other];
}

/** Splits rows into pages of at most `maxBytes` each (always at least one row a page). */
export function paginateRows(rows: Row[], maxBytes: number): Row[][] {
  const pages: Row[][] = [];
  let current: Row[] = [];
  let bytes = 0;
  for (const row of [...rows].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const size = rowBytes(row);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= MAX_ROWS_PER_DOC)) {
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

/** Convex arrays hold at most 8,192 values; stay well below. */
export const MAX_ROWS_PER_DOC = 4_000;
