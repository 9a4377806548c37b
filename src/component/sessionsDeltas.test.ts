// Sessionization and its rollup deltas, example by example: how a session starts and
// extends, and the rows each event adds to or moves between. The delta rule itself,
// checked against a direct computation and a brute-force oracle over random event
// sequences, is in sessionsDeltaRule.test.ts.
import { describe, expect, test } from "vitest";
import { NONE_KEY, type AnalyticsEvent } from "../shared.js";
import {
  continues,
  extendSession,
  isCounted,
  startSession,
  type SessionState,
} from "./sessions.js";
import { Deltas } from "./deltas.js";
import { TOTAL_KEY } from "./rows.js";
import { T0, TIMEOUT, TZ, ev, rowsOf, runWorker } from "./sessions.testlib.js";
import { hashVisitor } from "./sketch.js";
import { HOUR, hourStart, minuteStart, MINUTE } from "./time.js";

const row = (
  deltas: Deltas,
  interval: string,
  bucketStart: number,
  dimension: string,
  key: string,
) => rowsOf(deltas).find((r) => r.id === `${interval}|${bucketStart}|${dimension}|${key}`);

describe("continues, startSession and extendSession", () => {
  const start = ev(T0, "/landing?utm_source=news", "pageview", {
    referrer: "https://www.google.com/",
  });
  const s = startSession(start);

  test("a session starts at its first event, with that page as entry and exit, and its attribution", () => {
    expect(s).toMatchObject({
      visitorId: "v1",
      startedAt: T0,
      lastSeenAt: T0,
      events: 1,
      pageviews: 1,
      entryPage: "/landing",
      exitPage: "/landing",
      exitAt: T0,
      hostname: "ex.com",
    });
    // The source is utm_source when there is one: "news" with no medium is a referral, not search.
    expect([s.attribution.referrer, s.attribution.channel, s.attribution.utmSource]).toEqual([
      "google.com",
      "Referral",
      "news",
    ]);
    expect(startSession(ev(T0, "/x", "track")).pageviews).toBe(0);
  });

  const table: [string, boolean, SessionState | null, number][] = [
    ["no session", false, null, T0],
    ["an event at the same instant", true, s, T0],
    ["an event exactly one timeout later", true, s, T0 + TIMEOUT],
    ["an event one millisecond past the timeout", false, s, T0 + TIMEOUT + 1],
    ["an earlier event within the timeout", true, s, T0 - TIMEOUT],
    ["an earlier event past the timeout", false, s, T0 - TIMEOUT - 1],
    [
      "an event 25 minutes after a session last seen 20 minutes in",
      true,
      { ...s, lastSeenAt: T0 + 20 * MINUTE },
      T0 + 45 * MINUTE,
    ],
  ];
  test.each(table)("%s: continues is %s", (_label, expected, session, at) => {
    expect(continues(session, ev(at), TIMEOUT)).toBe(expected);
  });

  test("extending counts events and pageviews, advances lastSeen, and an earlier event never moves the start", () => {
    let x = extendSession(s, ev(T0 + 10 * MINUTE, "/b"));
    x = extendSession(x, ev(T0 + 12 * MINUTE, "/c", "track"));
    x = extendSession(x, ev(T0 - 5 * MINUTE, "/early"));
    expect(x).toMatchObject({
      startedAt: T0,
      lastSeenAt: T0 + 12 * MINUTE,
      events: 4,
      pageviews: 3,
      entryPage: "/landing",
      exitPage: "/b",
      exitAt: T0 + 10 * MINUTE,
    });
    expect(x.attribution).toEqual(s.attribution);
  });

  test("identify events are not counted", () => {
    expect([
      isCounted(ev(T0)),
      isCounted(ev(T0, "/", "track")),
      isCounted(ev(T0, "/", "identify", { userId: "u" })),
    ]).toEqual([true, true, false]);
  });
});

