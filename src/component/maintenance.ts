// Maintenance run by the host's crons (registerMaintenanceCrons): restart
// worker loops and compaction after a crash or a lost schedule, and apply
// retention (how long each kind of data is kept: retention.ts). Every loop over
// a growing table takes a page and reschedules itself.
import { v, type Infer, type ObjectType } from "convex/values";
import { internalMutation, mutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { DIMENSIONS } from "../shared.js";
import { COMPACTION_LEASE_MS } from "./compaction.js";
import { SiteCursor, hasWaitingBatch } from "./cursor.js";
import { resumeStalledDeletions } from "./deletions.js";
import { resumeStalledExports } from "./exports.js";
import { PRUNE_PAGE, PRUNE_READ_BYTES, takePrunable } from "./budget.js";
import {
  DEFAULT_BOT_COUNT_RETENTION_DAYS,
  DEFAULT_DEAD_LETTER_RETENTION_DAYS,
  DEFAULT_RAW_RETENTION_DAYS,
  ROLLUP_LEVELS,
  rollupCutoffs,
} from "./retention.js";
import { pruneSalts } from "./salts.js";
import { liveSite } from "./sites.js";
import { liveOwner, type RollupOwner } from "./generations.js";
import { rawHeldFrom, resumeStalledScans } from "./scans.js";
import { resumeStalledRebuilds } from "./rebuilds.js";
import { resumeStalledGoalBackfills } from "./goalBackfills.js";
import { DAY, HOUR, MINUTE_RETENTION_MS, utcDay } from "./time.js";
import { deleteHourTotals } from "./totals.js";

const PAGE = 200;
/** A batch this old after its site's cursor means the loop died (a scheduled run that failed); kick restarts it. */
export const STALLED_BATCH_MS = 2 * 60_000;

/**
 * Restarts the loop of every site with a batch past its cursor (queued or
 * waiting for a retry) for over STALLED_BATCH_MS (a second loop for a site is
 * harmless: both drain and go idle), resumes the export, deletion, scan, goal backfill and
 * rebuild jobs whose step chain died, and starts compaction when a closed hour
 * waits and no live run holds the lock.
 */
export const kick = mutation({
  args: {},
  returns: v.object({ sites: v.number(), compaction: v.boolean() }),
  handler: (ctx) => kickHandler(ctx),
});

export async function kickHandler(
  ctx: MutationCtx,
): Promise<{ sites: number; compaction: boolean }> {
  const sites = await restartStalledLoops(ctx, null);
  // Export steps that died are started again (or fail visibly once out of attempts).
  await resumeStalledExports(ctx, Date.now());
  // Deletion jobs whose pass failed are started again (or fail visibly once out of restarts).
  await resumeStalledDeletions(ctx, Date.now());
  await resumeStalledScans(ctx, Date.now());
  // Rebuilds whose step chain died (a step that never scheduled the next) go on where they were.
  await resumeStalledRebuilds(ctx, Date.now());
  // Goal backfills whose chain died (a step that threw) go on from their last committed step.
  await resumeStalledGoalBackfills(ctx, Date.now());
  return { sites, compaction: await kickCompaction(ctx, Date.now()) };
}

/** One page of sites; the next page is a scheduled run of its own. */
async function restartStalledLoops(ctx: MutationCtx, cursor: string | null): Promise<number> {
  const now = Date.now();
  const page = await ctx.db.query("sites").paginate({ cursor, numItems: PAGE });
  let restarted = 0;
  for (const site of page.page) {
    if (!liveSite(site)) continue;
    if (!(await hasWaitingBatch(ctx, site._id, now - STALLED_BATCH_MS))) continue;
    await ctx.scheduler.runAfter(0, internal.worker.drainSite, { siteId: site._id });
    restarted++;
  }
  if (!page.isDone)
    await ctx.scheduler.runAfter(0, internal.maintenance.kickSites, {
      cursor: page.continueCursor,
    });
  return restarted;
}

export const kickSites = internalMutation({
  args: { cursor: v.string() },
  returns: v.null(),
  handler: (ctx, args) => kickSitesHandler(ctx, args),
});

export async function kickSitesHandler(
  ctx: MutationCtx,
  { cursor }: { cursor: string },
): Promise<null> {
  await restartStalledLoops(ctx, cursor);
  return null;
}

async function kickCompaction(ctx: MutationCtx, now: number): Promise<boolean> {
  const lock = await ctx.db.query("compactionLock").first();
  if (lock && lock.heartbeatAt > now - COMPACTION_LEASE_MS) return false;
  const closed = await ctx.db
    .query("rollupDeltas")
    .withIndex("by_age", (q) => q.eq("interval", "hour").lt("bucketStart", now - HOUR))
    .first();
  const staged = closed ?? (await ctx.db.query("rollupStaging").withIndex("by_age").first());
  if (!staged) return false;
  await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
  return true;
}

/**
 * Deletes minute rollups past realtime's window; raw batches, sessions, bot counts, dead
 * letters and hour, day and month rollups past each site's retention; old salts; and
 * export files no export keeps (a step that died between storing and recording).
 */
export const applyRetention = mutation({
  args: {},
  returns: v.null(),
  handler: (ctx) => applyRetentionHandler(ctx),
});

export async function applyRetentionHandler(ctx: MutationCtx): Promise<null> {
  await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
  await pruneSalts(ctx);
  await ctx.scheduler.runAfter(0, internal.maintenance.pruneSites, {});
  await ctx.scheduler.runAfter(0, internal.scans.pruneScans, {});
  await ctx.scheduler.runAfter(0, internal.exports.sweepOrphanFiles, {});
  return null;
}

const vRollupCutoffs = v.object({
  hour: v.optional(v.number()),
  day: v.optional(v.number()),
  month: v.optional(v.number()),
});
type RollupCutoffs = Infer<typeof vRollupCutoffs>;

/**
 * Schedules each site's pruning, a page of sites at a time: its raw data always (one
 * run finds nothing to do cheaply), its rollups only when a level holds a bucket past
 * its cutoff (the total row is deleted last of a bucket's, so it is the marker).
 */
export const pruneSites = internalMutation({
  args: { cursor: v.optional(v.string()) },
  returns: v.null(),
  handler: (ctx, args) => pruneSitesHandler(ctx, args),
});

export async function pruneSitesHandler(
  ctx: MutationCtx,
  { cursor }: { cursor?: string },
): Promise<null> {
  const now = Date.now();
  const page = await ctx.db.query("sites").paginate({ cursor: cursor ?? null, numItems: PAGE });
  for (const site of page.page) {
    // deleteSite's passes remove everything of a site being deleted.
    if (!liveSite(site)) continue;
    const { settings } = site;
    const days = settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS;
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, {
      siteId: site._id,
      before: now - days * DAY,
      botCountsBefore: utcDay(
        now - (settings.botCountRetentionDays ?? DEFAULT_BOT_COUNT_RETENTION_DAYS) * DAY,
      ),
      deadLettersBefore:
        now - (settings.deadLetterRetentionDays ?? DEFAULT_DEAD_LETTER_RETENTION_DAYS) * DAY,
    });
    const cutoffs = rollupCutoffs(settings, site.timezone, now);
    if (await hasExpiredRollups(ctx, liveOwner(site), cutoffs))
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneRollups, {
        siteId: site._id,
        cutoffs,
      });
  }
  if (!page.isDone)
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneSites, {
      cursor: page.continueCursor,
    });
  return null;
}

