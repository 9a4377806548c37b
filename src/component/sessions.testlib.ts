// Fixtures shared by sessionsDeltas.test.ts (how a session starts and extends, and the
// deltas each event writes, example by example) and sessionsDeltaRule.test.ts (the delta
// rule checked against a direct computation and a brute-force oracle): one clock, one
// event builder, one readable form of deltas, and one copy of the worker's loop.
import { type AnalyticsEvent } from "../shared.js";
import {
  DEFAULT_SESSION_TIMEOUT_MS,
  continues,
  extendSession,
  isCounted,
  startSession,
  type SessionState,
} from "./sessions.js";
import { Deltas } from "./deltas.js";

export const TZ = "Europe/Berlin";
export const T0 = Date.parse("2026-03-10T22:30:00Z"); // 23:30 in Berlin: sessions cross local midnight
export const TIMEOUT = DEFAULT_SESSION_TIMEOUT_MS;

let n = 0;
export function ev(
  at: number,
  path = "/",
  type: AnalyticsEvent["type"] = "pageview",
  extra: Partial<AnalyticsEvent> = {},
): AnalyticsEvent {
  return {
    id: `e${n++}`,
    type,
    ...(type === "track" ? { name: "click" } : {}),
    occurredAt: at,
    url: `https://ex.com${path}`,
    visitorId: "v1",
    ...extra,
  };
}

/** Deltas as a sorted list of non-zero rows, comparable with toEqual. */
export function rowsOf(deltas: Deltas) {
  const out: {
    id: string;
    events: number;
    pageviews: number;
    entries: number;
    bounces: number;
    durationMs: number;
    visitors: number[];
  }[] = [];
  for (const { interval, bucketStart, rows } of deltas.buckets.values()) {
    for (const { dimension, key, visitors, ...counters } of rows.toDeltaRows()) {
      out.push({
        id: `${interval}|${bucketStart}|${dimension}|${key}`,
        ...counters,
        visitors: "sparse" in visitors ? visitors.sparse : [-1],
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type Session = { state: SessionState; events: AnalyticsEvent[]; firstEvent: AnalyticsEvent };

/** The worker's loop (worker.ts applyBatch), over one list of events in arrival order. */
export function runWorker(events: AnalyticsEvent[], timeoutMs = TIMEOUT) {
  const deltas = new Deltas();
  const sessions: Session[] = [];
  const latest = new Map<string, Session>();
  for (const event of events) {
    if (!isCounted(event)) continue;
    const current = latest.get(event.visitorId) ?? null;
    let next: SessionState;
    if (current && continues(current.state, event, timeoutMs)) {
      deltas.addSession(current.state, TZ, -1);
      next = extendSession(current.state, event);
      current.state = next;
      current.events.push(event);
    } else {
      next = startSession(event);
      const fresh: Session = { state: next, events: [event], firstEvent: event };
      sessions.push(fresh);
      if (!current || next.lastSeenAt >= current.state.lastSeenAt)
        latest.set(event.visitorId, fresh);
    }
    deltas.addSession(next, TZ, 1);
    deltas.addEvent(event, next, TZ);
  }
  return { deltas, sessions };
}
