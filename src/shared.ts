// Validators and types shared by the component, the host-facing client and React.
// Pure maths (time buckets, range plans, sketches, event normalisation) lives in
// src/component/*.ts beside the code that owns it; this file is only the vocabulary.
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
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
  /** Goal conversions, keyed by goal id (src/component/goals.ts); appended last, as the row codec needs. */
  "goal",
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const vDimension = v.union(...DIMENSIONS.map((d) => v.literal(d)));

/**
 * A `prop` row's key: the event's name, the property and its value,
 * "|"-separated, with "\" and "|" escaped by a "\" in the name and the property
 * (the value is last, so it needs none): event "a|b" with property "c" and
 * event "a" with property "b|c" are different keys.
 */
export function propKey(event: string, property: string, value: string): string {
  return `${propGroup(event, property)}${value}`;
}
const escapeKeyPart = (part: string) => part.replace(/[\\|]/g, (c) => `\\${c}`);
const unescapeKeyPart = (part: string) => part.replace(/\\([\\|])/g, "$1");
/** The start of every `prop` key of one (event, property). */
export function propGroup(event: string, property: string): string {
  return `${escapeKeyPart(event)}|${escapeKeyPart(property)}|`;
}
/** A `prop` key's parts, or null for a key with fewer than two unescaped "|" ("(other)"). */
export function parsePropKey(
  key: string,
): { event: string; property: string; value: string } | null {
  const bars: number[] = [];
  for (let i = 0; i < key.length && bars.length < 2; i++) {
    if (key[i] === "\\") i++;
    else if (key[i] === "|") bars.push(i);
  }
  if (bars.length < 2) return null;
  const [first, second] = bars as [number, number];
  return {
    event: unescapeKeyPart(key.slice(0, first)),
    property: unescapeKeyPart(key.slice(first + 1, second)),
    value: key.slice(second + 1),
  };
}

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

/**
 * The channels a session is grouped into (the `channel` dimension's keys): GA4's
 * default channel group, plus "AI Assistants" (ChatGPT, Perplexity, Claude...) as
 * Plausible and PostHog now report them. src/component/channels.ts has the rules.
 */
export const CHANNELS = [
  "Direct",
  "Cross-network",
  "Paid Shopping",
  "Paid Search",
  "Paid Social",
  "Paid Video",
  "Display",
  "Paid Other",
  "AI Assistants",
  "Organic Shopping",
  "Organic Social",
  "Organic Video",
  "Organic Search",
  "Referral",
  "Email",
  "Affiliates",
  "Audio",
  "SMS",
  "Mobile Push Notifications",
  "Unassigned",
] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Which ad platform's click id (gclid, msclkid, fbclid...) the landing URL carried.
 * Only the platform is kept, never the id: it identifies one ad click, so it is personal data.
 */
export const CLICK_ID_KINDS = [
  "google",
  "microsoft",
  "meta",
  "tiktok",
  "linkedin",
  "x",
  "pinterest",
  "snapchat",
  "reddit",
  "yandex",
] as const;
export type ClickIdKind = (typeof CLICK_ID_KINDS)[number];
export const vClickIdKind = v.union(...CLICK_ID_KINDS.map((k) => v.literal(k)));

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
  /** The ad platform whose click id was on the landing URL, read before query strings are stripped. */
  clickId: v.optional(vClickIdKind),
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

/**
 * The period a report is compared with: the one just before it, of the same
 * length ("previous"); the same dates 364 days earlier, so weekdays line up
 * ("yearOverYear", as Pirsch does); or any range of your own.
 */
export const vCompare = v.union(
  v.literal("previous"),
  v.literal("yearOverYear"),
  v.object({ from: v.number(), to: v.number() }),
);
export type Compare = Infer<typeof vCompare>;
/** The compared period's range, as the report aligned it (epoch ms, `to` exclusive). */
const vComparedRange = { from: v.number(), to: v.number() };

/**
 * A filtered report's progress, present only when filters were given: `complete`
 * once every raw event of the range is in it (rollup-answered filters: always, with
 * `scannedEvents` 0); `stale` when the site has processed events since the scan
 * began (startFilterScan brings it up to date); `error` why a scan stopped short.
 */
