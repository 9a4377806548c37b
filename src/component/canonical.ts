// Canonical rollups: the rows of one (site, interval, bucket, dimension), in rank
// order, stored twice over:
// - counter pages: each row's counters and its sketch's estimate, about 30 bytes
//   a row, so a report can rank every key of every bucket in its range;
// - sketch pages: the full rows, sketches included, at most SKETCH_PAGE_BYTES
//   each, so a report reads sketches only for the keys it shows, and only the
//   pages (near the top, since rows are ranked) that hold them.
// A key's visitors over one bucket are its stored estimate; only a key seen in
// several buckets needs its sketches merged. That is what keeps a report's bytes
// near (keys shown x buckets x their sketches) instead of (every key x buckets).
// Compaction reads and rewrites the sketch pages and derives the counter pages.
// A closed day's small hour counter pages are also copied into one "hours" page
// (hourGroups.ts), which a report reads instead of one document per hour.
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { RollupOwner } from "./generations.js";
import type { Dimension } from "../shared.js";
import {
  counterRowByteLength,
  decodeCounterRows,
  decodeRows,
  encodeCounterRows,
  encodeRows,
  type CounterRow,
} from "./rowCodec.js";
import { paginateRows, rowBytes, type Row } from "./rows.js";
import { estimate } from "./sketch.js";
import { byLocalDay, lastStartAtOrBefore } from "./time.js";

export type CanonicalInterval = Doc<"rollups">["interval"];
export type Bucket = RollupOwner & {
  interval: CanonicalInterval;
  bucketStart: number;
  dimension: Dimension;
};

/** Counter pages are at most this large (a bucket's rows are capped at 2,000 keys of at most 300 characters). */
export const COUNTER_PAGE_BYTES = 256 * 1024;
/** Sketch pages are at most this large: small enough that a report reading one key's row reads little else. */
export const SKETCH_PAGE_BYTES = 64 * 1024;
/**
 * A bucket whose full rows take at most this is one page holding them all (most
 * buckets of most dimensions are this small): one document written a fold
 * instead of two, and a report reading it reads a few KiB more.
 */
const INLINE_BYTES = 8 * 1024;

/** The parts a bucket's own pages are in (a day's hour group is hourGroups.ts'). */
type BucketPart = "counters" | "sketches";

function pagesOf(ctx: QueryCtx, b: Bucket, part: BucketPart) {
  return ctx.db
    .query("rollups")
    .withIndex("by_part", (q) =>
      q
        .eq("siteId", b.siteId)
        .eq("generation", b.generation)
        .eq("interval", b.interval)
        .eq("dimension", b.dimension)
        .eq("part", part)
        .eq("bucketStart", b.bucketStart),
    );
}

/** Every row of one bucket, in rank order, and the documents that hold them. */
export async function readCanonicalRows(
  ctx: QueryCtx,
  b: Bucket,
): Promise<{ rows: Row[]; docs: Doc<"rollups">[] }> {
  // Bounded: a bucket's rows are capped in bytes (CANONICAL_MAX_BYTES).
  const counters = await pagesOf(ctx, b, "counters").collect();
  // writeCanonicalRows writes sketch pages only with non-inline counter pages, and deletes
  // them when it writes an inline page: a bucket with no counter pages or an inline one
  // (most buckets, every new hour) has none to read. Compaction's hour folds are most of
  // its steps' queries; this halves them.
  const sketches =
    counters.length === 0 || counters[0]!.inline ? [] : await pagesOf(ctx, b, "sketches").collect();
  const rows: Row[] = [];
  for (const page of [...counters.filter((c) => c.inline), ...sketches])
    for (const { dimension: _, ...row } of decodeRows(page.rows)) rows.push(row);
  return { rows, docs: [...counters, ...sketches] };
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer) => {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
};

/**
 * Stores `ranked` (rank order, each with its estimate) as the bucket's pages,
 * reusing `docs` (its current pages, from readCanonicalRows): a page whose bytes
 * did not change is not written again.
 */
