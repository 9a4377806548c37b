// @vitest-environment happy-dom
// Delivery: batching, flush triggers, the retry contract, persistence across
// reloads, the storage cap, consent, identity and the wire shape.
import { describe, expect, test, vi } from "vitest";
import { API, KEY, hidePage, setUrl, useTrackerHarness } from "../../test/trackerHarness.js";
import { normalizeEvent } from "../component/events.js";
import { droppedBatches, MAX_ATTEMPTS } from "./index.js";

const h = useTrackerHarness();
const manual = { autoPageviews: false } as const;
const flushMicrotasks = () => vi.advanceTimersByTimeAsync(0);

describe("batching", () => {
  test("nine events wait in memory and the tenth sends all ten in one batch", async () => {
    const t = h.start(manual);
    for (let i = 1; i <= 9; i++) t.track(`e${i}`);
    await flushMicrotasks();
    expect(h.posts).toHaveLength(0);
    t.track("e10");
    await flushMicrotasks();
    expect(h.posts).toHaveLength(1);
    expect(h.posts[0]!.body.events.map((e) => e.name)).toEqual([
      "e1",
      "e2",
      "e3",
      "e4",
      "e5",
      "e6",
      "e7",
      "e8",
      "e9",
      "e10",
    ]);
  });

  test("a lone event is sent 5 seconds after it was recorded, not before", async () => {
    const t = h.start(manual);
    t.track("signup");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.posts).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.posts).toHaveLength(1);
    expect(h.posts[0]!.url).toBe(API);
  });

  test("flush() sends buffered events at once", async () => {
    const t = h.start(manual);
    t.track("a");
    t.track("b");
    t.flush();
    await flushMicrotasks();
    expect(h.postedEvents().map((e) => e.name)).toEqual(["a", "b"]);
  });

  test("a delivered batch leaves nothing in storage", async () => {
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await flushMicrotasks();
    expect(h.stored()).toEqual([]);
    expect(localStorage.length).toBe(0);
  });
});

describe("flush when the page is hidden", () => {
  test.each(["pagehide", "visibilitychange"] as const)(
    "%s hands buffered events to sendBeacon as a text/plain string, not fetch",
    async (how) => {
      const t = h.start(manual);
      t.track("a");
      t.track("b");
      t.track("c");
      hidePage(how);
      expect(h.beacons).toHaveLength(1);
      expect(h.beacons[0]!.url).toBe(API);
      expect(h.beacons[0]!.type).toBe("text/plain");
      expect(h.beacons[0]!.body.events.map((e) => e.name)).toEqual(["a", "b", "c"]);
      expect(h.beacons[0]!.body.key).toBe(KEY);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(h.posts).toHaveLength(0);
      expect(h.stored()).toEqual([]);
    },
  );

  test("a batch sendBeacon refuses stays stored for the next load", () => {
    h.beaconAccepts = false;
    const t = h.start(manual);
    t.track("a");
    hidePage("pagehide");
    expect(h.stored().map((b) => b.events.length)).toEqual([1]);
  });

  test("while the server is failing, a beaconed batch also stays stored so the next load can resend it", async () => {
    h.replies = [{ status: 503 }];
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await flushMicrotasks();
    hidePage("pagehide");
    expect(h.beacons).toHaveLength(1);
    expect(h.stored().map((b) => b.batchId)).toEqual([h.posts[0]!.body.batchId]);
  });
});

