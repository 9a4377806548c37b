// The browser tracker (the ingest contract: README.md, "The ingest route"). Dependency-free, and written for
// size because its script-tag build has a 1.5 KB brotli budget: closures and
// locals (which the minifier renames) rather than classes and fields.
//
// Delivery: events collect in `pending` and are cut into a batch with a fresh
// batchId at 10 events, after 5 s, on flush() or when the page is hidden.
// Batches wait in `outbox`, mirrored to localStorage and capped, and are posted
// one at a time as text/plain (a string body), which needs no CORS preflight.
// Network errors, 5xx and 429 are retried with the same batchId, so the
// server's (site, batchId) dedup makes a retry harmless; any other status drops
// the batch with one console.warn, since sending it again cannot help.
//
// Tabs of one site share the store and each saves its own outbox, so the last
// to save wins; a tab still retries its own batches in memory and saves them
// again when it is hidden, so a failing tab's batches outlive its neighbours.
import {
  glob,
  screenClass,
  uid,
  type Batch,
  type PageviewOptions,
  type Props,
  type Tracker,
  type TrackerEvent,
  type TrackerOptions,
} from "./types.js";

export type { Batch, PageviewOptions, Props, Tracker, TrackerEvent, TrackerOptions };

export const BATCH_SIZE = 10;
export const FLUSH_MS = 5_000;
/** Batches kept in localStorage; past this the oldest are dropped and counted. */
export const MAX_STORED_BATCHES = 20;
/**
 * Sends of one batch per page load; after that it waits in storage for the
 * next load. The backoff before retry n is 500 ms * 2^n times a random
 * 50-100%, so this also caps the wait at about a minute.
 */
export const MAX_ATTEMPTS = 8;
const DOWNLOADS = "pdf,zip,dmg,exe,csv,docx,xlsx,mp3,mp4".split(",");

// localStorage can be missing, full or blocked (private modes, sandboxed
// iframes): every access degrades to memory-only instead of throwing. Named
// properties (localStorage[k]) are Storage's standard getter, setter and
// deleter, and minify smaller than getItem/setItem/removeItem.
const get = (k: string): string | undefined => {
  try {
    return localStorage["ea:" + k];
  } catch {
    // blocked
  }
};
/** Writes a value, or removes the entry when there is none. */
const set = (k: string, v?: string | number | null) => {
  try {
    if (v) localStorage["ea:" + k] = v;
    else delete localStorage["ea:" + k];
  } catch {
    // blocked or full: memory only
  }
};

// Options may come straight from a script tag's dataset (script.ts), where a
// flag is "" for a bare attribute, and a list is a comma-separated string.
const flag = (v: unknown) => v != null && v + "" != "false";
const list = (v: unknown) => (v ? (v + "").split(/ *, */) : []);

/** How many stored batches this browser has dropped, oldest first, because the store was full. */
export const droppedBatches = () => +get("drop")! || 0;

/**
 * Starts a tracker: a pageview now (unless `autoPageviews: false`), then
 * pageviews on SPA navigation and whatever you call.
 *
 * @example
 * ```ts
 * import { createTracker } from "convex-event-analytics/tracker";
 *
 * const analytics = createTracker({
 *   key: "pk_...",
 *   api: "https://<deployment>.convex.site/analytics/ingest",
 * });
 * analytics.track("signup", { plan: "pro" });
 * ```
 */
