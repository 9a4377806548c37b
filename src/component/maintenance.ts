// Maintenance run by the host's crons (registerMaintenanceCrons): keep workers
// and compaction moving after a crash or a quiet period, and apply retention.
// Every loop over a growing table takes a page and reschedules itself.
import { v } from "convex/values";
import { internalMutation, mutation } from "./_generated/server.js";
import { internal } from "./_generated/api.js";
import { SHARD_COUNT } from "./ingest.js";
import { pruneSalts } from "./admission.js";
import { DAY, HOUR, MINUTE_RETENTION_MS } from "./time.js";

const PAGE = 200;
export const DEFAULT_RAW_RETENTION_DAYS = 90;

/** Schedules a worker for every shard with pending batches, and compaction if a shard was left behind. */
export const kick = mutation({
  args: {},
  returns: v.object({ shards: v.number() }),
  handler: async (ctx) => {
    let shards = 0;
    for (let shard = 0; shard < SHARD_COUNT; shard++) {
      const pending = await ctx.db
        .query("pendingBatches")
        .withIndex("by_shard", (q) => q.eq("shard", shard))
        .first();
      if (pending) {
        await ctx.scheduler.runAfter(0, internal.worker.drainShard, { shard });
        shards++;
      }
    }
    // Compaction is triggered by the worker when an hour opens; this is only the
    // safety net for a lost trigger. Compacting every minute would rewrite the
    // open hour's, day's and month's pages each time (the bench measured 23
    // writes per event at low traffic), so only shards over an hour old count.
    const oldest = await ctx.db.query("rollupShards").order("asc").first();
    if (oldest && oldest._creationTime < Date.now() - HOUR) await ctx.scheduler.runAfter(0, internal.compaction.compact, {});
    return { shards };
  },
});

/** Deletes minute rollups past realtime's window, raw batches and sessions past each site's retention, and old salts. */
export const applyRetention = mutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
    await pruneSalts(ctx);
    for (const site of await ctx.db.query("sites").take(500)) {
      const days = site.settings.rawRetentionDays ?? DEFAULT_RAW_RETENTION_DAYS;
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, { siteId: site._id, before: Date.now() - days * DAY });
    }
    return null;
  },
});

export const pruneMinutes = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const before = Date.now() - MINUTE_RETENTION_MS;
    // Minute rows are keyed by site first; walk the sites, a page at a time each.
    let more = false;
    for (const site of await ctx.db.query("sites").take(500)) {
      const old = await ctx.db
        .query("rollups")
        .withIndex("by_bucket", (q) => q.eq("siteId", site._id).eq("interval", "minute").lt("bucketStart", before))
        .take(PAGE);
      for (const row of old) await ctx.db.delete("rollups", row._id);
      more ||= old.length === PAGE;
    }
    if (more) await ctx.scheduler.runAfter(0, internal.maintenance.pruneMinutes, {});
    return null;
  },
});

export const pruneRaw = internalMutation({
  args: { siteId: v.id("sites"), before: v.number() },
  returns: v.null(),
  handler: async (ctx, { siteId, before }) => {
    const old = await ctx.db
      .query("rawBatches")
      .withIndex("by_site_received", (q) => q.eq("siteId", siteId).lt("receivedAt", before))
      .take(PAGE);
    for (const doc of old) await ctx.db.delete("rawBatches", doc._id);
    const sessions = await ctx.db
      .query("sessions")
      .withIndex("by_site_lastSeen", (q) => q.eq("siteId", siteId).lt("lastSeenAt", before))
      .take(PAGE);
    for (const doc of sessions) await ctx.db.delete("sessions", doc._id);
    if (old.length === PAGE || sessions.length === PAGE) {
      await ctx.scheduler.runAfter(0, internal.maintenance.pruneRaw, { siteId, before });
    }
    return null;
  },
});
