// Validators and types shared by the component, the host-facing client and React.
// Pure maths (time buckets, range plans, sketches, event normalisation) lives in
// src/component/*.ts beside the code that owns it; this file is only the vocabulary.
import { v, type Infer, type ObjectType } from "convex/values";

/** Every breakdown dimension a rollup row can be keyed by (src/component/README.md). */
export const DIMENSIONS = [
  "total",
  "page",
  "entryPage",
  "exitPage",
  "hostname",
  "referrer",
  "channel",
  "utmSource",
  "utmMedium",
  "utmCampaign",
  "utmContent",
  "utmTerm",
  "country",
  "device",
  "browser",
  "os",
  "screen",
  "event",
  "prop",
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const vDimension = v.union(...DIMENSIONS.map((d) => v.literal(d)));

/** Dimensions fixed when a session starts; every event of the session counts under them. */
export const SESSION_DIMENSIONS = [
  "referrer",
  "channel",
  "utmSource",
  "utmMedium",
  "utmCampaign",
  "utmContent",
  "utmTerm",
  "country",
  "device",
  "browser",
  "os",
  "screen",
] as const satisfies readonly Dimension[];
export type SessionDimension = (typeof SESSION_DIMENSIONS)[number];

export const INTERVALS = ["minute", "hour", "day", "month"] as const;
export type Interval = (typeof INTERVALS)[number];
export const vInterval = v.union(...INTERVALS.map((i) => v.literal(i)));

export const GRANULARITIES = ["minute", "hour", "day", "week", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];
export const vGranularity = v.union(...GRANULARITIES.map((g) => v.literal(g)));

/** The key used when an event has no value for a dimension (no referrer, no UTM, ...). */
export const NONE_KEY = "(none)";
/** The key the cardinality cap folds the long tail into. */
export const OTHER_KEY = "(other)";

export const vEventType = v.union(v.literal("pageview"), v.literal("track"), v.literal("identify"));
export const vProps = v.record(v.string(), v.union(v.string(), v.number(), v.boolean()));

/**
 * An event after normalisation: what ingestBatch accepts and what raw batches hold.
 * `visitorId` is always set by then (by the tracker in persistent mode, by the
 * ingest route in cookieless mode, or by the host in server-side tracking).
 */
export const vEvent = v.object({
  id: v.string(),
  type: vEventType,
  name: v.optional(v.string()),
  occurredAt: v.number(),
  url: v.string(),
  title: v.optional(v.string()),
  referrer: v.optional(v.string()),
  screen: v.optional(v.string()),
  tz: v.optional(v.string()),
  props: v.optional(vProps),
  visitorId: v.string(),
  userId: v.optional(v.string()),
  traits: v.optional(vProps),
  country: v.optional(v.string()),
  device: v.optional(v.string()),
  browser: v.optional(v.string()),
  os: v.optional(v.string()),
});
export type AnalyticsEvent = Infer<typeof vEvent>;

export const vRejection = v.object({ index: v.number(), reason: v.string() });
export type Rejection = Infer<typeof vRejection>;

export const vIngestResult = v.object({
  accepted: v.number(),
  duplicate: v.boolean(),
  rejected: v.array(vRejection),
});
export type IngestResult = Infer<typeof vIngestResult>;

/**
 * Request headers a proxy in front of the deployment may put the client's
 * address in. Only these are ever read, and only for a site whose
 * `trustedProxy` names one (see TrustedProxy).
 */
export const FORWARDED_ADDRESS_HEADERS = [
  "x-forwarded-for",
  "cf-connecting-ip",
  "true-client-ip",
  "x-real-ip",
  "fly-client-ip",
] as const;
export type ForwardedAddressHeader = (typeof FORWARDED_ADDRESS_HEADERS)[number];
export const vForwardedAddressHeader = v.union(
  ...FORWARDED_ADDRESS_HEADERS.map((h) => v.literal(h)),
);
/** The forwarding headers of one request that the ingest route found (FORWARDED_ADDRESS_HEADERS). */
export const vForwardedAddresses = v.array(
  v.object({ header: vForwardedAddressHeader, value: v.string() }),
);
export type ForwardedAddresses = Infer<typeof vForwardedAddresses>;

/**
 * A proxy the site's traffic reaches the deployment through (a CDN on a custom
 * domain). Its header is believed only when the connecting address that Convex
 * reports is one of `proxies`: anyone else can set the header to anything.
 */
export const vTrustedProxy = v.object({
  /** The header that proxy puts the client's address in. */
  header: vForwardedAddressHeader,
  /** The proxy's own addresses: IPv4 or IPv6 addresses or CIDR ranges, e.g. "173.245.48.0/20". */
  proxies: v.array(v.string()),
});
export type TrustedProxy = Infer<typeof vTrustedProxy>;

export const vSiteSettings = v.object({
  /** Gap after which a visitor's next event starts a new session. Default 30 minutes. */
  sessionTimeoutMs: v.optional(v.number()),
  /** Keys kept per (bucket, dimension) before the tail folds into "(other)". Default 2,000. */
  cardinalityCap: v.optional(v.number()),
  /** Days raw batches are kept (at least 8: they are the dedup record). Rollups are kept forever. Default 90. */
  rawRetentionDays: v.optional(v.number()),
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

/** A site as hosts see it: never the write key, never its hash. */
/** A site's own fields: the `sites` table adds the write key's hash, which nothing returns. */
export const siteFields = {
  slug: v.string(),
  name: v.string(),
  timezone: v.string(),
  allowedOrigins: v.array(v.string()),
  enabled: v.boolean(),
  settings: vSiteSettings,
};
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

export const vOverview = v.object({
  visitors: v.number(),
  pageviews: v.number(),
  sessions: v.number(),
  bounceRate: v.union(v.number(), v.null()),
  avgSessionDurationMs: v.union(v.number(), v.null()),
  viewsPerSession: v.union(v.number(), v.null()),
  events: v.number(),
});
export type Overview = Infer<typeof vOverview>;

export const vTimeseriesPoint = v.object({
  bucketStart: v.number(),
  visitors: v.number(),
  pageviews: v.number(),
  sessions: v.number(),
  events: v.number(),
  bounceRate: v.union(v.number(), v.null()),
  avgSessionDurationMs: v.union(v.number(), v.null()),
});
export const vTimeseries = v.object({
  granularity: vGranularity,
  points: v.array(vTimeseriesPoint),
});
export type Timeseries = Infer<typeof vTimeseries>;

export const vBreakdownRow = v.object({
  key: v.string(),
  visitors: v.number(),
  pageviews: v.number(),
  events: v.number(),
  entries: v.number(),
  bounceRate: v.union(v.number(), v.null()),
});
export const vBreakdown = v.object({ rows: v.array(vBreakdownRow) });
export type Breakdown = Infer<typeof vBreakdown>;

export const vRange = { siteId: v.string(), from: v.number(), to: v.number() };
export const vTimeseriesArgs = { ...vRange, granularity: v.optional(vGranularity) };
export const vBreakdownArgs = { ...vRange, dimension: vDimension, limit: v.optional(v.number()) };
export type RangeArgs = ObjectType<typeof vRange>;
export type TimeseriesArgs = ObjectType<typeof vTimeseriesArgs>;
export type BreakdownArgs = ObjectType<typeof vBreakdownArgs>;

export const vSiteIdArgs = { siteId: v.string() };
export const vSlugArgs = { slug: v.string() };
export const vCreatedSite = v.object({ siteId: v.string(), writeKey: v.string() });
export const vRotatedKey = v.object({ writeKey: v.string() });
export const vBotCountsArgs = { siteId: v.string(), days: v.number() };
export const vBotCounts = v.array(v.object({ day: v.string(), bots: v.number() }));
export const vDeadLettersArgs = { siteId: v.string(), limit: v.optional(v.number()) };
export const vDeadLetterArgs = { siteId: v.string(), deadLetterId: v.string() };
/** What retryDeadLetter or discardDeadLetter did: the batch's event count, or null if it was already gone. */
export const vDeadLetterOutcome = v.union(
  v.object({ batchId: v.string(), events: v.number() }),
  v.null(),
);

/** `now`: epoch ms, rounded to the minute by the caller so the query's cache is shared. */
export const vRealtimeArgs = { siteId: v.string(), now: v.number() };
export const vRealtime = v.object({
  visitors: v.number(),
  pageviews: v.number(),
  events: v.number(),
});
export type Realtime = Infer<typeof vRealtime>;

export const vDeadLetter = v.object({
  _id: v.string(),
  _creationTime: v.number(),
  siteId: v.string(),
  batchId: v.string(),
  events: v.number(),
  attempts: v.number(),
  error: v.string(),
});
export type DeadLetter = Infer<typeof vDeadLetter>;

/** Hex SHA-256: write keys are stored and looked up only as this hash; visitor ids and rate-limit keys are made with it. */
export async function sha256Hex(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