export const pruneMinutes = internalMutation({
  args: {},
  returns: v.null(),
  handler: (ctx) => pruneMinutesHandler(ctx),
});

export async function pruneMinutesHandler(ctx: MutationCtx): Promise<null> {
  // A minute document holds an hour's minutes: it goes once the whole hour is past the window.
  const before = Date.now() - MINUTE_RETENTION_MS - HOUR;
  const old = await ctx.db
    .query("rollupDeltas")
    .withIndex("by_age", (q) => q.eq("interval", "minute").lt("bucketStart", before))
    .take(PAGE);
  for (const doc of old) await ctx.db.delete("rollupDeltas", doc._id);
  if (old.length === PAGE) await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
  return null;
}

/**
 * Whether this step has room for another rollup page: PRUNE_PAGE of them, and half of
 * PRUNE_READ_BYTES read, since deleting a page reads it again (as takePrunable's callers).
 */
async function roomFor(ctx: MutationCtx, taken: number): Promise<boolean> {
  if (taken >= PRUNE_PAGE) return false;
  const { bytesRead } = await ctx.meta.getTransactionMetrics();
  return bytesRead.used <= PRUNE_READ_BYTES / 2;
}

/**
 * The batches of a site its loop has processed (never one it has not counted,
 * nor one waiting for a retry) created before `before`, oldest first. The
 * cursor's own batches (created at exactly its time) are included: the cursor
 * keeps their ids, not the documents, so deleting them moves nothing.
 */
