// A fake network and page for the browser tracker's unit tests (happy-dom):
// fetch and navigator.sendBeacon are replaced by recorders, replies are
// scripted, timers are fake, and localStorage and the URL are reset per test.
import { afterEach, beforeEach, vi } from "vitest";
import {
  createTracker,
  type Batch,
  type Tracker,
  type TrackerOptions,
} from "../src/tracker/index.js";

export const API = "https://demo.convex.site/analytics/ingest";
export const KEY = "pk_test";

export type Sent = Batch & { sentAt: number };
/** A scripted reply to the next fetch: a status (with headers), or a network error. */
export type Reply = { status: number; headers?: Record<string, string> } | "network-error";

/** The path as the page would see it, without going through the tracker's history wrappers. */
export function setUrl(path: string) {
  History.prototype.replaceState.call(history, null, "", path);
}

export function useTrackerHarness() {
  const h = {
    /** Replies to hand out, in order; once empty, every post gets a 202. */
    replies: [] as Reply[],
    posts: [] as { url: string; body: Sent }[],
    beacons: [] as { url: string; body: Sent; type: string }[],
    beaconAccepts: true,
    trackers: [] as Tracker[],
    start(options: Partial<TrackerOptions> = {}): Tracker {
      const tracker = createTracker({ key: KEY, api: API, ...options });
      h.trackers.push(tracker);
      return tracker;
    },
    /** The batches persisted for the next page load. */
    stored(): Batch[] {
      return JSON.parse(localStorage.getItem(`ea:q:${KEY}`) ?? "[]");
    },
    /** Every event that reached the server by fetch, in order. */
    postedEvents() {
      return h.posts.flatMap((p) => p.body.events);
    },
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2025-06-02T10:00:00Z") });
    localStorage.clear();
    setUrl("/");
    h.replies = [];
    h.posts = [];
    h.beacons = [];
    h.beaconAccepts = true;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        h.posts.push({ url: String(url), body: JSON.parse(String(init.body)) });
        const reply = h.replies.shift() ?? { status: 202 };
        if (reply === "network-error") throw new TypeError("Failed to fetch");
        return { status: reply.status, headers: new Headers(reply.headers) };
      }),
    );
    Object.defineProperty(navigator, "sendBeacon", {
      configurable: true,
      value: vi.fn((url: string, data: unknown) => {
        // A string body is sent as text/plain;charset=UTF-8: a CORS-safelisted type, so no preflight.
        h.beacons.push({
          url,
          body: JSON.parse(String(data)),
          type: typeof data === "string" ? "text/plain" : "other",
        });
        return h.beaconAccepts;
      }),
    });
  });

  afterEach(() => {
    for (const tracker of h.trackers) tracker.destroy();
    h.trackers = [];
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  return h;
}

export function hidePage(how: "pagehide" | "visibilitychange") {
  if (how === "pagehide") {
    dispatchEvent(new Event("pagehide"));
    return;
  }
  Object.defineProperty(document, "hidden", { configurable: true, value: true });
  document.dispatchEvent(new Event("visibilitychange"));
  Object.defineProperty(document, "hidden", { configurable: true, value: false });
}