export async function writeCanonicalRows(
  ctx: MutationCtx,
  b: Bucket,
  ranked: (Row & { visitorCount: number })[],
  docs: Doc<"rollups">[],
): Promise<void> {
  const fullBytes = ranked.reduce((sum, r) => sum + rowBytes(r), 0);
  const inline = fullBytes <= INLINE_BYTES;
  const sketchPages = inline ? [] : paginateRows(ranked, SKETCH_PAGE_BYTES, rowBytes);
  const sketchPageStarts: number[] = [];
  let rank = 0;
  for (const page of sketchPages) {
    sketchPageStarts.push(rank);
    rank += page.length;
  }
  const counterRows: CounterRow[] = ranked.map(({ visitors: _, persistent, ...r }) => ({
    dimension: b.dimension,
    ...r,
    persistentCount: persistent ? estimate(persistent) : 0,
  }));
  const counterPages = paginateRows(counterRows, COUNTER_PAGE_BYTES, counterRowByteLength);
  const wanted: (Omit<Doc<"rollups">, "_id" | "_creationTime"> & { part: BucketPart })[] = [];
  if (inline && ranked.length > 0) {
    wanted.push({
      ...b,
      part: "counters",
      firstRank: 0,
      rows: encodeRows(
        ranked.map(({ visitorCount: _, ...r }) => ({ dimension: b.dimension, ...r })),
      ),
      rowCount: ranked.length,
      inline: true,
    });
  }
  rank = 0;
  for (const [i, page] of inline ? [] : counterPages.entries()) {
    wanted.push({
      ...b,
      part: "counters",
      firstRank: rank,
      rows: encodeCounterRows(page),
      rowCount: page.length,
      ...(i === 0 ? { sketchPageStarts } : {}),
    });
    rank += page.length;
  }
  for (const [i, page] of sketchPages.entries()) {
    wanted.push({
      ...b,
      part: "sketches",
      firstRank: sketchPageStarts[i]!,
      rows: encodeRows(page.map(({ visitorCount: _, ...r }) => ({ dimension: b.dimension, ...r }))),
      rowCount: page.length,
    });
  }
  const existing = { counters: [] as Doc<"rollups">[], sketches: [] as Doc<"rollups">[] };
  for (const doc of docs) if (doc.part !== "hours") existing[doc.part].push(doc);
  const reused = { counters: 0, sketches: 0 };
  for (const page of wanted) {
    const doc = existing[page.part][reused[page.part]++];
    if (!doc) {
      await ctx.db.insert("rollups", page);
      continue;
    }
    const unchanged =
      doc.firstRank === page.firstRank &&
      doc.inline === page.inline &&
      sameBytes(doc.rows, page.rows) &&
      JSON.stringify(doc.sketchPageStarts) === JSON.stringify(page.sketchPageStarts);
    if (!unchanged) await ctx.db.replace("rollups", doc._id, page);
  }
  for (const part of ["counters", "sketches"] as const)
    for (const stale of existing[part].slice(reused[part]))
      await ctx.db.delete("rollups", stale._id);
}

// ---------------------------------------------------------------------------
// The read side, for reports

/** One stored bucket a report reads, and where its sketch pages start. */
export type StoredBucket = {
  interval: CanonicalInterval;
  bucketStart: number;
  sketchPageStarts: number[];
  /** A small bucket's full rows, by rank, read with its counters (it has no sketch pages). */
  inlineRows?: Row[];
};
/** A key's row in one stored bucket: its counters, estimate and rank there. */
export type CounterHit = { bucket: number; rank: number; row: CounterRow };

/** A day's hour group (hourGroups.ts): its hours' counter pages, as they are. */
export type HourGroup = Doc<"rollups"> & { hours: NonNullable<Doc<"rollups">["hours"]> };

/** The group of one (day, dimension), if it has one. */
export async function readHourGroup(
  ctx: QueryCtx,
  owner: RollupOwner,
  dimension: Dimension,
  day: number,
): Promise<HourGroup | null> {
  const group = await ctx.db
    .query("rollups")
    .withIndex("by_part", (q) =>
      q
        .eq("siteId", owner.siteId)
        .eq("generation", owner.generation)
        .eq("interval", "hour")
        .eq("dimension", dimension)
        .eq("part", "hours")
        .eq("bucketStart", day),
    )
    .first();
  return group as HourGroup | null;
}

/** The counter pages of `dimension` in the buckets of `interval` that start in [from, to). */
export function counterPagesIn(
  ctx: QueryCtx,
  owner: RollupOwner,
  interval: CanonicalInterval,
  dimension: Dimension,
  from: number,
  to: number,
) {
  return ctx.db
    .query("rollups")
    .withIndex("by_part", (q) =>
      q
        .eq("siteId", owner.siteId)
        .eq("generation", owner.generation)
        .eq("interval", interval)
        .eq("dimension", dimension)
        .eq("part", "counters")
        .gte("bucketStart", from)
        .lt("bucketStart", to),
    );
}

/** A counter page as a report reads it: a stored page, or one hour of a day's group. */
type CounterPage = Pick<
  Doc<"rollups">,
  "interval" | "bucketStart" | "firstRank" | "rows" | "inline" | "sketchPageStarts"
>;

/**
 * The counter pages of `dimension` in one run of adjacent same-interval
 * buckets: one index range, or for hours, one per local day the run touches,
 * from the day's group where it has one (hourGroups.ts).
 */
async function* counterPagesOf(
  ctx: QueryCtx,
  owner: RollupOwner,
  dimension: Dimension,
  run: CounterRun,
  timeZone: string,
): AsyncGenerator<CounterPage> {
  const pages = (from: number, to: number) =>
    counterPagesIn(ctx, owner, run.interval, dimension, from, to);
  if (run.interval !== "hour") return yield* pages(run.from, run.to);
  for (const { day, from, to } of byLocalDay(run.from, run.to, timeZone)) {
    const group = await readHourGroup(ctx, owner, dimension, day);
    if (!group) {
      yield* pages(from, to);
      continue;
    }
    for (const hour of group.hours)
      if (from <= hour.bucketStart && hour.bucketStart < to)
        yield { interval: "hour", firstRank: 0, ...hour };
  }
}

