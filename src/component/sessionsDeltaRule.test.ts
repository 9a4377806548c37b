// The delta rule of sessionization. The worker emits, per event,
// contribution(new state) - contribution(old state); summed over a session's
// events that telescopes to contribution(final state). Checked here against a
// direct computation and a brute-force oracle over random event sequences; the
// deltas of single events, example by example, are in sessionsDeltas.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type AnalyticsEvent } from "../shared.js";
import {
  continues,
  extendSession,
  isCounted,
  startSession,
  type SessionState,
} from "./sessions.js";
import { Deltas } from "./deltas.js";
import { T0, TIMEOUT, TZ, ev, rowsOf, runWorker } from "./sessions.testlib.js";
import { hashVisitor } from "./sketch.js";
import { hourStart, MINUTE } from "./time.js";

describe("the delta rule", () => {
  // Up to 3 visitors, times within 3 hours (so sessions split and cross local
  // midnight), arriving in any order, with pageviews, track events and identifies.
  const arbEvents = fc.array(
    fc.record({
      visitor: fc.constantFrom("v1", "v2", "v3"),
      minute: fc.integer({ min: 0, max: 180 }),
      // Coarse seconds, so that events at the same instant (exit-page ties) are common.
      second: fc.constantFrom(0, 30),
      type: fc.constantFrom<AnalyticsEvent["type"]>("pageview", "pageview", "track", "identify"),
      path: fc.constantFrom("/", "/a", "/b", "/c"),
      source: fc.constantFrom(
        "",
        "?utm_source=news&utm_medium=email",
        "?utm_medium=cpc&utm_source=google",
      ),
    }),
    { minLength: 1, maxLength: 40 },
  );
  type RawEvent = {
    visitor: string;
    minute: number;
    second: number;
    type: AnalyticsEvent["type"];
    path: string;
    source: string;
  };
  const toEvents = (raw: RawEvent[]) =>
    raw.map((r, i) =>
      ev(T0 + r.minute * MINUTE + r.second * 1000, `${r.path}${r.source}`, r.type, {
        id: `e${i}`,
        visitorId: r.visitor,
        ...(r.type === "identify" ? { userId: "u" } : {}),
      }),
    );

  test("a session's summed deltas equal the contribution of its final state plus its events, for any event sequence", () => {
    fc.assert(
      fc.property(arbEvents, (raw) => {
        const { deltas, sessions } = runWorker(toEvents(raw));
        const direct = new Deltas();
        for (const s of sessions) {
          direct.addSession(s.state, TZ, 1);
          for (const e of s.events) direct.addEvent(e, s.state, TZ);
        }
        expect(rowsOf(deltas)).toEqual(rowsOf(direct));
      }),
      { numRuns: 300 },
    );
  });

  test("the session totals match a brute-force oracle over each session's events", () => {
    fc.assert(
      fc.property(arbEvents, (raw) => {
        const events = toEvents(raw);
        const { deltas, sessions } = runWorker(events);
        // Every counted event is in exactly one session.
        expect(sessions.reduce((s, x) => s + x.events.length, 0)).toBe(
          events.filter(isCounted).length,
        );
        const oracle = new Map<
          string,
          { entries: number; bounces: number; durationMs: number; exits: Map<string, number> }
        >();
        for (const s of sessions) {
          const start = s.firstEvent.occurredAt;
          const times = s.events.map((e) => e.occurredAt);
          // The exit is the latest pageview (later arrival wins a tie); a session without one exits where it entered.
          let lastPageview: AnalyticsEvent | null = null;
          for (const e of s.events)
            if (
              e.type === "pageview" &&
              (lastPageview === null || e.occurredAt >= lastPageview.occurredAt)
            )
              lastPageview = e;
          const exit = lastPageview ?? s.firstEvent;
          const bucket = `hour|${hourStart(start, TZ)}`;
          const o = oracle.get(bucket) ?? {
            entries: 0,
            bounces: 0,
            durationMs: 0,
            exits: new Map(),
          };
          o.entries += 1;
          o.bounces += s.events.length === 1 ? 1 : 0;
          o.durationMs += Math.max(...times) - start;
          const exitPage = new URL(exit.url).pathname;
          o.exits.set(exitPage, (o.exits.get(exitPage) ?? 0) + 1);
          oracle.set(bucket, o);
        }
        const got = new Map<
          string,
          { entries: number; bounces: number; durationMs: number; exits: Map<string, number> }
        >();
        for (const r of rowsOf(deltas)) {
          const [interval, bucketStart, dimension, key] = r.id.split("|");
          if (interval !== "hour") continue;
          const bucket = `hour|${bucketStart}`;
          const g = got.get(bucket) ?? { entries: 0, bounces: 0, durationMs: 0, exits: new Map() };
          if (dimension === "total")
            Object.assign(g, { entries: r.entries, bounces: r.bounces, durationMs: r.durationMs });
          if (dimension === "exitPage") g.exits.set(key!, r.entries);
          got.set(bucket, g);
        }
        // Buckets that only hold events (no session started there) have zero session metrics.
        for (const [bucket, g] of got)
          if (!oracle.has(bucket))
            expect([g.entries, g.bounces, g.durationMs, g.exits.size]).toEqual([0, 0, 0, 0]);
        for (const [bucket, o] of oracle) expect(got.get(bucket)).toEqual(o);
      }),
      { numRuns: 300 },
    );
  });

  test("the page dimension counts only pageviews, with the visitors who viewed the page, plus the sessions entering there", () => {
    fc.assert(
      fc.property(arbEvents, (raw) => {
        const events = toEvents(raw);
        const { deltas, sessions } = runWorker(events);
        type P = {
          events: number;
          pageviews: number;
          entries: number;
          bounces: number;
          visitors: Set<number>;
        };
        const oracle = new Map<string, P>();
        const at = (id: string) =>
          oracle.get(id) ??
          (oracle.set(id, { events: 0, pageviews: 0, entries: 0, bounces: 0, visitors: new Set() }),
          oracle.get(id)!);
        for (const e of events) {
          if (e.type !== "pageview") continue;
          const o = at(`${hourStart(e.occurredAt, TZ)}|${new URL(e.url).pathname}`);
          o.events += 1;
          o.pageviews += 1;
          o.visitors.add(hashVisitor(e.visitorId));
        }
        for (const s of sessions) {
          const o = at(
            `${hourStart(s.firstEvent.occurredAt, TZ)}|${new URL(s.firstEvent.url).pathname}`,
          );
          o.entries += 1;
          o.bounces += s.events.length === 1 ? 1 : 0;
        }
        const expected = [...oracle]
          .map(([id, o]) => ({ id, ...o, visitors: [...o.visitors].sort((a, b) => a - b) }))
          .filter((o) => o.events !== 0 || o.entries !== 0 || o.bounces !== 0)
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const got = rowsOf(deltas)
          .filter((r) => r.id.startsWith("hour|") && r.id.split("|")[2] === "page")
          .map((r) => {
            const [, bucketStart, , key] = r.id.split("|");
            return {
              id: `${bucketStart}|${key}`,
              events: r.events,
              pageviews: r.pageviews,
              entries: r.entries,
              bounces: r.bounces,
              visitors: r.visitors,
            };
          })
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(got).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  test("merging per-batch deltas, as the worker does, gives the same rows as one run over all events", () => {
    fc.assert(
      fc.property(arbEvents, fc.integer({ min: 1, max: 40 }), (raw, cut) => {
        const events = toEvents(raw);
        const whole = runWorker(events).deltas;
        // The same loop, but the deltas of the first `cut` events go to another Deltas that is merged in.
        const first = new Deltas();
        const second = new Deltas();
        const latest = new Map<string, SessionState>();
        events.forEach((e, i) => {
          if (!isCounted(e)) return;
          const target = i < cut ? first : second;
          const state = latest.get(e.visitorId) ?? null;
          let next: SessionState;
          if (state && continues(state, e, TIMEOUT)) {
            target.addSession(state, TZ, -1);
            next = extendSession(state, e);
            latest.set(e.visitorId, next);
          } else {
            next = startSession(e);
            if (!state || next.lastSeenAt >= state.lastSeenAt) latest.set(e.visitorId, next);
          }
          target.addSession(next, TZ, 1);
          target.addEvent(e, next, TZ);
        });
        first.merge(second);
        expect(rowsOf(first)).toEqual(rowsOf(whole));
      }),
      { numRuns: 150 },
    );
  });
});
