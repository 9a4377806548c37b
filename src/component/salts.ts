// Daily cookieless salts. Only today's and yesterday's exist: once a salt is
// deleted, the visitor ids made with it can never be recomputed.
import type { MutationCtx } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import { DAY, utcDay } from "./time.js";

export async function todaysSalt(ctx: MutationCtx, day: string): Promise<string> {
  const existing = await ctx.db
    .query("salts")
    .withIndex("by_day", (q) => q.eq("day", day))
    .first();
  if (existing) return existing.salt;
  // The first request of the day creates it; concurrent creators conflict and retry into the read above.
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const salt = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  await ctx.db.insert("salts", { day, salt });
  return salt;
}

/**
 * Keeps only today's and yesterday's salts. Rate-limit buckets created before
 * yesterday are keyed by a past day, so no request reads them again: they are
 * deleted too.
 */
export async function pruneSalts(ctx: MutationCtx): Promise<void> {
  const yesterday = utcDay(Date.now() - DAY);
  for (const old of await ctx.db
    .query("salts")
    .withIndex("by_day", (q) => q.lt("day", yesterday))
    .take(100)) {
    await ctx.db.delete("salts", old._id);
  }
  // clearAll deletes a page and reschedules itself for the rest.
  await ctx.runMutation(components.rateLimiter.lib.clearAll, {
    before: Date.parse(`${yesterday}T00:00:00Z`) - 1,
  });
}
