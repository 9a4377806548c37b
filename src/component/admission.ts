// Admission for one ingest request, before ingestBatch: write key -> site,
// origin, bots (counted per site per day, never stored), rate limits (per site
// and per client, @convex-dev/rate-limiter) and today's cookieless salt.
// Kept apart from ingestBatch so that ingestBatch stays append-only and
// conflict-free (DESIGN I2); the rate-limit buckets are sharded for the same reason.
import { v } from "convex/values";
import { RateLimiter } from "@convex-dev/rate-limiter";
import { hashWriteKey } from "../shared.js";
import { mutation, query, type MutationCtx } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import type { Id } from "./_generated/dataModel.js";
import { originAllowed } from "./origins.js";
import { siteOrThrow } from "./sites.js";
import { DAY, MINUTE } from "./time.js";

export const DEFAULT_SITE_BATCHES_PER_MINUTE = 6_000;
export const DEFAULT_CLIENT_BATCHES_PER_MINUTE = 120;
const BOT_COUNT_SHARDS = 8;
const SITE_RATE_SHARDS = 8;

const rateLimiter = new RateLimiter(components.rateLimiter);

/** "YYYY-MM-DD" in UTC: salts and bot counts rotate at UTC midnight. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

async function todaysSalt(ctx: MutationCtx, day: string): Promise<string> {
  const existing = await ctx.db.query("salts").withIndex("by_day", (q) => q.eq("day", day)).first();
  if (existing) return existing.salt;
  // The first request of the day creates it; concurrent creators conflict and retry into the read above.
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const salt = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  await ctx.db.insert("salts", { day, salt });
  return salt;
}

async function countBot(ctx: MutationCtx, siteId: Id<"sites">, day: string): Promise<void> {
  const shard = Math.floor(Math.random() * BOT_COUNT_SHARDS);
  const doc = await ctx.db
    .query("botCounts")
    .withIndex("by_site_day", (q) => q.eq("siteId", siteId).eq("day", day).eq("shard", shard))
    .first();
  if (doc) await ctx.db.patch("botCounts", doc._id, { count: doc.count + 1 });
  else await ctx.db.insert("botCounts", { siteId, day, shard, count: 1 });
}

export const vAdmission = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("origin_not_allowed") }),
  v.object({ status: v.literal("site_disabled") }),
  v.object({ status: v.literal("bot") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("ok"), siteId: v.string(), salt: v.string(), trustClientCountry: v.boolean() }),
);

/**
 * Decides whether a request may ingest. `clientKey` is a hash of the client's
 * IP and user agent (never the IP itself), used only as the rate-limit key.
 */
export const admit = mutation({
  args: { writeKeyHash: v.string(), origin: v.union(v.string(), v.null()), clientKey: v.string(), isBot: v.boolean() },
  returns: vAdmission,
  handler: async (ctx, args) => {
    const site = await ctx.db.query("sites").withIndex("by_writeKeyHash", (q) => q.eq("writeKeyHash", args.writeKeyHash)).unique();
    if (!site) return { status: "unknown_key" as const };
    if (!originAllowed(args.origin, site.allowedOrigins)) return { status: "origin_not_allowed" as const };
    if (!site.enabled) return { status: "site_disabled" as const };
    const now = Date.now();
    if (args.isBot) {
      await countBot(ctx, site._id, utcDay(now));
      return { status: "bot" as const };
    }
    const perSite = site.settings.siteBatchesPerMinute ?? DEFAULT_SITE_BATCHES_PER_MINUTE;
    const perClient = site.settings.clientBatchesPerMinute ?? DEFAULT_CLIENT_BATCHES_PER_MINUTE;
    const day = utcDay(now);
    const salt = await todaysSalt(ctx, day);
    // Buckets are keyed by day so that pruneSalts can delete every older one. The
    // client's key is salted with today's salt: an unsalted hash of IP and user
    // agent could be reversed by trying every IPv4 address.
    const clientKey = (await hashWriteKey(`${salt}|${args.clientKey}`)).slice(0, 32);
    for (const [name, key, rate, shards] of [
      // The rate-limiter needs at least one whole token per shard: small site limits get fewer shards.
      ["site", `${site._id}|${day}`, perSite, Math.min(SITE_RATE_SHARDS, Math.max(1, Math.floor(perSite / 10)))],
      ["client", `${site._id}|${day}|${clientKey}`, perClient, 1],
    ] as const) {
      const status = await rateLimiter.limit(ctx, name, {
        key,
        config: { kind: "token bucket", rate, period: MINUTE, capacity: rate, shards },
      });
      if (!status.ok) return { status: "rate_limited" as const, retryAfterMs: Math.max(status.retryAfter ?? 1_000, 1_000) };
    }
    return {
      status: "ok" as const,
      siteId: site._id,
      salt,
      trustClientCountry: site.settings.trustClientCountry ?? false,
    };
  },
});

/** Bots dropped per UTC day, for the admin API. */
export const getBotCounts = query({
  args: { siteId: v.string(), days: v.number() },
  returns: v.array(v.object({ day: v.string(), bots: v.number() })),
  handler: async (ctx, args) => {
    const { _id: siteId } = await siteOrThrow(ctx, args.siteId);
    const days = args.days;
    const out: { day: string; bots: number }[] = [];
    for (let i = Math.min(Math.max(days, 1), 90) - 1; i >= 0; i--) {
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

/**
 * Keeps only today's and yesterday's salts: older cookieless ids can never be
 * recomputed. Rate-limit buckets created before yesterday are keyed by a past
 * day, so no request reads them again: they are deleted too.
 */
export async function pruneSalts(ctx: MutationCtx): Promise<void> {
  const yesterday = utcDay(Date.now() - DAY);
  for (const old of await ctx.db.query("salts").withIndex("by_day", (q) => q.lt("day", yesterday)).take(100)) {
    await ctx.db.delete("salts", old._id);
  }
  // clearAll deletes a page and reschedules itself for the rest.
  await ctx.runMutation(components.rateLimiter.lib.clearAll, { before: Date.parse(`${yesterday}T00:00:00Z`) - 1 });
}