describe("the retry contract", () => {
  test.each([
    ["a network error", "network-error" as const],
    ["a 500", { status: 500 }],
    ["a 503", { status: 503 }],
    ["a 429", { status: 429 }],
  ])("after %s the batch is resent with the same batchId and events", async (_, reply) => {
    h.replies = [reply];
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.posts).toHaveLength(2);
    expect(h.posts[1]!.body.batchId).toBe(h.posts[0]!.body.batchId);
    expect(h.posts[1]!.body.events).toEqual(h.posts[0]!.body.events);
    expect(h.stored()).toEqual([]);
  });

  test("the backoff doubles with each failure: 750, 1500, 3000 ms at a mid-range jitter draw", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5); // jitter factor 0.75
    h.replies = ["network-error", "network-error", "network-error"];
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await flushMicrotasks();
    for (const [wait, calls] of [
      [750, 2],
      [1500, 3],
      [3000, 4],
    ] as const) {
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(h.posts).toHaveLength(calls - 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.posts).toHaveLength(calls);
    }
    expect(new Set(h.posts.map((p) => p.body.batchId)).size).toBe(1);
  });

  test.each([
    [0, 500],
    [0.5, 750],
    [0.998, 999],
  ])(
    "the jitter follows Math.random: a draw of %d makes the first retry wait %i ms",
    async (draw, wait) => {
      vi.spyOn(Math, "random").mockReturnValue(draw);
      h.replies = ["network-error"];
      const t = h.start(manual);
      t.track("a");
      t.flush();
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(h.posts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.posts).toHaveLength(2);
    },
  );

  test("Retry-After in seconds is a floor on the wait", async () => {
    h.replies = [{ status: 429, headers: { "Retry-After": "30" } }];
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(h.posts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.posts).toHaveLength(2);
    expect(h.posts[1]!.body.batchId).toBe(h.posts[0]!.body.batchId);
  });

  test.each([400, 401, 403, 404, 413])(
    "a %i drops the batch without a retry and warns once",
    async (status) => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      h.replies = [{ status }];
      const t = h.start(manual);
      t.track("a");
      t.flush();
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(h.posts).toHaveLength(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain(String(status));
      expect(h.stored()).toEqual([]);
    },
  );

  test("a dropped batch does not block the batches behind it", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    h.replies = [{ status: 400 }];
    const t = h.start(manual);
    t.track("bad");
    t.flush();
    t.track("good");
    t.flush();
    await flushMicrotasks();
    expect(h.postedEvents().map((e) => e.name)).toEqual(["bad", "good"]);
    expect(h.stored()).toEqual([]);
  });

  test(`after ${MAX_ATTEMPTS} failed sends the tracker stops retrying for this page load and keeps the batch stored`, async () => {
    h.replies = Array(50).fill({ status: 503 });
    const t = h.start(manual);
    t.track("a");
    t.flush();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(h.posts).toHaveLength(MAX_ATTEMPTS);
    expect(h.stored()).toHaveLength(1);
  });
});

describe("persistence across page loads", () => {
  test("a batch that never got through is resent by the next page load with the same batchId", async () => {
    h.replies = Array(MAX_ATTEMPTS).fill("network-error");
    const first = h.start(manual);
    first.track("checkout");
    first.flush();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    const [stored] = h.stored();
    expect(stored!.events.map((e) => e.name)).toEqual(["checkout"]);
    first.destroy(); // the page goes away without a pagehide (a crash or a killed tab)

    h.posts = [];
    h.start(manual); // the next load
    await flushMicrotasks();
    expect(h.posts).toHaveLength(1);
    expect(h.posts[0]!.body.batchId).toBe(stored!.batchId);
    expect(h.posts[0]!.body.events).toEqual(stored!.events);
    expect(h.stored()).toEqual([]);
  });

  test("storage keeps the newest 20 batches; the oldest are dropped first and counted", async () => {
    h.replies = Array(100).fill("network-error");
    const t = h.start(manual);
    for (let i = 1; i <= 25; i++) {
      t.track(`e${i}`);
      t.flush();
    }
    await flushMicrotasks();
    expect(h.stored().map((b) => b.events[0]!.name)).toEqual(
      Array.from({ length: 20 }, (_, i) => `e${i + 6}`),
    );
    expect(droppedBatches()).toBe(5);
  });
});

describe("consent", () => {
  test("optOut() is remembered across loads: nothing is sent, by fetch or beacon, until optIn()", async () => {
    const first = h.start(manual);
    first.track("before");
    first.optOut();
    first.destroy();

    const t = h.start(); // the next load, with its automatic pageview
    t.track("a");
    t.flush();
    hidePage("pagehide");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.posts).toHaveLength(0);
    expect(h.beacons).toHaveLength(0);
    expect(h.stored()).toEqual([]);

    t.optIn();
    t.track("after");
    t.flush();
    await flushMicrotasks();
    expect(h.postedEvents().map((e) => e.name)).toEqual(["after"]);
  });

  test("with respectDnt, Do Not Track on means nothing is recorded", async () => {
    Object.defineProperty(navigator, "doNotTrack", { configurable: true, value: "1" });
    try {
      const t = h.start({ respectDnt: true });
      t.track("a");
      t.flush();
      await flushMicrotasks();
      expect(h.posts).toHaveLength(0);
      const ignoring = h.start({ ...manual, respectDnt: false });
      ignoring.track("b");
      ignoring.flush();
      await flushMicrotasks();
      expect(h.postedEvents().map((e) => e.name)).toEqual(["b"]);
    } finally {
      Object.defineProperty(navigator, "doNotTrack", { configurable: true, value: null });
    }
  });
});

