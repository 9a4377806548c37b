// Maintenance run by the host's crons (registerMaintenanceCrons): restart
// worker loops and compaction after a crash or a lost schedule, and apply
// retention. Every loop over a growing table takes a page and reschedules itself.
import { v } from "convex/values";
import { internalMutation, mutation, type MutationCtx } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { COMPACTION_LEASE_MS } from "./compaction.js";
import { SiteCursor, hasWaitingBatch } from "./cursor.js";
import { resumeStalledDeletions } from "./deletions.js";
import { resumeStalledExports } from "./exports.js";
import { takePrunable } from "./budget.js";
import { pruneSalts } from "./salts.js";
import { liveSite } from "./sites.js";
import { resumeStalledScans } from "./scans.js";
import { DAY, HOUR, MINUTE_RETENTION_MS, utcDay } from "./time.js";

const PAGE = 200;
export const DEFAULT_RAW_RETENTION_DAYS = 90;
export const DEFAULT_BOT_COUNT_RETENTION_DAYS = 30;
export const DEFAULT_DEAD_LETTER_RETENTION_DAYS = 30;
/** A batch this old after its site's cursor means the loop died (a scheduled run that failed); kick restarts it. */
export const STALLED_BATCH_MS = 2 * 60_000;

/**
 * Restarts the loop of every site with a batch past its cursor (queued or
 * waiting for a retry) for over STALLED_BATCH_MS (a second loop for a site is
 * harmless: both drain and go idle), and starts compaction when a closed hour
 * waits and no live run holds the lock.
 */
export const kick = mutation({
  args: {},
  returns: v.object({ sites: v.number(), compaction: v.boolean() }),
  handler: async (ctx) => {
    const sites = await restartStalledLoops(ctx, null);
    // Export steps that died are started again (or fail visibly once out of attempts).
    await resumeStalledExports(ctx, Date.now());
    // Deletion jobs whose pass failed are started again (or fail visibly once out of restarts).
    await resumeStalledDeletions(ctx, Date.now());
    await resumeStalledScans(ctx, Date.now());
    return { sites, compaction: await kickCompaction(ctx, Date.now()) };
  },
});

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
  handler: async (ctx, { cursor }) => {
    await restartStalledLoops(ctx, cursor);
    return null;
  },
});

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
 * Deletes minute rollups past realtime's window; raw batches, sessions, bot counts and dead
 * letters past each site's retention; and old salts.
 */
export const applyRetention = mutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
    await pruneSalts(ctx);
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneSites, {});
    await ctx.scheduler.runAfter(0, internal.scans.pruneScans, {});
    return null;
  },
});

/** Schedules raw pruning for every site, a page of sites at a time. */
export const pruneSites = internalMutation({
  args: { cursor: v.optional(v.string()) },
  returns: v.null(),
  handler: async (ctx, { cursor }) => {
    const page = await ctx.db.query("sites").paginate({ cursor: cursor ?? null, numItems: PAGE });
    for (const site of page.page) {
      // deleteSite's passes remove everything of a site being deleted.
      if (!liveSite(site)) continue;
      const { settings } = site;
      const days = settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS;
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, {
        siteId: site._id,
        before: Date.now() - days * DAY,
        botCountsBefore: utcDay(
          Date.now() - (settings.botCountRetentionDays ?? DEFAULT_BOT_COUNT_RETENTION_DAYS) * DAY,
        ),
        deadLettersBefore:
          Date.now() -
          (settings.deadLetterRetentionDays ?? DEFAULT_DEAD_LETTER_RETENTION_DAYS) * DAY,
      });
    }
    if (!page.isDone)
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneSites, {
        cursor: page.continueCursor,
      });
    return null;
  },
});

export const pruneMinutes = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    // A minute document holds an hour's minutes: it goes once the whole hour is past the window.
    const before = Date.now() - MINUTE_RETENTION_MS - HOUR;
    const old = await ctx.db
      .query("rollupDeltas")
      .withIndex("by_age", (q) => q.eq("interval", "minute").lt("bucketStart", before))
      .take(PAGE);
    for (const doc of old) await ctx.db.delete("rollupDeltas", doc._id);
    if (old.length === PAGE) await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
    return null;
  },
});

export const pruneRaw = internalMutation({
  args: {
    siteId: v.id("sites"),
    before: v.number(),
    /** Bot counts of UTC days before this one go. */
    botCountsBefore: v.optional(v.string()),
    /** Dead letters created before this go. */
    deadLettersBefore: v.optional(v.number()),
  },
  returns: v.null(),
  handler: async (ctx, { siteId, before, botCountsBefore, deadLettersBefore }) => {
    // Never past the cursor: a batch the loop has not counted yet is not raw events to expire.
    const end = Math.min(before, (await SiteCursor.load(ctx, siteId)).processedBefore);
    const batches = () =>
      ctx.db
        .query("batches")
        .withIndex("by_site", (q) => q.eq("siteId", siteId).lt("_creationTime", end));
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
    for (const doc of await takePrunable(ctx, botCounts()))
      await ctx.db.delete("botCounts", doc._id);
    for (const doc of await takePrunable(ctx, deadLetters()))
      await ctx.db.delete("deadLetters", doc._id);
    // A step that stopped early (a full page or its byte budget) leaves more: the next one takes it.
    const more =
      (await batches().first()) ??
      (await sessions().first()) ??
      (await botCounts().first()) ??
      (await deadLetters().first());
    if (more) {
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, {
        siteId,
        before,
        ...(botCountsBefore !== undefined ? { botCountsBefore } : {}),
        ...(deadLettersBefore !== undefined ? { deadLettersBefore } : {}),
      });
    }
    return null;
  },
});
