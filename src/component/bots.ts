// Bots dropped at ingest: counted per site per UTC day, never stored.
import { vBotCounts, vBotCountsArgs } from "../shared.js";
import { query, type MutationCtx } from "./_generated/server.js";
import type { Id } from "./_generated/dataModel.js";
import { siteOrThrow } from "./sites.js";
import { DAY, utcDay } from "./time.js";

/** A few shards per (site, day), so that concurrent bot requests rarely conflict. */
const BOT_COUNT_SHARDS = 8;

export async function countBot(ctx: MutationCtx, siteId: Id<"sites">, day: string): Promise<void> {
  const shard = Math.floor(Math.random() * BOT_COUNT_SHARDS);
  const doc = await ctx.db
    .query("botCounts")
    .withIndex("by_site_day", (q) => q.eq("siteId", siteId).eq("day", day).eq("shard", shard))
    .first();
  if (doc) await ctx.db.patch("botCounts", doc._id, { count: doc.count + 1 });
  else await ctx.db.insert("botCounts", { siteId, day, shard, count: 1 });
}

/** Bots dropped per UTC day, for the admin API. */
export const getBotCounts = query({
  args: vBotCountsArgs,
  returns: vBotCounts,
  handler: async (ctx, args) => {
    const { _id: siteId } = await siteOrThrow(ctx, args.siteId);
    const out: { day: string; bots: number }[] = [];
    for (let i = Math.min(Math.max(args.days, 1), 90) - 1; i >= 0; i--) {
      const day = utcDay(Date.now() - i * DAY);
      const shards = await ctx.db
        .query("botCounts")
        .withIndex("by_site_day", (q) => q.eq("siteId", siteId).eq("day", day))
        .take(BOT_COUNT_SHARDS);
      out.push({ day, bots: shards.reduce((sum, s) => sum + s.count, 0) });
    }
    return out;
  },
});