export type CounterRun = { interval: CanonicalInterval; from: number; to: number };

/**
 * The counter rows of `dimension` in every bucket of `runs` (each a range of
 * adjacent same-interval buckets, cut into local days by `timeZone`).
 */
export async function readCounters(
  ctx: QueryCtx,
  owner: RollupOwner,
  dimension: Dimension,
  runs: CounterRun[],
  timeZone: string,
): Promise<{ buckets: StoredBucket[]; hits: CounterHit[] }> {
  const buckets: StoredBucket[] = [];
  const hits: CounterHit[] = [];
  for (const run of runs) {
    for await (const page of counterPagesOf(ctx, owner, dimension, run, timeZone)) {
      if (page.inline) {
        const inlineRows = decodeRows(page.rows).map(({ dimension: _, ...row }) => row);
        buckets.push({
          interval: page.interval,
          bucketStart: page.bucketStart,
          sketchPageStarts: [],
          inlineRows,
        });
        for (const [rank, { visitors, persistent, ...row }] of inlineRows.entries()) {
          const counts = {
            visitorCount: estimate(visitors),
            persistentCount: persistent ? estimate(persistent) : 0,
          };
          hits.push({ bucket: buckets.length - 1, rank, row: { dimension, ...row, ...counts } });
        }
        continue;
      }
      if (page.firstRank === 0) {
        buckets.push({
          interval: page.interval,
          bucketStart: page.bucketStart,
          sketchPageStarts: page.sketchPageStarts ?? [0],
        });
      }
      const bucket = buckets.length - 1;
      for (const [i, row] of decodeCounterRows(page.rows).entries())
        hits.push({ bucket, rank: page.firstRank + i, row });
    }
  }
  return { buckets, hits };
}

/**
 * Reads the sketch pages that hold the requested (bucket, rank) rows: each
 * bucket's wanted pages as one index range per run of adjacent pages, each page
 * read once per report.
 */
export class SketchPages {
  private readonly loaded = new Map<string, Row[]>();
  private wanted = new Map<number, Set<number>>();
  constructor(
    private readonly ctx: QueryCtx,
    private readonly owner: RollupOwner,
    private readonly dimension: Dimension,
    private readonly buckets: StoredBucket[],
  ) {}

  private pageOf(bucket: number, rank: number): number {
    return lastStartAtOrBefore(this.buckets[bucket]!.sketchPageStarts, rank);
  }

  bucket(index: number): StoredBucket {
    return this.buckets[index]!;
  }

  want(bucket: number, rank: number): void {
    if (this.buckets[bucket]!.inlineRows) return;
    const page = this.pageOf(bucket, rank);
    if (this.loaded.has(`${bucket}:${page}`)) return;
    let pages = this.wanted.get(bucket);
    if (!pages) this.wanted.set(bucket, (pages = new Set()));
    pages.add(page);
  }

  async load(): Promise<void> {
    const wanted = this.wanted;
    this.wanted = new Map();
    for (const [bucket, pageSet] of wanted) {
      const { interval, bucketStart, sketchPageStarts: starts } = this.buckets[bucket]!;
      const pages = [...pageSet].sort((a, b) => a - b);
      for (let i = 0; i < pages.length;) {
        let j = i;
        while (j + 1 < pages.length && pages[j + 1] === pages[j]! + 1) j++;
        const [first, last] = [starts[pages[i]!]!, starts[pages[j]!]!];
        const docs = this.ctx.db
          .query("rollups")
          .withIndex("by_part", (q) =>
            q
              .eq("siteId", this.owner.siteId)
              .eq("generation", this.owner.generation)
              .eq("interval", interval)
              .eq("dimension", this.dimension)
              .eq("part", "sketches")
              .eq("bucketStart", bucketStart)
              .gte("firstRank", first)
              .lte("firstRank", last),
          );
        for await (const doc of docs) {
          this.loaded.set(
            `${bucket}:${this.pageOf(bucket, doc.firstRank)}`,
            decodeRows(doc.rows).map(({ dimension: _, ...row }) => row),
          );
        }
        i = j + 1;
      }
    }
  }

  /** The full row at `rank` of `bucket`; its page must have been wanted and loaded. */
  get(bucket: number, rank: number): Row {
    const inline = this.buckets[bucket]!.inlineRows;
    if (inline) return inline[rank]!;
    const page = this.pageOf(bucket, rank);
    const rows = this.loaded.get(`${bucket}:${page}`);
    const row = rows?.[rank - this.buckets[bucket]!.sketchPageStarts[page]!];
    if (!row) throw new Error(`rollup sketch page for rank ${rank} is missing (bucket ${bucket})`);
    return row;
  }
}
