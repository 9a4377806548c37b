// @vitest-environment happy-dom
// The script-tag entry: data-* attributes, the default ingest URL, the
// pre-load queue stub, and the built bundle that registerRoutes serves.
import { beforeEach, describe, expect, test, vi } from "vitest";
import { setUrl, useTrackerHarness } from "../../test/trackerHarness.js";
import { TRACKER_SCRIPT } from "../client/trackerScript.js";
import type { Tracker } from "./index.js";

const h = useTrackerHarness();
beforeEach(() => {
  delete win.analytics;
});
const SRC = "https://happy-otter-123.convex.site/analytics/script.js";
const win = window as unknown as { analytics?: unknown };

/** Loads the script as a <script> tag with these attributes would: from source, or the built bundle. */
async function load(
  attributes: Record<string, string>,
  from: "source" | "bundle" = "source",
): Promise<Tracker> {
  const tag = document.createElement("script");
  tag.src = SRC;
  for (const [name, value] of Object.entries(attributes)) tag.setAttribute(name, value);
  Object.defineProperty(document, "currentScript", { configurable: true, value: tag });
  try {
    if (from === "bundle") new Function(TRACKER_SCRIPT)();
    else {
      vi.resetModules();
      await import("./script.js");
    }
  } finally {
    Object.defineProperty(document, "currentScript", { configurable: true, value: null });
  }
  const tracker = win.analytics as Tracker;
  h.trackers.push(tracker);
  return tracker;
}

const sent = async () => {
  for (const t of h.trackers) t.flush();
  await vi.advanceTimersByTimeAsync(0);
  return h.postedEvents();
};

describe.each(["source", "bundle"] as const)("the script tag (%s)", (from) => {
  test("with only data-key it sends a cookieless landing pageview to the ingest route beside the script", async () => {
    await load({ "data-key": "pk_live" }, from);
    const events = await sent();
    expect(h.posts.map((p) => [p.url, p.body.key])).toEqual([
      ["https://happy-otter-123.convex.site/analytics/ingest", "pk_live"],
    ]);
    expect(events).toEqual([
      expect.objectContaining({ type: "pageview", url: "http://localhost:3000/" }),
    ]);
    expect(events[0]).not.toHaveProperty("visitorId");
  });

  test("the data-* attributes configure the tracker", async () => {
    setUrl("/docs/intro");
    const tracker = await load(
      {
        "data-key": "pk_live",
        "data-api": "https://example.com/a/ingest",
        "data-mode": "persistent",
        "data-spa": "hash",
        // Bare attributes ("") work in browsers, but happy-dom leaves empty
        // values out of {...dataset}, so these spell the value out.
        "data-outbound": "true",
        "data-downloads": "epub",
        "data-404": "true",
        "data-exclude": "/admin/**, /drafts/*",
        "data-respect-dnt": "false",
      },
      from,
    );
    const link = document.createElement("a");
    link.href = "https://github.com/";
    link.addEventListener("click", (e) => e.preventDefault());
    document.body.append(link);
    link.click();
    link.href = "/book.epub";
    link.click();
    link.remove();
    history.pushState({}, "", "/docs/next"); // a new path is a new page in hash mode too
    setUrl("/docs/next#/a");
    dispatchEvent(new HashChangeEvent("hashchange"));
    setUrl("/admin/x");
    dispatchEvent(new HashChangeEvent("hashchange"));
    setUrl("/drafts/y#/b");
    dispatchEvent(new HashChangeEvent("hashchange"));
    tracker.identify("user_9");
    const events = await sent();
    expect(h.posts[0]!.url).toBe("https://example.com/a/ingest");
    expect(
      events.map((e) => [e.type, e.name ?? new URL(e.url).pathname + new URL(e.url).hash]),
    ).toEqual([
      ["pageview", "/docs/intro"],
      ["track", "404"],
      ["track", "Outbound Link: Click"],
      ["track", "File Download"],
      ["pageview", "/docs/next"],
      ["pageview", "/docs/next#/a"],
      ["identify", "/drafts/y#/b"],
    ]);
    expect(new Set(events.map((e) => e.visitorId)).size).toBe(1);
    expect(events[0]!.visitorId).toEqual(expect.any(String));
  });

  test("data-respect-dnt turns Do Not Track on", async () => {
    Object.defineProperty(navigator, "doNotTrack", { configurable: true, value: "1" });
    try {
      await load({ "data-key": "pk_live", "data-respect-dnt": "true" }, from);
      expect(await sent()).toEqual([]);
    } finally {
      Object.defineProperty(navigator, "doNotTrack", { configurable: true, value: null });
    }
  });

  test("calls queued by the one-line stub before the script loaded are replayed in order", async () => {
    // The stub documented in script.ts, verbatim.
    new Function(
      'window.analytics=window.analytics||{q:[]};"pageview track identify flush reset optOut optIn".split(" ").forEach(function(m){analytics[m]=analytics[m]||function(){analytics.q.push([m].concat([].slice.call(arguments)))}})',
    )();
    const stub = win.analytics as Tracker;
    stub.track("early", { plan: "pro" });
    stub.pageview({ url: "http://localhost:3000/virtual" });
    stub.flush();
    const tracker = await load({ "data-key": "pk_live" }, from);
    expect(tracker).not.toBe(stub);
    expect(typeof tracker.flush).toBe("function");
    await vi.advanceTimersByTimeAsync(0);
    expect(h.postedEvents().map((e) => e.name ?? new URL(e.url).pathname)).toEqual([
      "/",
      "early",
      "/virtual",
    ]);
  });

  test("a second copy of the script leaves the first tracker in place", async () => {
    const first = await load({ "data-key": "pk_live" }, from);
    h.trackers.pop();
    await load({ "data-key": "pk_other" }, from);
    expect(win.analytics).toBe(first);
    expect((await sent()).length).toBe(1);
  });
});
