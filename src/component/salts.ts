// Daily cookieless salts, by date. Only the dates some zone is in now (and the
// day before) exist: once a salt is deleted, the visitor ids made with it can
// never be recomputed.
//
// A cookieless id is salted with the salt of the local date (in the site's
// zone) its event occurred on, so it never outlives that local day: over several
// days, cookieless visitors add up, and reports need no sketch union across days
// for them (rows.ts, rangeRows.ts). An event too old for its date's salt gets a
// late id ("l_", today's salt), which counts as a persistent id: still exact,
// only without that saving.
import type { MutationCtx } from "./_generated/server.js";
import type { Id } from "./_generated/dataModel.js";
import { components } from "./_generated/api.js";
import { sha256Hex } from "../shared.js";
import { DAY, utcDay } from "./time.js";

/** Whether `visitorId` is a cookieless id salted for one local day (not a client's, host's or late id). */
export function isDailyVisitorId(visitorId: string): boolean {
  return /^c_[0-9a-f]{32}$/.test(visitorId);
}

/** The cookieless id of one client (IP and user agent) on one site, under one salt. */
export async function cookielessId(
  prefix: "c_" | "l_",
  salt: string,
  siteId: Id<"sites">,
  ip: string | null | undefined,
  userAgent: string | null | undefined,
): Promise<string> {
  return `${prefix}${(await sha256Hex(`${salt}|${siteId}|${ip ?? ""}|${userAgent ?? ""}`)).slice(0, 32)}`;
}

/**
 * The salt of `day` (a local or UTC date), created on first use, or null for a
 * date older than pruneSalts keeps: recreating it would give a second salt, so
 * a second id, to people already counted that day.
 */
export async function saltOf(ctx: MutationCtx, day: string): Promise<string | null> {
  if (day < oldestKeptDay()) return null;
  return await todaysSalt(ctx, day);
}

const oldestKeptDay = () => utcDay(Date.now() - DAY);

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
  // Every zone's local date is at least yesterday's UTC date.
  const yesterday = oldestKeptDay();
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
