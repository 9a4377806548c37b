// The vocabulary of rollup rows: every breakdown dimension, the channels and
// click-id kinds a session carries, bucket intervals and report granularities.
import { v } from "convex/values";

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
