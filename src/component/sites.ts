// Sites and their write keys. Called only through the host's exposeAdminApi
// facade (which runs the host's auth first) and the ingest route.
import { v } from "convex/values";
import { mutation, query, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  sha256Hex,
  vCreatedSite,
  vCreateSiteArgs,
  vDeadLetter,
  vDeadLettersArgs,
  vRotatedKey,
  vSite,
  vSiteIdArgs,
  vSlugArgs,
  vUpdateSiteArgs,
  type Site,
} from "../shared.js";
import { assertTimezone } from "./time.js";
import { assertTrustedProxy } from "./clientAddress.js";
import { normalizeOrigins } from "./origins.js";
import { assertKeptQueryParams } from "./urlPrivacy.js";
import { assertRetentionOrder, assertRetentionRanges } from "./retention.js";

function toSite(doc: Doc<"sites">): Site {
  const {
    writeKeyHash: _hidden,
    deletingSince: _deleting,
    rollupGeneration: _internal,
    ...site
  } = doc;
  return site;
}

/**
 * The site, or null once deleteSite has started on it: from its first pass on, a
 * site being deleted is gone to ingest, the worker, compaction and every reader,
 * so nothing serves or adds to its half-deleted data.
 */
export function liveSite(doc: Doc<"sites"> | null): Doc<"sites"> | null {
  return doc && doc.deletingSince === undefined ? doc : null;
}

function newWriteKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return (
    "pk_" +
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "")
  );
}

function validateSite(fields: {
  slug?: string;
  name?: string;
  allowedOrigins?: string[];
  settings?: Site["settings"];
}) {
  if (fields.slug !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(fields.slug)) {
    throw new Error(`Invalid slug "${fields.slug}": use 1-63 lowercase letters, digits and dashes`);
  }
  if (fields.name !== undefined && (fields.name.length === 0 || fields.name.length > 200))
    throw new Error("name must be 1-200 characters");
  const s = fields.settings ?? {};
  if (
    s.sessionTimeoutMs !== undefined &&
    !(s.sessionTimeoutMs >= 60_000 && s.sessionTimeoutMs <= 24 * 3_600_000)
  ) {
    throw new Error("sessionTimeoutMs must be between 1 minute and 24 hours");
  }
  if (
    s.cardinalityCap !== undefined &&
    !(Number.isInteger(s.cardinalityCap) && s.cardinalityCap >= 10 && s.cardinalityCap <= 10_000)
  ) {
    throw new Error("cardinalityCap must be an integer between 10 and 10,000");
  }
  // The rate limiter can never grant a batch below one a minute (and throws on 0, a 500 for every request).
  for (const name of ["siteBatchesPerMinute", "clientBatchesPerMinute"] as const) {
    const rate = s[name];
    if (rate !== undefined && !(rate >= 1 && rate <= 1_000_000))
      throw new Error(`${name} must be between 1 and 1,000,000`);
  }
  if (s.trustedProxy !== undefined) assertTrustedProxy(s.trustedProxy);
  assertRetentionRanges(s);
  if (s.keptQueryParams !== undefined) assertKeptQueryParams(s.keptQueryParams);
  for (const name of ["botCountRetentionDays", "deadLetterRetentionDays"] as const) {
    const days = s[name];
    if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650))
      throw new Error(`${name} must be a whole number of days between 1 and 3,650`);
  }
  // Raw batches are the dedup record, and batches up to 7 days old are accepted.
  if (
    s.rawRetentionDays !== undefined &&
    !(s.rawRetentionDays >= 8 && s.rawRetentionDays <= 3650)
  ) {
    throw new Error("rawRetentionDays must be between 8 and 3,650");
  }
}