async function* processedBatches(
  ctx: MutationCtx,
  siteId: Id<"sites">,
  before: number,
): AsyncGenerator<Doc<"batches">> {
  const cursor = await SiteCursor.load(ctx, siteId);
  const last = cursor.processedBefore;
  const range = ctx.db
    .query("batches")
    .withIndex("by_site", (q) =>
      last < before
        ? q.eq("siteId", siteId).lte("_creationTime", last)
        : q.eq("siteId", siteId).lt("_creationTime", before),
    );
  for await (const batch of range) if (cursor.hasCounted(batch)) yield batch;
}

const vPruneRawArgs = {
  siteId: v.id("sites"),
  before: v.number(),
  /** Bot counts of UTC days before this one go. */
  botCountsBefore: v.optional(v.string()),
  /** Dead letters created before this go. */
  deadLettersBefore: v.optional(v.number()),
};
export const pruneRaw = internalMutation({
  args: vPruneRawArgs,
  returns: v.null(),
  handler: (ctx, args) => pruneRawHandler(ctx, args),
});

export async function pruneRawHandler(
  ctx: MutationCtx,
  { siteId, before, botCountsBefore, deadLettersBefore }: ObjectType<typeof vPruneRawArgs>,
): Promise<null> {
  // A scan still collecting reads batches in creation order: keep the ones it has yet to read.
  const held = await rawHeldFrom(ctx, siteId);
  const batchesBefore = held === null ? before : Math.min(before, held);
  const batches = () => processedBatches(ctx, siteId, batchesBefore);
  const sessions = () =>
    ctx.db
      .query("sessions")
      .withIndex("by_site_lastSeen", (q) => q.eq("siteId", siteId).lt("lastSeenAt", before));
  const botCounts = () =>
    ctx.db
      .query("botCounts")
      .withIndex("by_site_day", (q) => q.eq("siteId", siteId).lt("day", botCountsBefore ?? ""));
  const deadLetters = () =>
    ctx.db
      .query("deadLetters")
      .withIndex("by_site", (q) =>
        q.eq("siteId", siteId).lt("_creationTime", deadLettersBefore ?? 0),
      );
  for (const doc of await takePrunable(ctx, batches())) await ctx.db.delete("batches", doc._id);
  for (const doc of await takePrunable(ctx, sessions())) await ctx.db.delete("sessions", doc._id);
  for (const doc of await takePrunable(ctx, botCounts())) await ctx.db.delete("botCounts", doc._id);
  for (const doc of await takePrunable(ctx, deadLetters()))
    await ctx.db.delete("deadLetters", doc._id);
  // A step that stopped early (a full page or its byte budget) leaves more: the next one takes it.
  const more =
    !(await batches().next()).done ||
    ((await sessions().first()) ?? (await botCounts().first()) ?? (await deadLetters().first())) !==
      null;
  if (more) {
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, {
      siteId,
      before,
      ...(botCountsBefore !== undefined ? { botCountsBefore } : {}),
      ...(deadLettersBefore !== undefined ? { deadLettersBefore } : {}),
    });
  }
  return null;
}

const PARTS = ["hours", "sketches", "counters"] as const;

/**
 * Where pruneRollups works, in order: every (level, dimension, part) with a cutoff.
 * "total" comes last in each level, so while any page of a bucket past the cutoff
 * is left, its total counter page is too (hasExpiredRollups looks only at that).
 */
function rollupRanges(cutoffs: RollupCutoffs) {
  const dimensions = [...DIMENSIONS.filter((d) => d !== "total"), "total" as const];
  return ROLLUP_LEVELS.flatMap((level) => {
    const before = cutoffs[level];
    if (before === undefined) return [];
    return dimensions.flatMap((dimension) =>
      // A day's hour group (hourGroups.ts) goes before its hours' pages: it never outlives one.
      (level === "hour" ? PARTS : PARTS.slice(1)).map((part) => ({
        level,
        before,
        dimension,
        part,
      })),
    );
  });
}

type RollupRange = ReturnType<typeof rollupRanges>[number];