describe("identity", () => {
  test("cookieless mode sends no visitorId and ignores identify() with one warning", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const t = h.start(manual);
    t.identify("user_1", { plan: "pro" });
    t.track("a");
    t.flush();
    await flushMicrotasks();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(h.postedEvents()).toHaveLength(1);
    expect(h.postedEvents()[0]).not.toHaveProperty("visitorId");
    expect(h.postedEvents()[0]).not.toHaveProperty("userId");
    expect(Object.keys(localStorage)).toEqual([]);
  });

  test("persistent mode keeps one visitorId across loads, and identify() tags later events with the userId", async () => {
    const first = h.start({ ...manual, mode: "persistent" });
    first.track("a");
    first.identify("user_1", { plan: "pro" });
    first.track("b");
    first.destroy();
    h.start({ ...manual, mode: "persistent" }).track("c");
    await vi.advanceTimersByTimeAsync(5_000);
    const [a, identify, b, c] = h.postedEvents();
    expect(a!.visitorId).toMatch(/^\w{8,}$/);
    expect([identify!.visitorId, b!.visitorId, c!.visitorId]).toEqual([
      a!.visitorId,
      a!.visitorId,
      a!.visitorId,
    ]);
    expect(a!.userId).toBeUndefined();
    expect(identify).toMatchObject({ type: "identify", userId: "user_1", traits: { plan: "pro" } });
    expect([b!.userId, c!.userId]).toEqual(["user_1", "user_1"]);
  });

  test("reset() forgets the user and starts a new visitor", async () => {
    const t = h.start({ ...manual, mode: "persistent" });
    t.identify("user_1");
    t.reset();
    t.track("after");
    t.flush();
    await flushMicrotasks();
    const [identify, after] = h.postedEvents();
    expect(after!.userId).toBeUndefined();
    expect(after!.visitorId).not.toBe(identify!.visitorId);
  });
});

describe("the wire shape", () => {
  test("the landing pageview carries the full URL with UTM parameters, the referrer, title, screen class and timezone", async () => {
    setUrl("/pricing?utm_source=newsletter&utm_medium=email");
    document.title = "Pricing";
    Object.defineProperty(document, "referrer", {
      configurable: true,
      value: "https://news.ycombinator.com/",
    });
    try {
      h.start();
      await vi.advanceTimersByTimeAsync(5_000);
    } finally {
      Object.defineProperty(document, "referrer", { configurable: true, value: "" });
    }
    const [batch] = h.posts.map((p) => p.body);
    expect(Object.keys(batch!).sort()).toEqual(["batchId", "events", "key", "sentAt"]);
    expect(batch!.key).toBe(KEY);
    expect(batch!.sentAt).toBe(Date.now());
    expect(batch!.events).toEqual([
      {
        id: expect.any(String),
        type: "pageview",
        occurredAt: Date.now() - 5_000,
        url: "http://localhost:3000/pricing?utm_source=newsletter&utm_medium=email",
        title: "Pricing",
        referrer: "https://news.ycombinator.com/",
        screen: "laptop", // happy-dom's 1024 px window
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
      },
    ]);
  });

  test("every event the tracker sends passes the ingest route's validation", async () => {
    const t = h.start({ mode: "persistent" });
    t.track("signup", { plan: "pro", seats: 3, annual: true });
    t.identify("user_1", { email: "a@b.c" });
    t.pageview({ url: "http://localhost:3000/virtual", props: { ab: "b" } });
    t.flush();
    await flushMicrotasks();
    const events = h.postedEvents();
    expect(events.map((e) => e.type)).toEqual(["pageview", "track", "identify", "pageview"]);
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    for (const event of events)
      expect(normalizeEvent(event, Date.now())).toMatchObject({ ok: true });
  });
});
