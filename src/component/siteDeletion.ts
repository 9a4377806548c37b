// Deletion of a whole site (deleteSite, run by deletions.ts): every document of
// it in every table, one table after another. deleteSite marks the site first
// (`deletingSince`, in the same transaction as the first pass), and from then on
// nothing adds to what the phases delete: ingest answers 401 (liveSite), the
// worker no longer drains it, compaction drops its rows instead of folding them,
// and every reader refuses it, so no report serves half-deleted data. Salts are
// global (one a day for every site): nothing of them is the site's.
import { RateLimiter } from "@convex-dev/rate-limiter";
import type { MutationCtx } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import type { Doc, Id, TableNames } from "./_generated/dataModel.js";
import { PRUNE_READ_BYTES, hasRoom, takePrunable } from "./budget.js";
import { count, type Phase } from "./deletions.js";
import { deleteFiles } from "./exports.js";
import { DAY, utcDay } from "./time.js";
import { clearHourTotals } from "./totals.js";
import { liveGeneration } from "./generations.js";

const rateLimiter = new RateLimiter(components.rateLimiter);

/**
 * UTC days whose per-site rate-limit bucket may still exist: today's and
 * yesterday's are live, and retention deletes older buckets hourly (pruneSalts),
 * so the day before is there at most until the next run.
 */
const RATE_LIMIT_DAYS = 3;

/** A phase that deletes every document `docs` finds, a page at a time, `before` running on each first. */
function deleteAll<T extends TableNames>(
  table: T,
  docs: (ctx: MutationCtx, siteId: Id<"sites">) => AsyncIterable<Doc<T>>,
  before?: (ctx: MutationCtx, doc: Doc<T>) => Promise<void>,
): Phase {
  return {
    name: table,
    run: async (ctx, state) => {
      for (;;) {
        const page = await takePrunable(ctx, docs(ctx, state.job.siteId), PRUNE_READ_BYTES / 2);
        for (const doc of page) {
          await before?.(ctx, doc);
          await ctx.db.delete(table, doc._id as Id<T> as never);
        }
        count(state, table, page.length);
        if (page.length === 0) return "complete";
        if (!(await hasRoom(ctx))) return "more";
      }
    },
  };
}

/** Every part of every scan of the site, scan by scan (parts carry their scan, not the site). */
async function* partsOfScans(
  ctx: MutationCtx,
  siteId: Id<"sites">,
): AsyncIterable<Doc<"scanParts">> {
  for await (const scan of ctx.db.query("scans").withIndex("by_key", (q) => q.eq("siteId", siteId)))
    yield* ctx.db.query("scanParts").withIndex("by_partition", (q) => q.eq("scanId", scan._id));
}

/** In this order: what makes the site reachable first, raw data last, the site's own document at the very end. */
export const SITE_PHASES: Phase[] = [
  // The stats API and the health route find a site by its read keys: those go in the first pass.
  deleteAll(
    "readKeys",
    (ctx, siteId) => ctx.db.query("readKeys").withIndex("by_site", (q) => q.eq("siteId", siteId)),
    (ctx, key) => rateLimiter.reset(ctx, "statsApi", { key: key._id }),
  ),
  {
    // Ingest's per-site buckets are keyed by site and UTC day. Its per-client buckets
    // (`${siteId}|${day}|${hash of salt and address}`) cannot be found without the
    // address: the rate limiter resets only by exact key. They hold no personal data
    // (the salt is gone within two days) and retention deletes them with every
    // other bucket older than yesterday.
    name: "rateLimits",
    run: async (ctx, state) => {
      for (let i = 0; i < RATE_LIMIT_DAYS; i++) {
        const key = `${state.job.siteId}|${utcDay(Date.now() - i * DAY)}`;
        await rateLimiter.reset(ctx, "site", { key });
      }
      return "complete";
    },
  },
  // Goals and their backfills before the rollups: a backfill step still scheduled finds the site
  // marked (or no backfill) and writes nothing.
  deleteAll("goalBackfills", (ctx, siteId) =>
    ctx.db.query("goalBackfills").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("goals", (ctx, siteId) =>
    ctx.db.query("goals").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("rollupDeltas", (ctx, siteId) =>
    ctx.db.query("rollupDeltas").withIndex("by_bucket", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("rollupStaging", (ctx, siteId) =>
    ctx.db.query("rollupStaging").withIndex("by_dimension", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("rollups", (ctx, siteId) =>
    ctx.db.query("rollups").withIndex("by_part", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("hourGroupWork", (ctx, siteId) =>
    ctx.db.query("hourGroupWork").withIndex("by_day", (q) => q.eq("siteId", siteId)),
  ),
  {
    // After the deltas and staging: compaction has nothing of the site left to write into it.
    name: "hourlyTotals",
    run: async (ctx, state) => {
      // Every generation the site has had: the live one, the old ones (a rebuild's
      // cleanup may not have finished) and the one a running rebuild writes.
      const site = await ctx.db.get("sites", state.job.siteId);
      const last = (site ? liveGeneration(site) : 0) + 1;
      for (let generation = 0; generation <= last; generation++)
        await clearHourTotals(ctx, { siteId: state.job.siteId, generation });
      return "complete";
    },
  },
  deleteAll("batches", (ctx, siteId) =>
    ctx.db.query("batches").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("deadLetters", (ctx, siteId) =>
    ctx.db.query("deadLetters").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("sessions", (ctx, siteId) =>
    ctx.db.query("sessions").withIndex("by_site_started", (q) => q.eq("siteId", siteId)),
  ),
  // A step still running stores its part and then finds no job: it deletes the part itself.
  deleteAll(
    "exports",
    (ctx, siteId) => ctx.db.query("exports").withIndex("by_site", (q) => q.eq("siteId", siteId)),
    (ctx, job) => deleteFiles(ctx, job.fileId ? [...job.chunks, job.fileId] : job.chunks),
  ),
  // Cached raw-event scans (funnels): their parts first, found through each scan of the site.
  deleteAll("scanParts", (ctx, siteId) => partsOfScans(ctx, siteId)),
  deleteAll("scans", (ctx, siteId) =>
    ctx.db.query("scans").withIndex("by_key", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("botCounts", (ctx, siteId) =>
    ctx.db.query("botCounts").withIndex("by_site_day", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("siteLoops", (ctx, siteId) =>
    ctx.db.query("siteLoops").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("siteCursors", (ctx, siteId) =>
    ctx.db.query("siteCursors").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("rollupHorizons", (ctx, siteId) =>
    ctx.db.query("rollupHorizons").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  deleteAll("rebuilds", (ctx, siteId) =>
    ctx.db.query("rebuilds").withIndex("by_site", (q) => q.eq("siteId", siteId)),
  ),
  // The site's GDPR deletion jobs (running ones stop: their passes find no job).
  deleteAll("deletions", (ctx, siteId) =>
    ctx.db
      .query("deletions")
      .withIndex("by_site", (q) => q.eq("siteId", siteId).eq("kind", "visitor")),
  ),
  {
    name: "sites",
    run: async (ctx, state) => {
      const site = await ctx.db.get("sites", state.job.siteId);
      if (site) {
        await ctx.db.delete("sites", site._id);
        count(state, "sites");
      }
      return "complete";
    },
  },
];
