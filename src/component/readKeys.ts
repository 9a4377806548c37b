// Read API keys for the stats HTTP API (statsApi.ts). Created, listed and
// revoked through the host's exposeAdminApi facade; kept only as SHA-256 hashes,
// so a leaked database never yields a working key.
import { v } from "convex/values";
import { RateLimiter } from "@convex-dev/rate-limiter";
import { internalMutation, mutation, query } from "./_generated/server.js";
import { components } from "./_generated/api.js";
import type { Doc } from "./_generated/dataModel.js";
import {
  sha256Hex,
  vCreatedReadKey,
  vCreateReadKeyArgs,
  vReadKeyIdArgs,
  vReadKeyInfo,
  vSiteIdArgs,
  type ReadKeyInfo,
} from "../shared.js";
import { siteOrThrow } from "./sites.js";
import { MINUTE } from "./time.js";

/** Keys a site may hold at once: enough for every integration, few enough to list in one read. */
export const MAX_READ_KEYS_PER_SITE = 50;
/** Requests a minute one read key may make before 429 (Plausible allows 600 an hour). */
export const READ_KEY_REQUESTS_PER_MINUTE = 60;

const rateLimiter = new RateLimiter(components.rateLimiter);

function newReadKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return (
    "rk_" +
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "")
  );
}

function toInfo(doc: Doc<"readKeys">): ReadKeyInfo {
  const { keyHash: _hidden, ...info } = doc;
  return info;
}

/** Creates a read key for one site. The key is returned only here; the component keeps its hash. */
export const createReadKey = mutation({
  args: vCreateReadKeyArgs,
  returns: vCreatedReadKey,
  handler: async (ctx, { siteId, name }) => {
    const site = await siteOrThrow(ctx, siteId);
    if (name.length === 0 || name.length > 100) throw new Error("name must be 1-100 characters");
    const existing = await ctx.db
      .query("readKeys")
      .withIndex("by_site", (q) => q.eq("siteId", site._id))
      .take(MAX_READ_KEYS_PER_SITE);
    if (existing.length >= MAX_READ_KEYS_PER_SITE)
      throw new Error(
        `A site holds at most ${MAX_READ_KEYS_PER_SITE} read keys: revoke one before creating another`,
      );
    const readKey = newReadKey();
    const keyId = await ctx.db.insert("readKeys", {
      siteId: site._id,
      name,
      prefix: readKey.slice(0, 7),
      keyHash: await sha256Hex(readKey),
    });
    return { keyId, readKey };
  },
});

export const listReadKeys = query({
  args: vSiteIdArgs,
  returns: v.array(vReadKeyInfo),
  handler: async (ctx, { siteId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const keys = await ctx.db
      .query("readKeys")
      .withIndex("by_site", (q) => q.eq("siteId", site._id))
      .take(MAX_READ_KEYS_PER_SITE);
    return keys.map(toInfo);
  },
});

/**
 * Revokes a key of `siteId` at once: its next request gets 401. Idempotent:
 * false when the site holds no such key (already revoked, or another site's,
 * which is left alone).
 */
export const revokeReadKey = mutation({
  args: vReadKeyIdArgs,
  returns: v.boolean(),
  handler: async (ctx, { siteId, keyId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const id = ctx.db.normalizeId("readKeys", keyId);
    const key = id && (await ctx.db.get("readKeys", id));
    // Checked against the site the host authorised, so one site's admin cannot revoke another's keys.
    if (!key || key.siteId !== site._id) return false;
    await ctx.db.delete("readKeys", key._id);
    return true;
  },
});

export const vReadAdmission = v.union(
  v.object({ status: v.literal("ok"), siteId: v.id("sites") }),
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("wrong_site") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
);

/**
 * Admits one stats or health request: the key by its hash (401), its site
 * against the one asked for, if any (403), then the key's rate limit (429),
 * one bucket per key for both routes. Reads one key, writes only the key's
 * rate-limit bucket. Answers the key's site.
 */
export const admitRead = internalMutation({
  args: { readKey: v.string(), siteId: v.optional(v.string()) },
  returns: vReadAdmission,
  handler: async (ctx, { readKey, siteId }) => {
    const keyHash = await sha256Hex(readKey);
    const key = await ctx.db
      .query("readKeys")
      .withIndex("by_keyHash", (q) => q.eq("keyHash", keyHash))
      .unique();
    if (!key) return { status: "unknown_key" as const };
    if (siteId !== undefined && key.siteId !== siteId) return { status: "wrong_site" as const };
    const limit = await rateLimiter.limit(ctx, "statsApi", {
      key: key._id,
      config: {
        kind: "token bucket",
        rate: READ_KEY_REQUESTS_PER_MINUTE,
        period: MINUTE,
        capacity: READ_KEY_REQUESTS_PER_MINUTE,
      },
    });
    if (!limit.ok)
      return {
        status: "rate_limited" as const,
        retryAfterMs: Math.max(limit.retryAfter ?? 1_000, 1_000),
      };
    return { status: "ok" as const, siteId: key.siteId };
  },
});