describe("session deltas", () => {
  const hour = hourStart(T0, TZ);
  /** The minute row of instant t: a total row keyed by the minute's start, in the document of t's local hour. */
  const minuteRow = (deltas: Deltas, t: number) =>
    row(deltas, "minute", hourStart(t, TZ), "total", String(minuteStart(t)));

  test("the worker writes only hour and minute deltas: days and months are folded from hours at compaction", () => {
    const { deltas } = runWorker([ev(T0, "/a"), ev(T0 + 40 * MINUTE, "/b", "track")]);
    expect(new Set([...deltas.buckets.values()].map((b) => b.interval))).toEqual(
      new Set(["hour", "minute"]),
    );
    for (const { interval, bucketStart } of deltas.buckets.values())
      expect([interval, bucketStart]).toEqual([interval, hourStart(bucketStart, TZ)]);
  });

  test("bounce is +1 at the first event and cancels at the second; a third changes nothing", () => {
    const events = [ev(T0, "/a"), ev(T0 + MINUTE, "/b"), ev(T0 + 2 * MINUTE, "/c")];
    const after = (k: number) =>
      row(runWorker(events.slice(0, k)).deltas, "hour", hour, "total", TOTAL_KEY)!;
    expect([after(1).entries, after(1).bounces]).toEqual([1, 1]);
    expect([after(2).entries, after(2).bounces]).toEqual([1, 0]);
    expect([after(3).entries, after(3).bounces]).toEqual([1, 0]);
    expect(after(3).durationMs).toBe(2 * MINUTE);
    // Every dimension the session is counted under follows the same rule.
    const { deltas } = runWorker(events.slice(0, 2));
    for (const [dimension, key] of [
      ["entryPage", "/a"],
      ["page", "/a"],
      ["channel", "Direct"],
      ["referrer", NONE_KEY],
      ["hostname", "ex.com"],
    ]) {
      expect([
        dimension,
        row(deltas, "hour", hour, dimension!, key!)?.bounces,
        row(deltas, "hour", hour, dimension!, key!)?.entries,
      ]).toEqual([dimension, 0, 1]);
    }
  });

  test("the exit page moves: -1 on the old exit, +1 on the new one; track events and earlier pageviews do not move it", () => {
    const exits = (events: AnalyticsEvent[]) =>
      rowsOf(runWorker(events).deltas)
        .filter((r) => r.id.startsWith(`hour|${hour}|exitPage|`))
        .map((r) => [r.id.split("|")[3], r.entries]);
    const a = ev(T0, "/a");
    const b = ev(T0 + MINUTE, "/b");
    expect(exits([a])).toEqual([["/a", 1]]);
    expect(exits([a, b])).toEqual([["/b", 1]]);
    expect(exits([a, b, ev(T0 + 2 * MINUTE, "/c", "track")])).toEqual([["/b", 1]]);
    expect(exits([a, b, ev(T0 + 30 * 1000, "/earlier")])).toEqual([["/b", 1]]);
    expect(exits([a, b, ev(T0 + 2 * MINUTE, "/a")])).toEqual([["/a", 1]]);
    // Two pageviews at the same instant: the one that arrived later is the exit.
    expect(exits([a, b, ev(T0 + MINUTE, "/tie")])).toEqual([["/tie", 1]]);
  });

  test("session metrics stay in the hour where the session started, while events land in their own hours", () => {
    // 23:30, 23:55 and 00:10 local: one session, started on 10 March, lasting 40 minutes.
    const { deltas, sessions } = runWorker([
      ev(T0, "/a"),
      ev(T0 + 25 * MINUTE, "/b"),
      ev(T0 + 40 * MINUTE, "/c"),
    ]);
    const nextHour = hourStart(T0 + 40 * MINUTE, TZ);
    expect(nextHour - hour).toBe(HOUR);
    expect(sessions).toHaveLength(1);
    expect(row(deltas, "hour", hour, "total", TOTAL_KEY)).toMatchObject({
      entries: 1,
      bounces: 0,
      durationMs: 40 * MINUTE,
      pageviews: 2,
    });
    expect(row(deltas, "hour", nextHour, "total", TOTAL_KEY)).toMatchObject({
      entries: 0,
      bounces: 0,
      durationMs: 0,
      pageviews: 1,
    });
    // The exit page is counted at the start hour too.
    expect(row(deltas, "hour", hour, "exitPage", "/c")?.entries).toBe(1);
    expect(row(deltas, "hour", nextHour, "exitPage", "/c")).toBeUndefined();
    expect(minuteRow(deltas, T0)).toMatchObject({ entries: 1, durationMs: 40 * MINUTE });
    expect(minuteRow(deltas, T0 + 40 * MINUTE)).toMatchObject({
      entries: 0,
      events: 1,
      pageviews: 1,
    });
  });

  test("a gap longer than the timeout starts a second session", () => {
    const { deltas, sessions } = runWorker([ev(T0, "/a"), ev(T0 + TIMEOUT + 1, "/b")]);
    expect(sessions.map((s) => s.state.entryPage)).toEqual(["/a", "/b"]);
    const total = rowsOf(deltas)
      .filter((r) => r.id.startsWith("hour|") && r.id.endsWith("|total|total"))
      .reduce(
        (acc, r) => ({ entries: acc.entries + r.entries, bounces: acc.bounces + r.bounces }),
        { entries: 0, bounces: 0 },
      );
    expect(total).toEqual({ entries: 2, bounces: 2 });
  });

  test("event rows carry the visitor, the event name and each prop; a custom event does not count on its page", () => {
    const { deltas } = runWorker([
      ev(T0, "/a"),
      ev(T0 + MINUTE, "/a", "track", { props: { plan: "pro", seats: 3 } }),
      ev(T0 + 2 * MINUTE, "/b", "track"),
    ]);
    const v = [hashVisitor("v1")];
    // Only the pageview counts for /a; the session entering there still brings its entry.
    expect(row(deltas, "hour", hour, "page", "/a")).toMatchObject({
      events: 1,
      pageviews: 1,
      entries: 1,
      bounces: 0,
      visitors: v,
    });
    // A page that only saw a custom event has no row at all.
    expect(row(deltas, "hour", hour, "page", "/b")).toBeUndefined();
    expect(row(deltas, "hour", hour, "hostname", "ex.com")).toMatchObject({
      events: 3,
      pageviews: 1,
    });
    expect(row(deltas, "hour", hour, "event", "pageview")).toMatchObject({
      events: 1,
      pageviews: 1,
    });
    expect(row(deltas, "hour", hour, "event", "click")).toMatchObject({ events: 2, pageviews: 0 });
    expect(row(deltas, "hour", hour, "prop", "click|plan|pro")).toMatchObject({ events: 1 });
    expect(row(deltas, "hour", hour, "prop", "click|seats|3")).toMatchObject({ events: 1 });
    expect(minuteRow(deltas, T0)).toMatchObject({
      events: 1,
      pageviews: 1,
      entries: 1,
      bounces: 0,
    });
  });

  test("rollup keys are cut to 300 characters, so two long values sharing that prefix share a row", () => {
    const long = "x".repeat(400);
    const { deltas } = runWorker([
      ev(T0, "/a", "track", { props: { q: long } }),
      ev(T0 + MINUTE, "/a", "track", { props: { q: long + "y" } }),
    ]);
    const props = rowsOf(deltas).filter((r) => r.id.startsWith(`hour|${hour}|prop|`));
    expect(props.map((r) => [r.id.split("|").slice(3).join("|").length, r.events])).toEqual([
      [300, 2],
    ]);
  });

  test("events before the minute cutoff write no minute rows, and their hour rows are unchanged", () => {
    const events = [ev(T0, "/a"), ev(T0 + 10 * MINUTE, "/b")];
    const all = new Deltas();
    const cut = new Deltas(T0 + 5 * MINUTE);
    for (const [i, e] of events.entries()) {
      const s = startSession(events[0]!);
      const state = i === 0 ? s : extendSession(s, e);
      for (const d of [all, cut]) {
        if (i > 0) d.addSession(s, TZ, -1);
        d.addSession(state, TZ, 1);
        d.addEvent(e, state, TZ);
      }
    }
    const minutes = (d: Deltas) =>
      rowsOf(d)
        .filter((r) => r.id.startsWith("minute|"))
        .map((r) => r.id);
    // Each counted minute has its total, its page and its referrer ("(none)") row.
    expect(minutes(all)).toHaveLength(6);
    const late = minuteStart(T0 + 10 * MINUTE);
    expect(minutes(cut).sort()).toEqual(
      [
        `minute|${hourStart(T0, TZ)}|total|${late}`,
        `minute|${hourStart(T0, TZ)}|page|${late}|/b`,
        `minute|${hourStart(T0, TZ)}|referrer|${late}|(none)`,
      ].sort(),
    );
    expect(rowsOf(cut).filter((r) => r.id.startsWith("hour|"))).toEqual(
      rowsOf(all).filter((r) => r.id.startsWith("hour|")),
    );
  });
});
