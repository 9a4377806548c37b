// Raw-event scans: one bounded, resumable engine for answers that rollups cannot
// give (funnels, funnels.ts; filter combinations, filters.ts). A scan is a row of `scans`, one
// per (site, range, spec hash, data version), and a chain of step mutations:
//
// - collect: read one page of the site's batches by creation order (a byte and
//   document budget), turn each event of the range into the kind's compact
//   record, and append them as one `scanParts` document per visitor partition.
//   Batches are ordered by creation time, not occurredAt: an event can arrive up
//   to MAX_PAST_MS late, so the batches read are those created in
//   [from - MAX_FUTURE_MS, min(to + MAX_PAST_MS, version)), filtered by occurredAt.
// - reduce: read one partition's parts whole (its visitors' every record), fold
//   its visitors into the answer, delete the parts. Partitions hold disjoint
//   visitors, so exact visitor counts add up across partitions: no visitor set
//   ever has to fit one document or one transaction, only one partition's
//   records (SCAN_REDUCE_READ_BYTES; past it the scan stops with an error that
//   says to narrow the range).
//
// Each step is a mutation that re-reads the scan row and moves it on, so a step
// that throws or a chain that dies loses nothing: the kick cron (or the next
// startFunnel) resumes it from the last committed step once its lease has run
// out (MAX_SCAN_RESTARTS in a row without progress stop it with an error), and a
// second chain only repeats committed steps' checks, never their counts.
//
// The data version is how far the site's worker loop has got (cursor.ts
// processedBefore): the scan reads the batches created before it, and those
// created at exactly it that the loop has passed, which are the events the
// rollups count. (A batch sharing that creation time but processed by a later
// run, which takes two ingests in one millisecond, waits for the next version.) A cached answer is stale once the loop
// has moved on, unless the version has reached to + MAX_PAST_MS: no batch
// created after that can hold an event of the range, so the answer is final.
import { getConvexSize, v, type Value } from "convex/values";
import { streamQuery } from "convex-helpers/server/pagination";
import { internalMutation, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import schema from "./schema.js";
import { sha256Hex, type AnalyticsEvent } from "../shared.js";
import { SiteCursor } from "./cursor.js";
import { MAX_FUTURE_MS, MAX_PAST_MS } from "./events.js";
import { addVisitors, funnelRecord, type FunnelRecord, type FunnelSpec } from "./funnelMath.js";
import { filterRecord, type FilterRecord, type FilterSpec } from "./filterMath.js";
import { addFilterVisitors, decodeFilterResult, encodeFilterResult } from "./filterReduce.js";
import { hashVisitor } from "./sketch.js";
import { DAY, MINUTE } from "./time.js";

/** Visitor partitions: a reduce step holds one partition's records. */
export const SCAN_PARTITIONS = 16;
/** Bytes of batches one collect step reads (a batch is at most about 100 KiB). */
export const SCAN_PAGE_READ_BYTES = 1024 * 1024;
export const SCAN_PAGE_READ_DOCUMENTS = 1_000;
/** Characters of records one part may reach before the collect step stops: at most 3 bytes each, so a part stays under 512 KiB. */
export const SCAN_PART_CHARS = 160 * 1024;
/** Bytes of parts one reduce step may read: one partition's records. */
export const SCAN_REDUCE_READ_BYTES = 4 * 1024 * 1024;
/** A step chain silent for this long has died: the kick cron (or the next start) resumes it. */
export const SCAN_LEASE_MS = MINUTE;
/** A scan row lives this long after it was last started, then retention deletes it. */
export const SCAN_TTL_MS = 7 * DAY;
/** Restarts in a row without a step going through before the scan stops with an error. */
export const MAX_SCAN_RESTARTS = 5;
/** Ingest's clock and a batch's creation time may differ by a little: read a minute more at each end. */
const CLOCK_SLACK_MS = MINUTE;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What one kind of scan computes: a record per event, folded a visitor partition at a time. */
interface ScanKind {
  /** The events (by occurredAt) that get a record: the range, or more for a kind that needs context. */
  reads: { from: number; to: number };
  /** The record an event of the range contributes, or null when it cannot matter. */
  record(event: AnalyticsEvent): Json | null;
  /** The answer so far with one more partition's visitors (each visitor's records, any order) in it. */
  reduce(result: string, visitors: Map<string, Json[]>): string;
}

function kindOf(scan: Doc<"scans">): ScanKind {
  if (scan.kind === "filter") {
    const spec = JSON.parse(scan.spec) as FilterSpec;
    return {
      // Events around the range too: they rebuild the range's sessions (filterMath.ts contextMsOf).
      reads: { from: scan.from - spec.contextMs, to: scan.to + spec.contextMs },
      record: (event) => filterRecord(spec, event),
      reduce: (result, visitors) =>
        encodeFilterResult(
          addFilterVisitors(
            spec,
            scan,
            decodeFilterResult(result),
            visitors.values() as Iterable<FilterRecord[]>,
          ),
        ),
    };
  }
  const spec = JSON.parse(scan.spec) as FunnelSpec;
  return {
    reads: { from: scan.from, to: scan.to },
    record: (event) => funnelRecord(spec, event),
    reduce: (result, visitors) =>
      JSON.stringify(
        addVisitors(
          spec,
          JSON.parse(result) as number[],
          visitors.values() as Iterable<FunnelRecord[]>,
        ),
      ),
  };
}

/** The earliest batch creation time a scan's collect phase reads. */
const batchesFromOf = (scan: Pick<Doc<"scans">, "kind" | "spec" | "from" | "to">) =>
  kindOf(scan as Doc<"scans">).reads.from - MAX_FUTURE_MS - CLOCK_SLACK_MS;

/**
 * For retention: the earliest batch creation time a scan of the site still
 * collecting will read, or null when none is collecting. Raw batches from there
 * on are kept, so a scan near the raw-retention edge never loses events it has
 * not read yet. One index entry (collecting scans are ordered by it).
 */
export async function rawHeldFrom(
  ctx: Pick<QueryCtx, "db">,
  siteId: Id<"sites">,
): Promise<number | null> {
  const earliest = await ctx.db
    .query("scans")
    .withIndex("by_site_collecting", (q) =>
      // Any number: scans started before batchesFrom was recorded (absent, sorted first) hold nothing.
      q.eq("siteId", siteId).eq("phase", "collect").gte("batchesFrom", -Number.MAX_VALUE),
    )
    .first();
  return earliest?.batchesFrom ?? null;
}

/** The site's cursor position, read at most once however many scans one report looks at. */
export function processedBeforeOf(
  ctx: Pick<QueryCtx, "db">,
  siteId: Id<"sites">,
): () => Promise<number> {
  let loaded: Promise<number> | undefined;
  return () => (loaded ??= SiteCursor.load(ctx, siteId).then((c) => c.processedBefore));
}

/** The batches created up to this are the scan's raw events (see the header). */
export async function dataVersion(
  ctx: Pick<QueryCtx, "db">,
  siteId: Id<"sites">,
  to: number,
  processedBefore = processedBeforeOf(ctx, siteId),
): Promise<number> {
  return Math.max(0, Math.min(await processedBefore(), to + MAX_PAST_MS + CLOCK_SLACK_MS));
}

export async function scanKey(kind: Doc<"scans">["kind"], spec: string, from: number, to: number) {
  return await sha256Hex(JSON.stringify([kind, spec, from, to]));
}

/**
 * The scan of `key` to show, and whether the site has moved past it: the newest,
 * unless it is still running and an older one is done (a complete, stale answer
 * reads better than a partial fresh one while the new scan catches up).
 */
export async function latestScan(
  ctx: QueryCtx,
  siteId: Id<"sites">,
  key: string,
  /** The latest occurredAt the scan reads: its range's end, or later for a kind that reads past it. */
  to: number,
  /** The site's cursor position (processedBeforeOf), shared by the scans of one report. */
  processedBefore = processedBeforeOf(ctx, siteId),
) {
  const [newest, older] = await ctx.db
    .query("scans")
    .withIndex("by_key", (q) => q.eq("siteId", siteId).eq("key", key))
    .order("desc")
    .take(2);
  const scan =
    newest && newest.phase !== "done" && older?.phase === "done" && older.error === undefined
      ? older
      : (newest ?? null);
  const stale =
    scan === null || scan.version < (await dataVersion(ctx, siteId, to, processedBefore));
  return { scan, stale };
}

/**
 * The scan of (site, spec, range) at the current data version: the existing one
 * (resumed if its chain died), or a new one whose first step is scheduled.
 */
export async function startScan(
  ctx: MutationCtx,
  args: {
    siteId: Id<"sites">;
    kind: Doc<"scans">["kind"];
    spec: string;
    from: number;
    to: number;
    emptyResult: string;
    /** The latest occurredAt the scan reads, when after `to` (latestScan's `to`). */
    readsTo?: number;
  },
  /** The site's cursor position (processedBeforeOf), shared by the scans one call starts. */
  processedBefore = processedBeforeOf(ctx, args.siteId),
): Promise<Id<"scans">> {
  const { siteId, kind, spec, from, to } = args;
  const key = await scanKey(kind, spec, from, to);
  const version = await dataVersion(ctx, siteId, args.readsTo ?? to, processedBefore);
  const now = Date.now();
  const existing = await ctx.db
    .query("scans")
    .withIndex("by_key", (q) => q.eq("siteId", siteId).eq("key", key).eq("version", version))
    .first();
  if (existing) {
    if (existing.phase !== "done" && existing.leaseUntil < now) await resume(ctx, existing, now);
    // Viewed again: keep it a while longer (patched only when half its time is gone).
    if (existing.expiresAt - now < SCAN_TTL_MS / 2)
      await ctx.db.patch("scans", existing._id, { expiresAt: now + SCAN_TTL_MS });
    return existing._id;
  }
  const scanId = await ctx.db.insert("scans", {
    siteId,
    key,
    version,
    kind,
    spec,
    from,
    to,
    phase: "collect",
    partition: 0,
    scannedEvents: 0,
    result: args.emptyResult,
    leaseUntil: now + SCAN_LEASE_MS,
    expiresAt: now + SCAN_TTL_MS,
    batchesFrom: batchesFromOf({ kind, spec, from, to }),
  });
  await ctx.scheduler.runAfter(0, internal.scans.scanStep, { scanId });
  return scanId;
}

/** Restarts a scan whose step chain died, or stops it with the reason once restarts run out. */
async function resume(ctx: MutationCtx, scan: Doc<"scans">, now: number): Promise<void> {
  const restarts = (scan.restarts ?? 0) + 1;
  if (restarts > MAX_SCAN_RESTARTS) {
    await ctx.db.patch("scans", scan._id, {
      phase: "done",
      error: `The scan stopped after ${MAX_SCAN_RESTARTS} restarts without progress`,
    });
    return;
  }
  await ctx.db.patch("scans", scan._id, { restarts, leaseUntil: now + SCAN_LEASE_MS });
  await ctx.scheduler.runAfter(0, internal.scans.scanStep, { scanId: scan._id });
}

/** For the kick cron: resumes the scans whose step chain died (lease run out), a page per kick. */
export async function resumeStalledScans(ctx: MutationCtx, now: number): Promise<void> {
  for (const phase of ["collect", "reduce"] as const) {
    const stalled = await ctx.db
      .query("scans")
      .withIndex("by_phase_lease", (q) => q.eq("phase", phase).lt("leaseUntil", now))
      .take(10);
    for (const scan of stalled) await resume(ctx, scan, now);
  }
}

const partitionOf = (visitorId: string) => hashVisitor(visitorId) % SCAN_PARTITIONS;

/** One page of batches into records; the phase moves to reduce once the range is read. */
async function collect(ctx: MutationCtx, scan: Doc<"scans">, kind: ScanKind): Promise<void> {
  const { siteId, cursor } = scan;
  const stream = streamQuery(ctx, {
    table: "batches",
    index: "by_site",
    schema,
    order: "asc",
    startIndexKey: cursor
      ? [siteId, cursor.creationTime, cursor.id]
      : [siteId, batchesFromOf(scan)],
    startInclusive: cursor === undefined,
    endIndexKey: [siteId, scan.version],
    endInclusive: true,
  });
  // At exactly the version's time, only the batches the loop has passed and not kept for a retry.
  const siteCursor = await SiteCursor.load(ctx, siteId);
  const counted = (batch: Doc<"batches">) =>
    batch._creationTime < scan.version ||
    (siteCursor.isPast(batch) && !siteCursor.retry.some((r) => r.id === batch._id));
  const parts: string[][] = Array.from({ length: SCAN_PARTITIONS }, () => []);
  const chars = new Array<number>(SCAN_PARTITIONS).fill(0);
  let bytesRead = 0;
  let documentsRead = 0;
  let scanned = 0;
  let last: Doc<"batches"> | null = null;
  let finished = true;
  for await (const [batch] of stream) {
    last = batch;
    documentsRead++;
    bytesRead += getConvexSize(batch as unknown as Value);
    for (const event of counted(batch) ? batch.events : []) {
      if (event.occurredAt < kind.reads.from || event.occurredAt >= kind.reads.to) continue;
      if (event.occurredAt >= scan.from && event.occurredAt < scan.to) scanned++;
      const record = kind.record(event);
      if (record === null) continue;
      const p = partitionOf(event.visitorId);
      const text = JSON.stringify([event.visitorId, record]);
      parts[p]!.push(text);
      chars[p]! += text.length + 1;
    }
    if (
      bytesRead >= SCAN_PAGE_READ_BYTES ||
      documentsRead >= SCAN_PAGE_READ_DOCUMENTS ||
      chars.some((c) => c >= SCAN_PART_CHARS)
    ) {
      finished = false;
      break;
    }
  }
  for (const [partition, records] of parts.entries())
    if (records.length > 0)
      await ctx.db.insert("scanParts", {
        scanId: scan._id,
        partition,
        records: `[${records.join(",")}]`,
      });
  await ctx.db.patch("scans", scan._id, {
    ...(last ? { cursor: { creationTime: last._creationTime, id: last._id } } : {}),
    scannedEvents: scan.scannedEvents + scanned,
    ...(finished ? { phase: "reduce" as const } : {}),
  });
}

/** One partition's visitors into the answer; the scan is done after the last partition. */
async function reduce(ctx: MutationCtx, scan: Doc<"scans">, kind: ScanKind): Promise<boolean> {
  const parts: Doc<"scanParts">[] = [];
  let bytesRead = 0;
  for await (const part of ctx.db
    .query("scanParts")
    .withIndex("by_partition", (q) => q.eq("scanId", scan._id).eq("partition", scan.partition))) {
    bytesRead += getConvexSize(part as unknown as Value);
    if (bytesRead > SCAN_REDUCE_READ_BYTES) {
      await ctx.db.patch("scans", scan._id, {
        phase: "done",
        error:
          "This range holds too many events for one scan: narrow the range (or a funnel's steps)",
      });
      return false;
    }
    parts.push(part);
  }
  const visitors = new Map<string, Json[]>();
  for (const part of parts) {
    for (const [visitorId, record] of JSON.parse(part.records) as [string, Json][]) {
      const list = visitors.get(visitorId);
      if (list) list.push(record);
      else visitors.set(visitorId, [record]);
    }
    await ctx.db.delete("scanParts", part._id);
  }
  const partition = scan.partition + 1;
  const done = partition === SCAN_PARTITIONS;
  await ctx.db.patch("scans", scan._id, {
    result: kind.reduce(scan.result, visitors),
    partition,
    ...(done ? { phase: "done" as const } : {}),
  });
  if (done) {
    // The older versions of this scan are superseded: a few at a time, as each new one finishes.
    const older = await ctx.db
      .query("scans")
      .withIndex("by_key", (q) =>
        q.eq("siteId", scan.siteId).eq("key", scan.key).lt("version", scan.version),
      )
      .take(4);
    for (const old of older) await deleteScan(ctx, old);
  }
  return !done;
}

/** Deletes a scan with its parts when they fit one step; false when parts are left for the next. */
async function deleteScan(ctx: MutationCtx, scan: Doc<"scans">): Promise<boolean> {
  const parts = await ctx.db
    .query("scanParts")
    .withIndex("by_partition", (q) => q.eq("scanId", scan._id))
    .take(PRUNE_PARTS);
  for (const part of parts) await ctx.db.delete("scanParts", part._id);
  if (parts.length === PRUNE_PARTS) return false;
  await ctx.db.delete("scans", scan._id);
  return true;
}

/** Parts deleted per scan per step: each is under 512 KiB, so a step stays within its budget. */
const PRUNE_PARTS = 4;

/** One step of a scan, and the next scheduled while work is left. */
export async function scanStepHandler(
  ctx: MutationCtx,
  { scanId }: { scanId: Id<"scans"> },
): Promise<null> {
  const scan = await ctx.db.get("scans", scanId);
  if (!scan || scan.phase === "done") return null;
  const kind = kindOf(scan);
  const more =
    scan.phase === "collect"
      ? (await collect(ctx, scan, kind), true)
      : await reduce(ctx, scan, kind);
  if (!more) return null;
  // A step went through: the restarts so far were not for want of progress.
  await ctx.db.patch("scans", scanId, {
    leaseUntil: Date.now() + SCAN_LEASE_MS,
    restarts: undefined,
  });
  await ctx.scheduler.runAfter(0, internal.scans.scanStep, { scanId });
  return null;
}

export const scanStep = internalMutation({
  args: { scanId: v.id("scans") },
  returns: v.null(),
  handler: scanStepHandler,
});

/** For retention: deletes expired scans and their parts, a page per step. */
export const pruneScans = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const expired = await ctx.db
      .query("scans")
      .withIndex("by_expiry", (q) => q.lt("expiresAt", Date.now()))
      .take(8);
    let more = expired.length === 8;
    for (const scan of expired) if (!(await deleteScan(ctx, scan))) more = true;
    if (more) await ctx.scheduler.runAfter(0, internal.scans.pruneScans, {});
    return null;
  },
});
