// An event as ingest stores it, and what an ingest call answers.
import { v, type Infer } from "convex/values";
import { vClickIdKind } from "./dimensions.js";

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