const expiredPages = (ctx: MutationCtx, owner: RollupOwner, r: RollupRange) =>
  ctx.db
    .query("rollups")
    .withIndex("by_part", (q) =>
      q
        .eq("siteId", owner.siteId)
        .eq("generation", owner.generation)
        .eq("interval", r.level)
        .eq("dimension", r.dimension)
        .eq("part", r.part)
        .lt("bucketStart", r.before),
    );

async function hasExpiredRollups(
  ctx: MutationCtx,
  owner: RollupOwner,
  cutoffs: RollupCutoffs,
): Promise<boolean> {
  for (const level of ROLLUP_LEVELS) {
    const before = cutoffs[level];
    if (before === undefined) continue;
    const marker = { level, before, dimension: "total", part: "counters" } as const;
    if (await expiredPages(ctx, owner, marker).first()) return true;
  }
  return false;
}

/** Moves each level's horizon forward to its cutoff (never back: what is deleted stays deleted). */
async function moveHorizons(ctx: MutationCtx, siteId: Id<"sites">, cutoffs: RollupCutoffs) {
  const doc = await ctx.db
    .query("rollupHorizons")
    .withIndex("by_site", (q) => q.eq("siteId", siteId))
    .unique();
  const moved: RollupCutoffs = {};
  for (const level of ROLLUP_LEVELS) {
    const cutoff = cutoffs[level];
    const horizon = doc?.[level];
    if (cutoff !== undefined && (horizon === undefined || cutoff > horizon)) moved[level] = cutoff;
  }
  if (Object.keys(moved).length === 0) return;
  if (doc) await ctx.db.patch("rollupHorizons", doc._id, moved);
  else await ctx.db.insert("rollupHorizons", { siteId, ...moved });
}

/**
 * Deletes a site's canonical rollup pages of buckets that start before their
 * level's cutoff, and the hourly totals of the hours among them, range by
 * range (rollupRanges) from `range` on, within one step's room; the next step
 * starts where this one stopped. Only compaction writes these tables, and only
 * for hours it is folding now, which are far inside every retention.
 */
/**
 * Hours whose totals one pruneRollups step deletes from the BTree: each hour is
 * five deletes, each reading a path of the tree, and Convex allows 4,096 index
 * ranges per transaction (200 hours, measured by the retention bench, passed it).
 */
const HOUR_TOTALS_PER_STEP = 40;

const vPruneRollupsArgs = {
  siteId: v.id("sites"),
  cutoffs: vRollupCutoffs,
  /** Where in rollupRanges this step starts. */
  range: v.optional(v.number()),
};

export const pruneRollups = internalMutation({
  args: vPruneRollupsArgs,
  returns: v.null(),
  handler: (ctx, args) => pruneRollupsHandler(ctx, args),
});

export async function pruneRollupsHandler(
  ctx: MutationCtx,
  { siteId, cutoffs, range = 0 }: ObjectType<typeof vPruneRollupsArgs>,
): Promise<null> {
  // The live generation's rollups (a rebuild's old one is deleted by the rebuild itself).
  const site = liveSite(await ctx.db.get("sites", siteId));
  if (!site) return null;
  const owner = liveOwner(site);
  // Reports refuse what is about to go before any of it goes (retention.ts).
  if (range === 0) await moveHorizons(ctx, siteId, cutoffs);
  const ranges = rollupRanges(cutoffs);
  let taken = 0;
  for (; range < ranges.length; range++) {
    const r = ranges[range]!;
    const pages: Doc<"rollups">[] = [];
    let exhausted = true;
    const holdsTotals = r.level === "hour" && r.dimension === "total" && r.part === "counters";
    for await (const page of expiredPages(ctx, owner, r)) {
      if (
        (holdsTotals && pages.length >= HOUR_TOTALS_PER_STEP) ||
        !(await roomFor(ctx, taken + pages.length))
      ) {
        exhausted = false;
        break;
      }
      pages.push(page);
    }
    for (const page of pages) {
      // An hour's totals go with its first counter page, the last page of the hour to go.
      if (holdsTotals && page.firstRank === 0) await deleteHourTotals(ctx, owner, page.bucketStart);
      await ctx.db.delete("rollups", page._id);
    }
    taken += pages.length;
    if (!exhausted) break;
  }
  if (range < ranges.length)
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneRollups, {
      siteId,
      cutoffs,
      range,
    });
  return null;
}
