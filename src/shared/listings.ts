// Raw listings (src/component/listings.ts): stored events and sessions, a page at a time.
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { v, type Infer, type ObjectType } from "convex/values";
import { vEvent } from "./events.js";

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