/** Creates a site. Returns its id and the write key, which is shown only this once. */
export const createSite = mutation({
  args: vCreateSiteArgs,
  returns: vCreatedSite,
  handler: async (ctx, args) => {
    validateSite(args);
    assertRetentionOrder(args.settings ?? {});
    const allowedOrigins = normalizeOrigins(args.allowedOrigins ?? []);
    const timezone = args.timezone ?? "UTC";
    assertTimezone(timezone);
    const existing = await ctx.db
      .query("sites")
      .withIndex("by_slug", (q) => q.eq("slug", args.slug))
      .unique();
    if (existing) throw new Error(`A site with slug "${args.slug}" already exists`);
    const writeKey = newWriteKey();
    const siteId = await ctx.db.insert("sites", {
      slug: args.slug,
      name: args.name,
      timezone,
      allowedOrigins,
      enabled: true,
      writeKeyHash: await sha256Hex(writeKey),
      settings: args.settings ?? {},
    });
    return { siteId, writeKey };
  },
});

async function siteOrThrow(ctx: QueryCtx, siteId: string): Promise<Doc<"sites">> {
  const id = ctx.db.normalizeId("sites", siteId);
  const site = id && (await ctx.db.get("sites", id));
  if (!site) throw new Error(`Unknown site "${siteId}"`);
  if (site.deletingSince !== undefined) throw new Error(`Site "${siteId}" is being deleted`);
  return site;
}
export { siteOrThrow };

export const getSite = query({
  args: vSiteIdArgs,
  returns: v.union(vSite, v.null()),
  handler: async (ctx, { siteId }) => {
    const id = ctx.db.normalizeId("sites", siteId);
    const site = liveSite(id && (await ctx.db.get("sites", id)));
    return site ? toSite(site) : null;
  },
});

export const getSiteBySlug = query({
  args: vSlugArgs,
  returns: v.union(vSite, v.null()),
  handler: async (ctx, { slug }) => {
    const site = await ctx.db
      .query("sites")
      .withIndex("by_slug", (q) => q.eq("slug", slug))
      .unique();
    return liveSite(site) ? toSite(site!) : null;
  },
});

/** Sites are few (one per property); the list is capped at 500. */
export const listSites = query({
  args: {},
  returns: v.array(vSite),
  handler: async (ctx) =>
    (await ctx.db.query("sites").take(500)).flatMap((doc) => (liveSite(doc) ? [toSite(doc)] : [])),
});

/**
 * Updates a site. The timezone is not changed here: day and month buckets
 * already written are cut at that zone's midnights, so only rebuildRollups,
 * which recomputes them, changes it.
 */
export const updateSite = mutation({
  args: vUpdateSiteArgs,
  returns: vSite,
  handler: async (ctx, { siteId, ...fields }) => {
    const site = await siteOrThrow(ctx, siteId);
    validateSite(fields);
    const patch: Partial<Doc<"sites">> = {};
    if (fields.name !== undefined) patch.name = fields.name;
    // Stored as browsers send them, so that ingest compares exactly (origins.ts).
    if (fields.allowedOrigins !== undefined)
      patch.allowedOrigins = normalizeOrigins(fields.allowedOrigins);
    if (fields.enabled !== undefined) patch.enabled = fields.enabled;
    if (fields.settings !== undefined) {
      patch.settings = { ...site.settings, ...fields.settings };
      // Each level's retention is checked against the others as they will be stored.
      assertRetentionOrder(patch.settings);
    }
    await ctx.db.patch("sites", site._id, patch);
    return toSite({ ...site, ...patch });
  },
});

/** Replaces the write key. The old one stops working at once; the new one is returned only here. */
export const rotateWriteKey = mutation({
  args: vSiteIdArgs,
  returns: vRotatedKey,
  handler: async (ctx, { siteId }) => {
    const site = await siteOrThrow(ctx, siteId);
    const writeKey = newWriteKey();
    await ctx.db.patch("sites", site._id, { writeKeyHash: await sha256Hex(writeKey) });
    return { writeKey };
  },
});

export const listDeadLetters = query({
  args: vDeadLettersArgs,
  returns: v.array(vDeadLetter),
  handler: async (ctx, { siteId, limit }) => {
    const site = await siteOrThrow(ctx, siteId);
    const rows = await ctx.db
      .query("deadLetters")
      .withIndex("by_batch", (q) => q.eq("siteId", site._id as Id<"sites">))
      .take(Math.min(Math.max(limit ?? 50, 1), 200));
    return rows.map(({ events, ...d }) => ({ ...d, events: events.length }));
  },
});
