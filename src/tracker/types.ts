// The tracker's public types, the wire shapes (the ingest contract: README.md, "The ingest route")
// and the small pure helpers core.ts uses.
import type { AnalyticsEvent } from "../shared.js";

/** Event properties: flat, with string, finite number or boolean values (at most 30). */
export type Props = Record<string, string | number | boolean>;

/** One event as the ingest route receives it. */
export type TrackerEvent = {
  id: string;
  type: "pageview" | "track" | "identify";
  name?: string;
  occurredAt: number;
  url: string;
  title?: string;
  referrer?: string;
  screen?: string;
  tz?: string;
  props?: Props;
  /** Persistent mode only: cookieless mode leaves the visitor id to the server. */
  visitorId?: string;
  userId?: string;
  traits?: Props;
};

/**
 * Checked when the package compiles, erased from the bundle: a tracker event is an
 * ingest event (vEvent in src/shared/events.ts) less what the server derives, so the two
 * cannot drift apart.
 */
type ServerDerived = "visitorId" | "country" | "device" | "browser" | "os";
type Satisfies<T extends U, U> = T;
export type TrackerEventIsAnIngestEvent = Satisfies<
  TrackerEvent,
  Omit<AnalyticsEvent, ServerDerived> & { visitorId?: string }
>;

/** A batch as stored and resent; `sentAt` is added at each send. */
export type Batch = { key: string; batchId: string; events: TrackerEvent[] };

export type TrackerOptions = {
  /** The site's public write key ("pk_..."). */
  key: string;
  /** The ingest URL, e.g. "https://<deployment>.convex.site/analytics/ingest". */
  api: string;
  /**
   * "cookieless" (the default) stores no identifier on the device and lets the
   * server derive a daily visitor id; "persistent" keeps a random visitor id in
   * localStorage, which allows identify() and cross-day stitching. Both modes
   * keep unsent batches (which carry no identifier in cookieless mode) and an
   * opt-out flag in localStorage.
   */
  mode?: "cookieless" | "persistent";
  /** How single-page navigations become pageviews. Default "history". */
  spa?: "history" | "hash" | "off";
  /** Send a pageview now and on each SPA navigation. Default true. */
  autoPageviews?: boolean;
  /** Track clicks on links to other hosts as "Outbound Link: Click" with `{ url }`. */
  outbound?: boolean;
  /**
   * Track clicks on file links as "File Download" with `{ url }`: `true` for
   * pdf, zip, dmg, exe, csv, docx, xlsx, mp3 and mp4, or a list of lowercase
   * extensions (an empty list also means the defaults).
   */
  downloads?: boolean | string[];
  /** This page is the site's not-found page: send a "404" event with `{ path }`. */
  notFound?: boolean;
  /**
   * Path globs, e.g. ["/admin/**", "/drafts/*"]: no pageview or event is
   * recorded while the page's location.pathname matches one. `*` matches
   * within a segment, `**` across segments. identify() is never excluded.
   */
  exclude?: string[];
  /** Send nothing when the browser's Do Not Track setting is on. */
  respectDnt?: boolean;
};

/**
 * Overrides for one pageview, field by field (leave out what you do not set):
 * `url` must be absolute; title and referrer default to the document's.
 */
export type PageviewOptions = { url?: string; title?: string; referrer?: string; props?: Props };

export type Tracker = {
  /** Records a pageview of the current page, or of `url`. */
  pageview(options?: PageviewOptions): void;
  /** Records a custom event, e.g. `track("signup", { plan: "pro" })`. */
  track(name: string, props?: Props): void;
  /** Persistent mode only: ties this visitor's events to `userId`. Ignored, with a warning, in cookieless mode. */
  identify(userId: string, traits?: Props): void;
  /** Sends buffered events now instead of at 10 events or after 5 s. */
  flush(): void;
  /** Forgets the user id and starts a new visitor id (e.g. on logout). */
  reset(): void;
  /** Stops all sending and discards unsent events; remembered in localStorage. */
  optOut(): void;
  /** Undoes optOut(). */
  optIn(): void;
  /** Stops this tracker for good: buffered events are stored, nothing more is recorded or sent. */
  destroy(): void;
};

/** A path glob as a RegExp: `**` spans segments, `*` stays within one. */
export const glob = (g: string) =>
  RegExp(
    "^" +
      g
        .split("**")
        .map((part) =>
          part
            .split("*")
            .map((s) => s.replace(/\W/g, "\\$&"))
            .join("[^/]*"),
        )
        .join(".*") +
      "$",
  );

/** A viewport width as a size class (Plausible's breakpoints). */
export const screenClass = (w: number) =>
  w < 576 ? "mobile" : w < 992 ? "tablet" : w < 1440 ? "laptop" : "desktop";

/**
 * A unique id: the time plus about 52 random bits, so two batches collide
 * (and the second is taken for a retry of the first) only when both land in
 * the same millisecond and draw the same bits. crypto.randomUUID would need a
 * secure context and costs more bytes.
 */
export const uid = () => Date.now().toString(36) + Math.random().toString(36).slice(2);
