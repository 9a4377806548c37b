// The rows of one dimension over a report's range, grouped (a whole range, or
// one timeseries point) and counted: canonical counter rows of every bucket,
// plus the hours not compacted yet, and each group's visitors, merging sketches
// only where they must be (within one local day, or persistent ids).
import type { QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { RollupOwner } from "./generations.js";
import type { Dimension } from "../shared.js";
import {
  readCounters,
  SketchPages,
  type CanonicalInterval,
  type CounterHit,
  type CounterRun,
} from "./canonical.js";
import { readDeltaDocs } from "./deltas.js";
import { decodeRows } from "./rowCodec.js";
import { COUNTERS, type Counters, type Row } from "./rows.js";
import { EMPTY_SKETCH, SPARSE_LIMIT, estimate, mergeSketches, type Sketch } from "./sketch.js";
import { dayStart, lastStartAtOrBefore, type Piece } from "./time.js";

/** More staging documents than this in one report's range means compaction is stalled. */
const MAX_STAGING_DOCS_PER_READ = 1_000;

export type Located = {
  bucketStart: number;
  row: Row;
  /** The row is in the hourly-totals BTree already (a staged row its hour's pages hold). */
  inHourTotals?: true;
};

/** The pieces as runs of adjacent same-interval canonical buckets: one index range each. */
function canonicalRuns(pieces: Piece[]) {
  const runs: CounterRun[] = [];
  for (const piece of pieces) {
    if (piece.interval === "minute") continue; // minutes live in rollupDeltas only
    const last = runs[runs.length - 1];
    if (last && last.interval === piece.interval && last.to === piece.bucketStart)
      last.to = piece.bucketEnd;
    else runs.push({ interval: piece.interval, from: piece.bucketStart, to: piece.bucketEnd });
  }
  return runs;
}

/**
 * The hour delta documents one report has read, by range. Delta documents hold
 * every dimension, so a report reading two dimensions over one range (getGoals:
 * the totals and the goal rows, for the report and its compared period) reads
 * them once. Only for queries: a mutation's writes would make it stale.
 */
export type DeltaReads = Map<string, Promise<Doc<"rollupDeltas">[]>>;

/** How far down the levels a staged document's rows are folded, and how deep a piece's level is. */
const DEPTH = { none: 0, hour: 1, day: 2, month: 3 } as const;

/**
 * The rows of `dimension` for the hours of `pieces` (canonical pieces covering
 * a range, in order) that their pieces' canonical rows do not hold yet: the
 * delta documents (which hold every dimension), and the staging documents not
 * yet folded into their piece's level (a staged hour its hour pages hold
 * counts under a day or month piece, not under an hour piece). Each row is in
 * exactly one of these or in its piece's canonical rows.
 */
export async function readUncompacted(
  ctx: QueryCtx,
  owner: RollupOwner,
  pieces: Piece[],
  dimension: Dimension,
  deltaReads: DeltaReads = new Map(),
): Promise<Located[]> {
  const canonical = pieces.filter(
    (p): p is Piece & { interval: CanonicalInterval } => p.interval !== "minute",
  );
  if (canonical.length === 0) return [];
  const from = canonical[0]!.bucketStart;
  const to = canonical[canonical.length - 1]!.bucketEnd;
  const starts = canonical.map((p) => p.bucketStart);
  const depthAt = (at: number) => DEPTH[canonical[lastStartAtOrBefore(starts, at)]!.interval];
  const out: Located[] = [];
  const staging = await ctx.db
    .query("rollupStaging")
    .withIndex("by_dimension", (q) =>
      q
        .eq("siteId", owner.siteId)
        .eq("generation", owner.generation)
        .eq("dimension", dimension)
        .gte("bucketStart", from)
        .lt("bucketStart", to),
    )
    .take(MAX_STAGING_DOCS_PER_READ + 1);
  if (staging.length > MAX_STAGING_DOCS_PER_READ) {
    throw new Error(
      "Too many uncompacted rollup rows: compaction is not running (is registerMaintenanceCrons set up?)",
    );
  }
  for (const doc of staging) {
    const folded = DEPTH[doc.folded ?? "none"];
    if (folded >= depthAt(doc.bucketStart)) continue;
    for (const { dimension: _, ...row } of decodeRows(doc.rows))
      out.push({
        bucketStart: doc.bucketStart,
        row,
        ...(folded > 0 ? { inHourTotals: true } : {}),
      });
  }
  const id = `${owner.siteId}:${owner.generation}:${from}:${to}`;
  let deltas = deltaReads.get(id);
  if (!deltas) deltaReads.set(id, (deltas = readDeltaDocs(ctx, owner, "hour", from, to)));
  for (const doc of await deltas) {
    for (const { dimension: d, ...row } of decodeRows(doc.rows))
      if (d === dimension) out.push({ bucketStart: doc.bucketStart, row });
  }
  return out;
}

/**
 * One key's rows over one group of buckets (a report's whole range, or one
 * timeseries point): its canonical rows (counters and estimate, by rank) and its
 * uncompacted rows. Counters add up exactly; visitors need the sketches merged,
 * unless the key was seen in one bucket only.
 */
export type Group = {
  /** Which group: 0 for a whole range, the point's index in a timeseries. */
  group: number;
  key: string;
  counters: Counters;
  hits: CounterHit[];
  uncompacted: Located[];
};

function newGroup(group: number, key: string): Group {
  return {
    group,
    key,
    counters: { events: 0, pageviews: 0, entries: 0, bounces: 0, durationMs: 0 },
    hits: [],
    uncompacted: [],
  };
}

/**
 * An upper bound on a group's visitors: the sum of its parts' estimates (a union
 * is never larger than the sum of its parts), with room for a dense estimate's
 * error, so ranking on it never passes over a key that belongs in the top N.
 */
export function visitorsAtMost(g: Group): number {
  let bound = 0;
  const add = (n: number) => (bound += n > SPARSE_LIMIT ? Math.ceil(n * 1.03) : n);
  for (const hit of g.hits) add(hit.row.visitorCount);
  for (const { row } of g.uncompacted) add(estimate(row.visitors));
  return bound;
}

/** Every group of `dimension` over `pieces` and their uncompacted hours, grouped by `groupOf`. */
export async function readGroups(
  ctx: QueryCtx,
  owner: RollupOwner,
  pieces: Piece[],
  timeZone: string,
  dimension: Dimension,
  groupOf: (bucketStart: number) => number = () => 0,
  deltaReads: DeltaReads = new Map(),
) {
  const runs = canonicalRuns(pieces);
  const { buckets, hits } = await readCounters(ctx, owner, dimension, runs, timeZone);
  const groups = new Map<string, Group>();
  const groupFor = (key: string, bucketStart: number) => {
    const group = groupOf(bucketStart);
    const id = `${group}\u0000${key}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = newGroup(group, key)));
    return g;
  };
  for (const hit of hits) {
    const g = groupFor(hit.row.key, buckets[hit.bucket]!.bucketStart);
    g.hits.push(hit);
    for (const c of COUNTERS) g.counters[c] += hit.row[c];
  }
  for (const located of await readUncompacted(ctx, owner, pieces, dimension, deltaReads)) {
    const { bucketStart: at, row } = located;
    const g = groupFor(row.key, at);
    g.uncompacted.push(located);
    for (const c of COUNTERS) g.counters[c] += row[c];
  }
  return { groups, sketches: new SketchPages(ctx, owner, dimension, buckets) };
}

/**
 * Each group's visitors, exact while sketches are sparse. A group's rows are
 * split by local day (a month's bucket is its own): cookieless ids never outlive
 * a local day (salts.ts), so their counts add across days, and only rows of the
 * same day need their sketches merged. Persistent ids (client or host ids) are
 * merged across the whole group. So a range of whole days or months reads no
 * sketch at all on a cookieless site. Sketch pages are read in one pass for all
 * groups.
 */
export async function visitorsOf(
  groups: Group[],
  sketches: SketchPages,
  timeZone: string,
): Promise<number[]> {
  type Part = {
    count: number;
    persistentCount: number;
    day: string;
    want: () => void;
    sketch: () => Row;
  };
  // The local day of a bucket start, computed once (it goes through Intl).
  const days = new Map<number, string>();
  const dayOf = (at: number) => {
    let day = days.get(at);
    if (day === undefined) days.set(at, (day = String(dayStart(at, timeZone))));
    return day;
  };
  const plans = groups.map((g) => {
    const parts: Part[] = [
      ...g.hits.map((h) => {
        const bucket = sketches.bucket(h.bucket);
        return {
          count: h.row.visitorCount,
          persistentCount: h.row.persistentCount,
          sketch: () => sketches.get(h.bucket, h.rank),
          want: () => sketches.want(h.bucket, h.rank),
          day:
            bucket.interval === "month" ? `month ${bucket.bucketStart}` : dayOf(bucket.bucketStart),
        };
      }),
      ...g.uncompacted.map(({ bucketStart: at, row }) => ({
        count: estimate(row.visitors),
        persistentCount: row.persistent ? estimate(row.persistent) : 0,
        sketch: () => row,
        want: () => {},
        day: dayOf(at),
      })),
    ];
    const byDay = new Map<string, Part[]>();
    for (const part of parts) {
      const day = byDay.get(part.day);
      if (day) day.push(part);
      else byDay.set(part.day, [part]);
    }
    const persistent = parts.some((p) => p.persistentCount > 0);
    for (const day of byDay.values())
      for (const part of day)
        if (day.length > 1 || (persistent && part.persistentCount > 0)) part.want();
    return { parts, byDay, persistent };
  });
  await sketches.load();
  return plans.map(({ parts, byDay, persistent }) => {
    if (parts.length === 1) return parts[0]!.count;
    const union = (rows: Row[], pick: (r: Row) => Sketch | undefined) =>
      estimate(rows.reduce((u, r) => mergeSketches(u, pick(r) ?? EMPTY_SKETCH), EMPTY_SKETCH));
    let visitors = 0;
    for (const day of byDay.values()) {
      if (day.length === 1) {
        visitors += day[0]!.count - (persistent ? day[0]!.persistentCount : 0);
        continue;
      }
      const rows = day.map((p) => p.sketch());
      visitors +=
        union(rows, (r) => r.visitors) - (persistent ? union(rows, (r) => r.persistent) : 0);
    }
    if (persistent)
      visitors += union(
        parts.filter((p) => p.persistentCount > 0).map((p) => p.sketch()),
        (r) => r.persistent,
      );
    return Math.max(0, visitors);
  });
}
