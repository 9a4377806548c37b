// Server-side sessionization. Pure: the worker feeds it events in arrival order,
// and turns each state change into rollup deltas (deltas.ts).
import type { AnalyticsEvent } from "../shared.js";
import { attributionOf, hostnameOf, pagePath, type Attribution } from "./events.js";

export const DEFAULT_SESSION_TIMEOUT_MS = 30 * 60_000;

export type SessionState = {
  visitorId: string;
  startedAt: number;
  lastSeenAt: number;
  /** Pageviews and track events; a session of exactly one is a bounce. */
  events: number;
  pageviews: number;
  entryPage: string;
  hostname: string;
  exitPage: string;
  exitAt: number;
  attribution: Attribution;
};

/** Identify events only link a user id; they are stored raw but neither counted nor sessionized. */
export function isCounted(event: AnalyticsEvent): boolean {
  return event.type !== "identify";
}

/** Does `event` continue `session`, or start a new one? */
export function continues(
  session: SessionState | null,
  event: AnalyticsEvent,
  timeoutMs: number,
): boolean {
  return (
    session !== null &&
    event.occurredAt <= session.lastSeenAt + timeoutMs &&
    event.occurredAt >= session.startedAt - timeoutMs
  );
}

export function startSession(event: AnalyticsEvent): SessionState {
  const page = pagePath(event.url);
  return {
    visitorId: event.visitorId,
    startedAt: event.occurredAt,
    lastSeenAt: event.occurredAt,
    events: 1,
    pageviews: event.type === "pageview" ? 1 : 0,
    entryPage: page,
    hostname: hostnameOf(event.url),
    exitPage: page,
    exitAt: event.occurredAt,
    attribution: attributionOf(event),
  };
}

/** The session after `event`, which `continues` it. An earlier event joins without moving the start. */
export function extendSession(session: SessionState, event: AnalyticsEvent): SessionState {
  const isPageview = event.type === "pageview";
  // The first pageview is the exit whatever its time: exitAt is only the start time while the session has none.
  const laterExit = isPageview && (session.pageviews === 0 || event.occurredAt >= session.exitAt);
  return {
    ...session,
    lastSeenAt: Math.max(session.lastSeenAt, event.occurredAt),
    events: session.events + 1,
    pageviews: session.pageviews + (isPageview ? 1 : 0),
    exitPage: laterExit ? pagePath(event.url) : session.exitPage,
    exitAt: laterExit ? event.occurredAt : session.exitAt,
  };
}
