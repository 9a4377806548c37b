// A site: its settings, what hosts see of it, and the admin API's site arguments.
import { v, type Infer } from "convex/values";
import { vTrustedProxy } from "./forwardedAddresses.js";

export const vSiteSettings = v.object({
  /** Gap after which a visitor's next event starts a new session. Default 30 minutes. */
  sessionTimeoutMs: v.optional(v.number()),
  /** Keys kept per (bucket, dimension) before the tail folds into "(other)". Default 2,000. */
  cardinalityCap: v.optional(v.number()),
  /** Days raw batches and sessions are kept (at least 8: batches are the dedup record). Default 90. */
  rawRetentionDays: v.optional(v.number()),
  /**
   * Days hourly rollups (and the hourly totals) are kept; older ranges are answered from days
   * and months when they start and end at local midnights. At least 2. Default 90.
   */
  hourlyRollupRetentionDays: v.optional(v.number()),
  /** Days daily rollups are kept, at least the hourly retention. Default: forever. */
  dailyRollupRetentionDays: v.optional(v.number()),
  /** Days monthly rollups are kept, at least the daily retention. Default: forever. */
  monthlyRollupRetentionDays: v.optional(v.number()),
  /** Days each day's bot count is kept. Default 30. */
  botCountRetentionDays: v.optional(v.number()),
  /** Days a dead-lettered batch is kept for admins to retry or discard. Default 30. */
  deadLetterRetentionDays: v.optional(v.number()),
  /** Batches a minute the whole site may send before 429. Default 6,000. */
  siteBatchesPerMinute: v.optional(v.number()),
  /**
   * Batches a minute one client address may send before 429, bots included. Keyed on the
   * address Convex reports (or `trustedProxy`'s), never the user agent. Default 120.
   */
  clientBatchesPerMinute: v.optional(v.number()),
  /** Believe this proxy's forwarding header for the client's address. Default: none is believed. */
  trustedProxy: v.optional(vTrustedProxy),
  /**
   * Query parameters kept in stored page URLs besides utm_*, ref and source (which are always
   * kept); every other parameter is dropped at ingest, and so is a fragment that is not a hash
   * route. Default: none.
   */
  keptQueryParams: v.optional(v.array(v.string())),
  /** Use a country the client sends in events; otherwise only edge headers and the browser timezone count. */
  trustClientCountry: v.optional(v.boolean()),
});
export type SiteSettings = Infer<typeof vSiteSettings>;
/** A site's own fields: the `sites` table adds the write key's hash, which nothing returns. */
export const siteFields = {
  slug: v.string(),
  name: v.string(),
  timezone: v.string(),
  allowedOrigins: v.array(v.string()),
  enabled: v.boolean(),
  settings: vSiteSettings,
};
/** A site as hosts see it: never the write key, never its hash. */
export const vSite = v.object({ _id: v.string(), _creationTime: v.number(), ...siteFields });
export type Site = Infer<typeof vSite>;

export const vCreateSiteArgs = {
  slug: v.string(),
  name: v.string(),
  /** IANA timezone for day and month buckets; fixed once created. Default "UTC". */
  timezone: v.optional(v.string()),
  /** Origins allowed to post events, e.g. "https://example.com" or "https://*.example.com". Empty: any. */
  allowedOrigins: v.optional(v.array(v.string())),
  settings: v.optional(vSiteSettings),
};
export const vUpdateSiteArgs = {
  siteId: v.string(),
  name: v.optional(v.string()),
  allowedOrigins: v.optional(v.array(v.string())),
  enabled: v.optional(v.boolean()),
  settings: v.optional(vSiteSettings),
};

export const vSiteIdArgs = { siteId: v.string() };
export const vSlugArgs = { slug: v.string() };
export const vCreatedSite = v.object({ siteId: v.string(), writeKey: v.string() });
export const vRotatedKey = v.object({ writeKey: v.string() });