export function createTracker(o: TrackerOptions): Tracker {
  const Q = "q:" + o.key;
  const persistent = o.mode == "persistent";
  const hash = o.spa == "hash";
  const exclude = list(o.exclude).map(glob);
  // true, "true" or a bare attribute mean the default extensions; anything else is a list.
  const downloads = /^(true)?$/.test(o.downloads + "") ? DOWNLOADS : list(o.downloads);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // Only this code writes the store, so it parses; nothing stored gives [].
  let outbox: Batch[] = JSON.parse(get(Q) || "[]");
  let pending: TrackerEvent[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined | 0;
  // Truthy while a send is in flight or waiting to be retried.
  let busy: unknown;
  // Failed sends in a row: nonzero means the server is unhealthy right now.
  let attempts = 0;
  let visitorId = get("vid");
  let lastPage: unknown;
  // Set by destroy(): listeners stay attached but every path checks off().
  let destroyed: unknown;

  const off = () => destroyed || get("out") || (flag(o.respectDnt) && navigator.doNotTrack == "1");
  const save = () => set(Q, outbox[0] && JSON.stringify(outbox));
  const data = (b: Batch) => JSON.stringify({ ...b, sentAt: Date.now() });

  const add = (type: TrackerEvent["type"], fields: Partial<TrackerEvent>) => {
    // Globs match the page the visitor is on; identity is not page content,
    // so an excluded page still identifies.
    if (off() || (type != "identify" && exclude.some((r) => r.test(location.pathname)))) return;
    // Cookieless mode sends no visitorId: the server derives one from a daily salt.
    if (persistent && !visitorId) set("vid", (visitorId = uid()));
    if (
      pending.push({
        id: uid(),
        type,
        occurredAt: Date.now(),
        url: location.href,
        screen: screenClass(innerWidth),
        tz,
        ...(persistent && { visitorId, userId: get("uid") }),
        ...fields,
      }) >= BATCH_SIZE
    )
      flush();
    else flushTimer ||= setTimeout(flush, FLUSH_MS);
  };

  const cut = () => {
    clearTimeout(flushTimer!);
    flushTimer = 0;
    if (pending[0]) {
      // The outbox never holds more than the cap, so one batch in means at most one out.
      if (outbox.push({ key: o.key, batchId: uid(), events: pending }) > MAX_STORED_BATCHES) {
        outbox.shift();
        set("drop", droppedBatches() + 1);
      }
      pending = [];
      save();
    }
  };

  const send = () => {
    const batch = outbox[0];
    if (busy || !batch || off()) return;
    busy = 1;
    // `void`: both outcomes are handled below; nothing is left to await.
    void fetch(o.api, { method: "POST", body: data(batch) })
      .catch(() => undefined)
      .then((r) => {
        // No response is a network error: retried like a 5xx.
        const status = r?.status;
        if (!status || status == 429 || status > 499) {
          // Retry-After is a floor; the jitter spreads out clients that failed
          // together. After MAX_ATTEMPTS, busy stays set: the store keeps the
          // batches for the next load.
          if (++attempts < MAX_ATTEMPTS)
            setTimeout(
              () => {
                busy = 0;
                send();
              },
              Math.max(
                +(r?.headers.get("Retry-After") as string) * 1e3 || 0,
                500 * 2 ** attempts * (0.5 + Math.random() / 2),
              ),
            );
        } else {
          busy = attempts = 0;
          if (status > 299) console.warn("analytics: dropped a batch, status " + status);
          // By identity: the outbox may have been cut or trimmed meanwhile.
          outbox = outbox.filter((b) => b != batch);
          save();
          send();
        }
      });
  };

  const flush = () => {
    cut();
    send();
  };

  // The page may be gone before a fetch resolves, so hand every batch to
  // sendBeacon. A batch it accepted is done, unless the server has been
  // failing: then it also stays stored, to be resent (and deduplicated) on
  // the next load.
  const hide = () => {
    cut();
    if (!off()) {
      outbox = outbox.filter((b) => !navigator.sendBeacon?.(o.api, data(b)) || attempts);
      save();
    }
  };

  const page = () => {
    const key = location.pathname + (hash ? location.hash : "");
    if (key != lastPage) {
      lastPage = key;
      tracker.pageview();
    }
  };

  const tracker: Tracker = {
    pageview(p = {}) {
      // document.referrer stays the landing page's referrer through SPA
      // navigations; the server attributes a session by its first pageview.
      // Options override the defaults field by field: leave out what you do not set.
      add("pageview", { title: document.title, referrer: document.referrer, ...p });
    },
    track(name, props) {
      add("track", { name, props });
    },
    identify(userId, traits) {
      // Cookieless mode promises nothing identifying on the device, and a user
      // id would be exactly that: ignored, with a warning, not thrown, so a
      // misconfigured tag cannot break the host page.
      if (!persistent) return console.warn("analytics: identify needs persistent mode");
      set("uid", userId);
      add("identify", { userId, traits });
    },
    flush,
    reset() {
      set("uid");
      set("vid", (visitorId = ""));
    },
    optOut() {
      set("out", "1");
      pending = outbox = [];
      save();
    },
    optIn() {
      set("out");
    },
    destroy() {
      cut();
      destroyed = 1;
    },
  };

  addEventListener("pagehide", hide);
  document.addEventListener("visibilitychange", () => document.hidden && hide());
  document.addEventListener("click", (e) => {
    const a = (e.target as Element).closest?.("a");
    // mailto:, tel: and javascript: links have no host.
    if (a?.host) {
      const props = { url: a.href };
      if (downloads.includes(a.pathname.split(".").pop()!.toLowerCase()))
        tracker.track("File Download", props);
      else if (flag(o.outbound) && a.host != location.host)
        tracker.track("Outbound Link: Click", props);
    }
  });
  if (o.autoPageviews != false) {
    page();
    if (o.spa != "off") {
      // Wrapped, not replaced, so a router's or another tracker's wrapper
      // still runs; a destroyed tracker's wrapper just passes through.
      for (const m of ["pushState", "replaceState"] as const) {
        const original = history[m];
        history[m] = function (this: History, ...args: Parameters<History["pushState"]>) {
          original.apply(this, args);
          page();
        };
      }
      addEventListener(hash ? "hashchange" : "popstate", page);
    }
  }
  if (flag(o.notFound)) tracker.track("404", { path: location.pathname });
  send();
  return tracker;
}