const filterProgressFields = {
  complete: v.optional(v.boolean()),
  scannedEvents: v.optional(v.number()),
  stale: v.optional(v.boolean()),
  error: v.optional(v.union(v.string(), v.null())),
};

const overviewFields = {
  visitors: v.number(),
  pageviews: v.number(),
  sessions: v.number(),
  bounceRate: v.union(v.number(), v.null()),
  avgSessionDurationMs: v.union(v.number(), v.null()),
  viewsPerSession: v.union(v.number(), v.null()),
  events: v.number(),
};
/** `comparison`: the same numbers over the compared period, when `compare` was given. */
export const vOverview = v.object({
  ...overviewFields,
  comparison: v.optional(v.object({ ...vComparedRange, ...overviewFields })),
  ...filterProgressFields,
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
/**
 * `comparison.points[i]` is compared with `points[i]`: the compared period cut
 * at the same granularity, as many points as it has (at most as many as `points`).
 */
export const vTimeseries = v.object({
  granularity: vGranularity,
  points: v.array(vTimeseriesPoint),
  comparison: v.optional(v.object({ ...vComparedRange, points: v.array(vTimeseriesPoint) })),
  ...filterProgressFields,
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
/** `comparison.rows[i]` is `rows[i]`'s key over the compared period (zeros where it was not seen). */
export const vBreakdown = v.object({
  rows: v.array(vBreakdownRow),
  comparison: v.optional(v.object({ ...vComparedRange, rows: v.array(vBreakdownRow) })),
  ...filterProgressFields,
});
export type Breakdown = Infer<typeof vBreakdown>;

/**
 * What a filter can name: every breakdown dimension but `total`, `prop` and `goal`
 * (a goal filter is not built yet). Session
 * dimensions, entryPage and exitPage select sessions (every event of a matching
 * session counts); page, hostname and event select events (README "Filters").
 */
export const FILTER_DIMENSIONS = DIMENSIONS.filter(
  (d): d is Exclude<Dimension, "total" | "prop" | "goal"> =>
    d !== "total" && d !== "prop" && d !== "goal",
);
export type FilterDimension = (typeof FILTER_DIMENSIONS)[number];
export const MAX_FILTERS = 10;
/** Values longer than a rollup key (rows.ts MAX_KEY_LENGTH) could never match one. */
export const MAX_FILTER_VALUE_LENGTH = 300;
export const vFilterOp = v.union(v.literal("is"), v.literal("isNot"), v.literal("contains"));
export type FilterOp = Infer<typeof vFilterOp>;
/** `is` / `isNot`: the dimension's key equals `value` (or not); `contains`: the key contains it (case-sensitive). */
export const vFilter = v.object({
  dimension: v.union(...FILTER_DIMENSIONS.map((d) => v.literal(d))),
  op: vFilterOp,
  value: v.string(),
});
export type Filter = Infer<typeof vFilter>;
/** Filters combine with AND; at most MAX_FILTERS. */
export const vFilters = v.array(vFilter);

export const vRange = { siteId: v.string(), from: v.number(), to: v.number() };
export const vOverviewArgs = {
  ...vRange,
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
export const vTimeseriesArgs = {
  ...vRange,
  granularity: v.optional(vGranularity),
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
export const vBreakdownArgs = {
  ...vRange,
  dimension: vDimension,
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
  filters: v.optional(vFilters),
};
/**
 * startFilterScan: the filtered report's own arguments, and which report they are for
 * (`dimension` is the breakdown's, `granularity` the timeseries'; one scan serves every `limit`).
 */
export const vStartFilterScanArgs = {
  report: v.union(v.literal("overview"), v.literal("timeseries"), v.literal("breakdown")),
  ...vRange,
  filters: v.optional(vFilters),
  granularity: v.optional(vGranularity),
  dimension: v.optional(vDimension),
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
};
export type StartFilterScanArgs = ObjectType<typeof vStartFilterScanArgs>;
export type RangeArgs = ObjectType<typeof vRange>;
export type OverviewArgs = ObjectType<typeof vOverviewArgs>;
export type TimeseriesArgs = ObjectType<typeof vTimeseriesArgs>;
export type BreakdownArgs = ObjectType<typeof vBreakdownArgs>;

/**
 * A property's values for one event name (`getPropertyBreakdown`), from the
 * `prop` rollups: each row's `key` is the value. Values beyond a bucket's
 * per-(event, property) cap are counted under "(other)".
 */
export const vPropertyBreakdownArgs = {
  ...vRange,
  event: v.string(),
  property: v.string(),
  limit: v.optional(v.number()),
  compare: v.optional(vCompare),
};
export type PropertyBreakdownArgs = ObjectType<typeof vPropertyBreakdownArgs>;

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
const vRealtimeRow = v.object({ key: v.string(), visitors: v.number(), pageviews: v.number() });
/**
 * The live view at `now` (rounded up to the minute): `visitors` are the current
 * visitors, those seen in the 5 minutes before it (Plausible's definition); the
 * rest covers the 30 minutes before it.
 */
export const vRealtime = v.object({
  visitors: v.number(),
  pageviews: v.number(),
  events: v.number(),
  /** The 30 minutes, oldest first, each with its pageviews and visitors (zero-filled). */
  minutes: v.array(
    v.object({ minuteStart: v.number(), pageviews: v.number(), visitors: v.number() }),
  ),
  /** The top 10 pages by visitors, then pageviews. */
  topPages: v.array(vRealtimeRow),
  /** The top 10 referrer domains (the `referrer` dimension's keys) by visitors, then pageviews. */
  topSources: v.array(vRealtimeRow),
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

/**
 * A session's stored fields (the `sessions` table adds its site). `attribution`
 * holds only the session dimensions whose value is not "(none)".
 */
export const sessionFields = {
  visitorId: v.string(),
  startedAt: v.number(),
  lastSeenAt: v.number(),
  /** Pageviews and track events; a session of exactly one is a bounce. */
  events: v.number(),
  pageviews: v.number(),
  entryPage: v.string(),
  hostname: v.string(),
  exitPage: v.string(),
  exitAt: v.number(),
  attribution: v.record(v.string(), v.string()),
};

/**
 * Raw listings (listings.ts). Every filter is optional; they combine with AND.
 * `pathPrefix` matches the event's path (the URL without host, query or hash).
 */
export const vListEventsArgs = {
  siteId: v.string(),
  paginationOpts: paginationOptsValidator,
  eventName: v.optional(v.string()),
  visitorId: v.optional(v.string()),
  userId: v.optional(v.string()),
  pathPrefix: v.optional(v.string()),
};
export type ListEventsArgs = ObjectType<typeof vListEventsArgs>;
/** A stored event as ingest kept it, and when its batch was received (epoch ms). */
export const vListedEvent = v.object({ ...vEvent.fields, receivedAt: v.number() });
export type ListedEvent = Infer<typeof vListedEvent>;
export const vEventPage = paginationResultValidator(vListedEvent);

/** `pathPrefix` matches the session's entry page. */
export const vListSessionsArgs = {
  siteId: v.string(),
  paginationOpts: paginationOptsValidator,
  visitorId: v.optional(v.string()),
  pathPrefix: v.optional(v.string()),
};
export type ListSessionsArgs = ObjectType<typeof vListSessionsArgs>;
export const vListedSession = v.object({ _id: v.string(), ...sessionFields });
export type ListedSession = Infer<typeof vListedSession>;
export const vSessionPage = paginationResultValidator(vListedSession);

/**
 * Read API keys (`rk_…`) for the stats HTTP API: one site each, stored only as
 * a SHA-256 hash; the key itself is returned once, by createReadKey.
 */
export const vCreateReadKeyArgs = { siteId: v.string(), name: v.string() };
export const vCreatedReadKey = v.object({ keyId: v.string(), readKey: v.string() });
export const vReadKeyIdArgs = { siteId: v.string(), keyId: v.string() };
/** A read key as admins see it: its name and first characters, never the key or its hash. */
export const vReadKeyInfo = v.object({
  _id: v.string(),
  _creationTime: v.number(),
  siteId: v.string(),
  name: v.string(),
  /** The key's first characters ("rk_" and 4 more), to tell keys apart. */
  prefix: v.string(),
});
export type ReadKeyInfo = Infer<typeof vReadKeyInfo>;

// ---- goals (src/component/goals.ts, goalBackfills.ts) --------------------------

/**
 * What a goal counts: a pageview whose path matches `path` (`*` one segment,
 * `**` any number of segments, e.g. `/blog/**`), or a track event named `event`
 * whose props include every entry of `props` (names as the client sent them).
 * The same matching as a funnel step.
 */
export const vGoalMatch = v.union(
  v.object({ path: v.string() }),
  v.object({ event: v.string(), props: v.optional(vProps) }),
);
export type GoalMatch = Infer<typeof vGoalMatch>;
/**
 * Revenue of a goal: the sum of the numeric property `property` (a number, or a
 * string of a decimal number) of the events it counts, in `currency` (a label,
 * e.g. "EUR"; no conversion), kept to thousandths of a unit.
 */
export const vGoalRevenue = v.object({ property: v.string(), currency: v.string() });
export type GoalRevenue = Infer<typeof vGoalRevenue>;
export const vCreateGoalArgs = {
  siteId: v.string(),
  name: v.string(),
  match: vGoalMatch,
  revenue: v.optional(vGoalRevenue),
};
export type CreateGoalArgs = ObjectType<typeof vCreateGoalArgs>;
export const vGoalIdArgs = { siteId: v.string(), goalId: v.string() };
/** A goal as admins see it; `backfilling` while its counts of events received before it are still being added. */
export const vGoalInfo = v.object({
  goalId: v.string(),
  siteId: v.string(),
  name: v.string(),
  match: vGoalMatch,
  revenue: v.union(vGoalRevenue, v.null()),
  createdAt: v.number(),
  backfilling: v.boolean(),
  /** Why the backfill of earlier events stopped short, or null. */
  backfillError: v.union(v.string(), v.null()),
});
export type GoalInfo = Infer<typeof vGoalInfo>;
export const vGoalsArgs = { ...vRange, compare: v.optional(vCompare) };
export type GoalsArgs = ObjectType<typeof vGoalsArgs>;
const goalMetrics = {
  goalId: v.string(),
  /** Events that matched the goal. */
  conversions: v.number(),
  /** Visitors with at least one conversion. */
  converters: v.number(),
  /** converters / the range's visitors (null when it had none). */
  conversionRate: v.union(v.number(), v.null()),
  /** The revenue property's sum over the conversions, or null for a goal without revenue. */
  revenue: v.union(v.number(), v.null()),
};
/**
 * Per goal (in creation order) over the range. `backfilling`: the goal's counts
 * of events received before it was created are not all in yet. `comparison`:
 * the same goals over the compared period, when `compare` was given.
 */
export const vGoalsReport = v.object({
  visitors: v.number(),
  goals: v.array(
    v.object({
      ...goalMetrics,
      name: v.string(),
      currency: v.union(v.string(), v.null()),
      backfilling: v.boolean(),
    }),
  ),
  comparison: v.optional(
    v.object({ ...vComparedRange, visitors: v.number(), goals: v.array(v.object(goalMetrics)) }),
  ),
});
export type GoalsReport = Infer<typeof vGoalsReport>;

/** The reports the stats HTTP API serves, each with its facade's arguments. */
export const vStatsRequest = v.union(
  v.object({ report: v.literal("overview"), args: v.object(vOverviewArgs) }),
  v.object({ report: v.literal("timeseries"), args: v.object(vTimeseriesArgs) }),
  v.object({ report: v.literal("breakdown"), args: v.object(vBreakdownArgs) }),
  v.object({ report: v.literal("realtime"), args: v.object(vRealtimeArgs) }),
  v.object({ report: v.literal("propertyBreakdown"), args: v.object(vPropertyBreakdownArgs) }),
  v.object({ report: v.literal("goals"), args: v.object(vGoalsArgs) }),
);
export type StatsRequest = Infer<typeof vStatsRequest>;
export const vStatsOutcome = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("wrong_site") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("invalid_parameter"), message: v.string() }),
  v.object({ status: v.literal("unavailable"), message: v.string() }),
  v.object({
    status: v.literal("ok"),
    body: v.union(vOverview, vTimeseries, vBreakdown, vRealtime, vGoalsReport),
  }),
);
export type StatsOutcome = Infer<typeof vStatsOutcome>;

/** `GET {prefix}/health` with a read key: the key's own site's backlog, same meanings as the global counts. */
export const vSiteHealth = v.object({
  siteId: v.string(),
  pendingBatches: v.number(),
  oldestPendingAgeMs: v.number(),
  deadLetters: v.number(),
  uncompactedShards: v.number(),
  /** Whether this site's counts stopped at their caps or the read budget. */
  partial: v.boolean(),
});
export type SiteHealth = Infer<typeof vSiteHealth>;

/**
 * `GET {prefix}/health`: the pipeline's backlog, with no per-site data and no
 * secrets; `site` only when asked with that site's read key.
 */
export const vHealth = v.object({
  /** "ok", or "behind" when a threshold is passed (the route then answers 503). */
  status: v.union(v.literal("ok"), v.literal("behind")),
  /** Batches received but not yet counted by the worker (capped: see `partial`). */
  pendingBatches: v.number(),
  /** How long the oldest of them has waited, 0 when none. */
  oldestPendingAgeMs: v.number(),
  /** Batches the worker gave up on (capped: see `partial`). */
  deadLetters: v.number(),
  /** Rollup documents compaction should already have folded: hours closed over an hour ago, and staging. */
  uncompactedShards: v.number(),
  /** When compaction last wrote a canonical page or held its lock, or null if never. */
  lastCompactionAt: v.union(v.number(), v.null()),
  /** Whether the counts stopped at their caps or the read budget, so they are lower bounds. */
  partial: v.boolean(),
  /** Why the status is "behind", one sentence each. */
  reasons: v.array(v.string()),
  /** The read key's site, when the request carried one. */
  site: v.optional(vSiteHealth),
});
export type Health = Infer<typeof vHealth>;
/** The health check with a read key: the key's admission, then the health with its site. */
export const vHealthOutcome = v.union(
  v.object({ status: v.literal("unknown_key") }),
  v.object({ status: v.literal("wrong_site") }),
  v.object({ status: v.literal("rate_limited"), retryAfterMs: v.number() }),
  v.object({ status: v.literal("ok"), health: vHealth }),
);
export type HealthOutcome = Infer<typeof vHealthOutcome>;

/** What an export writes: raw events, sessions, or one report's rows. */
export const vExportKind = v.union(v.literal("events"), v.literal("sessions"), v.literal("report"));
export const vExportReport = v.union(
  v.object({ type: v.literal("breakdown"), dimension: vDimension, limit: v.optional(v.number()) }),
  v.object({ type: v.literal("timeseries"), granularity: v.optional(vGranularity) }),
);
export const vStartExportArgs = {
  siteId: v.string(),
  kind: vExportKind,
  /** Events by occurredAt, sessions by startedAt, in [from, to); a report's range. Epoch ms. */
  from: v.number(),
  to: v.number(),
  /** For kind "report": which report. */
  report: v.optional(vExportReport),
  /** How long the finished file is kept before it is deleted. Default 24 hours, at most 30 days. */
  expiresInMs: v.optional(v.number()),
};
export type StartExportArgs = ObjectType<typeof vStartExportArgs>;
export const vExportStatus = v.union(
  v.literal("running"),
  v.literal("done"),
  v.literal("failed"),
  v.literal("expired"),
);
export const vExportIdArgs = { siteId: v.string(), exportId: v.string() };
export const vExportProgress = v.object({
  exportId: v.string(),
  siteId: v.string(),
  kind: vExportKind,
  from: v.number(),
  to: v.number(),
  status: vExportStatus,
  /** CSV rows written so far, the header not included. */
  rowsWritten: v.number(),
  done: v.boolean(),
  /** Why it failed, or null. */
  error: v.union(v.string(), v.null()),
  /** The CSV's download URL once done, until it expires. */
  url: v.union(v.string(), v.null()),
  /** When the file is deleted (set once done). */
  expiresAt: v.union(v.number(), v.null()),
  startedAt: v.number(),
});
export type ExportProgress = Infer<typeof vExportProgress>;

/**
 * A rollup rebuild's phases: "running" (recomputing from raw events behind the
 * live worker), "cleaning" (switched; deleting the old rollups), "done", or
 * "failed" (a step threw too often; rebuildRollups resumes it). A rebuild
 * cancelled before its switch (cancelRebuild) goes "cancelling" (deleting its
 * own rollups), then "cancelled".
 */
export const vRebuildStatus = v.union(
  v.literal("running"),
  v.literal("cleaning"),
  v.literal("done"),
  v.literal("failed"),
  v.literal("cancelling"),
  v.literal("cancelled"),
);
/**
 * `timezone`: the IANA zone the rebuilt rollups are cut by, and the site's from the switch on. Default: the site's.
 * `from` / `to` (ms, `to` exclusive): a partial rebuild, widened to whole local months; the months
 * outside are kept as they are (README, "Rebuilding rollups"). `to` needs `from`; a partial rebuild keeps the timezone.
 */
export const vRebuildArgs = {
  siteId: v.string(),
  timezone: v.optional(v.string()),
  from: v.optional(v.number()),
  to: v.optional(v.number()),
};
/** A span of rollup buckets, [from, to). */
export const vBucketSpan = v.object({ from: v.number(), to: v.number() });
export type BucketSpan = Infer<typeof vBucketSpan>;
export type RebuildArgs = ObjectType<typeof vRebuildArgs>;
export const vRebuildIdArgs = { siteId: v.string(), rebuildId: v.string() };
export const vRebuildProgress = v.object({
  rebuildId: v.string(),
  siteId: v.string(),
  status: vRebuildStatus,
  timezone: v.string(),
  /** A partial rebuild's range, widened to whole local months (`to` null: onwards), or null for a full one. */
  from: v.union(v.number(), v.null()),
  to: v.union(v.number(), v.null()),
  /** The months copied from the live rollups as they are (empty for a full rebuild). */
  kept: v.array(vBucketSpan),
  /** Rollup pages copied into the new rollups so far. */
  copied: v.number(),
  /** Raw batches and events recomputed so far. */
  batches: v.number(),
  events: v.number(),
  steps: v.number(),
  /** Rollup documents deleted after the switch (the old ones) or after a cancel (the rebuild's own). */
  deleted: v.number(),
  /** The last step's error, or null. */
  error: v.union(v.string(), v.null()),
  startedAt: v.number(),
  /** When reports moved to the rebuilt rollups, or null while the old ones serve. */
  switchedAt: v.union(v.number(), v.null()),
  finishedAt: v.union(v.number(), v.null()),
});
export type RebuildProgress = Infer<typeof vRebuildProgress>;

export type CsvValue = string | number | boolean | null | undefined;

/** One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF, with quotes doubled. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 lines (CRLF-terminated), for the dashboard's downloads and the export job alike. */
export function csvLines(rows: CsvValue[][]): string {
  return rows.map((row) => row.map(csvField).join(",") + "\r\n").join("");
}

export function toCsv(header: string[], rows: CsvValue[][]): string {
  return csvLines([header, ...rows]);
}

/** A breakdown as CSV records, header first: one layout for the dashboard's download and the export job. */
export function breakdownCsvRecords(label: string, rows: Breakdown["rows"]): CsvValue[][] {
  return [
    [label, "visitors", "pageviews", "events", "entries", "bounce_rate"],
    ...rows.map((r) => [r.key, r.visitors, r.pageviews, r.events, r.entries, r.bounceRate]),
  ];
}

/**
 * A timeseries as CSV records, header first: each bucket's start in UTC (ISO 8601), then
 * `local`'s column when given (the dashboard adds the bucket in the site's zone), then its
 * metrics, unformatted, so a spreadsheet sums the same numbers the API returned.
 */
export function timeseriesCsvRecords(
  points: Timeseries["points"],
  local?: { header: string; format: (bucketStart: number) => string },
): CsvValue[][] {
  return [
    [
      "bucket_start_utc",
      ...(local ? [local.header] : []),
      "visitors",
      "pageviews",
      "sessions",
      "events",
      "bounce_rate",
      "avg_session_duration_ms",
    ],
    ...points.map((p) => [
      new Date(p.bucketStart).toISOString(),
      ...(local ? [local.format(p.bucketStart)] : []),
      p.visitors,
      p.pageviews,
      p.sessions,
      p.events,
      p.bounceRate,
      p.avgSessionDurationMs,
    ]),
  ];
}

/** Hex SHA-256: write keys are stored and looked up only as this hash; visitor ids and rate-limit keys are made with it. */
export async function sha256Hex(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * GDPR deletion of one person's data on one site: by the visitor id their events
 * carry, or by the user id the host identified them with (their events, and every
 * event and session of the visitor ids those events tie to it).
 */
export const vDeleteVisitorDataArgs = {
  siteId: v.string(),
  /** Exactly one of visitorId and userId. */
  visitorId: v.optional(v.string()),
  userId: v.optional(v.string()),
};
export type DeleteVisitorDataArgs = ObjectType<typeof vDeleteVisitorDataArgs>;
export const vDeletionIdArgs = { siteId: v.string(), deletionId: v.string() };
export const vDeletionKind = v.union(v.literal("visitor"), v.literal("site"));
export const vDeletionStatus = v.union(
  v.literal("running"),
  v.literal("done"),
  v.literal("failed"),
);
/**
 * A deletion job's progress (deleteVisitorData, deleteSite). `deleted` counts what
 * is gone so far: documents per table, and `events`, the raw events removed from
 * inside batches and dead letters.
 */
export const vDeletionProgress = v.object({
  deletionId: v.string(),
  siteId: v.string(),
  kind: vDeletionKind,
  status: vDeletionStatus,
  /** The step it is at: which table it is deleting from, or "waiting for the worker". */
  phase: v.string(),
  /** Waiting for the site's worker to count batches that hold the person's events (they are rewritten once counted). */
  waiting: v.boolean(),
  deleted: v.record(v.string(), v.number()),
  /** Bounded passes (transactions) run so far. */
  passes: v.number(),
  startedAt: v.number(),
  finishedAt: v.union(v.number(), v.null()),
  error: v.union(v.string(), v.null()),
});
export type DeletionProgress = Infer<typeof vDeletionProgress>;
// ---- raw-event scans: funnels (src/component/scans.ts, funnels.ts) ------------

/** A scan's answer so far: `complete` once every raw event of the range is in it. */
export const vScanProgress = { complete: v.boolean(), scannedEvents: v.number() };

export const MAX_FUNNEL_STEPS = 8;
/**
 * A funnel step: a pageview whose path matches `path` (`*` one segment, `**`
 * any number of segments, e.g. `/blog/**`), or a track event named `event`
 * whose props include every entry of `props`: what a goal matches (vGoalMatch).
 */
export const vFunnelStep = vGoalMatch;
export type FunnelStep = Infer<typeof vFunnelStep>;
export const vFunnelMode = v.union(v.literal("sequential"), v.literal("strict"));
export type FunnelMode = Infer<typeof vFunnelMode>;
export const vFunnelArgs = {
  ...vRange,
  steps: v.array(vFunnelStep),
  /** The longest time from a visitor's first step to its last; the whole range when omitted. */
  windowMs: v.optional(v.number()),
  mode: v.optional(vFunnelMode),
};
export type FunnelArgs = ObjectType<typeof vFunnelArgs>;
export const vFunnel = v.object({
  steps: v.array(
    v.object({
      visitors: v.number(),
      /** Of the first step's visitors (1 for the first step; null while it has none). */
      conversionRate: v.union(v.number(), v.null()),
      /** Visitors of the step before who did not reach this one (0 for the first step). */
      dropOff: v.number(),
      /** dropOff over the step before's visitors (null while it has none). */
      dropOffRate: v.union(v.number(), v.null()),
    }),
  ),
  ...vScanProgress,
  /** The site has processed events since this answer's scan began: startFunnel brings it up to date. */
  stale: v.boolean(),
  /** Why the scan stopped short (a range too large for one scan), or null. */
  error: v.union(v.string(), v.null()),
});
export type Funnel = Infer<typeof vFunnel>;
