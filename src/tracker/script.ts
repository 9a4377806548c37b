// The script-tag entry, built by scripts/build-tracker.mjs into
// src/client/trackerScript.ts and served at GET {prefix}/script.js:
//
//   <script defer src="https://<deployment>.convex.site/analytics/script.js" data-key="pk_..."></script>
//
// Options are data-* attributes on that tag: data-key, data-api (default: this
// script's URL with /script.js replaced by /ingest), data-mode
// ("cookieless" | "persistent"), data-spa ("history" | "hash" | "off"),
// data-outbound, data-downloads (or a list: "pdf,zip"), data-404 (on the
// not-found page), data-exclude ("/admin/**, /drafts/*"), data-respect-dnt.
// A bare attribute, or any value but "false", turns a flag on.
//
// Calls made before the script loads are kept by this one-line stub, placed
// before the tag, and replayed in order once it loads:
//
//   <script>window.analytics=window.analytics||{q:[]};"pageview track identify flush reset optOut optIn".split(" ").forEach(function(m){analytics[m]=analytics[m]||function(){analytics.q.push([m].concat([].slice.call(arguments)))}})</script>
import { createTracker, type Tracker, type TrackerOptions } from "./core.js";

type Stub = { q?: [keyof Tracker, ...unknown[]][] };
const w = window as unknown as { analytics?: Stub | Tracker };
const stub = w.analytics as Stub | undefined;
// Set while a classic <script> runs (the tag must not be type="module").
const script = document.currentScript as HTMLScriptElement;

// A second copy of the script (or a host's own tracker) leaves the first in place.
if (!stub || stub.q) {
  const d = script.dataset;
  // createTracker reads dataset values as they are: "" or "true" turns a flag
  // on, "false" off, and lists are comma-separated.
  const tracker = createTracker({
    ...d,
    api: d.api || script.src.replace("script.js", "ingest"),
    notFound: d[404],
  } as unknown as TrackerOptions);
  w.analytics = tracker;
  for (const [method, ...args] of stub?.q || [])
    (tracker[method] as (...a: unknown[]) => void)?.(...args);
}
