// A seeded, deterministic analytics workload for the cost benchmark: one site,
// 30 days of sessions ending at a fixed instant, each session one browser batch
// of 4 events (pageviews, sometimes a track event with props). Page paths follow
// a Zipf(s = 1) distribution; referrers, UTM tags, screens, countries and
// devices vary by session and visitor. Same options, same batches, byte for byte.
import { rng } from "../test/random.js";
import { DAY, HOUR, MINUTE } from "../src/component/time.js";

/** The workload ends here: 12:00 in Berlin (CEST), so the 30 days span the March DST change and a month end. */
export const WORKLOAD_END = Date.UTC(2026, 3, 10, 10, 0, 0);
export const WORKLOAD_TIMEZONE = "Europe/Berlin";
export const HOSTNAME = "shop.example.com";

export type WorkloadOptions = {
  /** Total events; a multiple of `eventsPerBatch`. */
  events: number;
  /** Distinct page paths, drawn with Zipf(s = 1). */
  paths: number;
  visitors?: number;
  days?: number;
  end?: number;
  eventsPerBatch?: number;
  seed?: number;
};

/** An event as a browser (or the ingest route) hands it to ingestBatch. */

export type RawEvent = {
  id: string;
  type: "pageview" | "track";
  name?: string;
  occurredAt: number;
  url: string;
  referrer?: string;
  screen: string;
  tz: string;
  props?: Record<string, string | number | boolean>;
  visitorId: string;
  // Derived by the ingest route from the request (edge headers, user agent);
  // ingestBatch keeps them from an already-enriched event.
  country: string;
  device: string;
  browser: string;
  os: string;
};

export type Batch = { batchId: string; visitorId: string; receivedAt: number; events: RawEvent[] };

export type Workload = {
  options: Required<WorkloadOptions>;
  start: number;
  end: number;
  batches: Batch[];
  /** Oracle figures the reports must reproduce over [start, end). */
  totals: {
    events: number;
    pageviews: number;
    trackEvents: number;
    visitors: number;
    paths: number;
  };
};

/** Draws 0..n-1 with P(k) proportional to 1 / (k + 1)^s; the table is built once, the draw takes the generator. */
export function zipf(n: number, s: number): (random: () => number) => number {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cumulative[k] = sum += 1 / (k + 1) ** s;
  return (random) => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function weighted<T>(items: readonly (readonly [T, number])[], random: () => number): () => T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  return () => {
    let x = random() * total;
    for (const [item, w] of items) if ((x -= w) < 0) return item;
    return items[items.length - 1]![0];
  };
}

const NAMED_PATHS = [
  "/",
  "/pricing",
  "/features",
  "/blog",
  "/docs",
  "/signup",
  "/login",
  "/about",
  "/contact",
  "/changelog",
];
export function pathName(rank: number): string {
  if (rank < NAMED_PATHS.length) return NAMED_PATHS[rank]!;
  return rank < 20 ? `/blog/post-${rank - NAMED_PATHS.length + 1}` : `/p/${rank}`;
}

const REFERRERS = [
  [undefined, 40],
  ["https://www.google.com/", 25],
  ["https://www.bing.com/", 4],
  ["https://duckduckgo.com/", 4],
  ["https://news.ycombinator.com/", 5],
  ["https://t.co/abc123", 4],
  ["https://www.reddit.com/r/webdev/", 4],
  ["https://www.facebook.com/", 3],
  ["https://github.com/example/repo", 3],
  ["https://mail.google.com/", 2],
  ["https://blog.someone.dev/post", 3],
  ["https://www.linkedin.com/feed/", 3],
] as const;
const UTMS = [
  [null, 85],
  ["utm_source=newsletter&utm_medium=email&utm_campaign=april", 5],
  ["utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=analytics", 4],
  ["utm_source=twitter&utm_medium=social&utm_campaign=launch&utm_content=thread", 3],
  ["utm_source=partner&utm_medium=affiliate&utm_campaign=spring", 3],
] as const;
const COUNTRIES = [
  ["DE", 30],
  ["US", 25],
  ["GB", 8],
  ["FR", 7],
  ["NL", 5],
  ["AT", 4],
  ["CH", 4],
  ["IN", 5],
  ["BR", 4],
  ["JP", 3],
  ["CA", 3],
  ["SE", 2],
] as const;
type Device = { device: string; browser: string; os: string; screen: string };
const DEVICES: readonly (readonly [Device, number])[] = [
  [{ device: "desktop", browser: "Chrome", os: "Windows", screen: "1920x1080" }, 30],
  [{ device: "desktop", browser: "Safari", os: "macOS", screen: "1440x900" }, 15],
  [{ device: "desktop", browser: "Firefox", os: "Linux", screen: "2560x1440" }, 5],
  [{ device: "mobile", browser: "Mobile Safari", os: "iOS", screen: "390x844" }, 25],
  [{ device: "mobile", browser: "Chrome", os: "Android", screen: "412x915" }, 18],
  [{ device: "tablet", browser: "Safari", os: "iPadOS", screen: "820x1180" }, 7],
];
const TRACKS = [
  ["signup", () => ({ plan: "free" })],
  ["signup", () => ({ plan: "pro" })],
  ["click", () => ({ button: "cta-hero" })],
  ["click", () => ({ button: "cta-footer" })],
  ["download", () => ({ file: "whitepaper.pdf", size: 2 })],
] as const;

/** Traffic by hour of day (Berlin, roughly): quiet at night, busiest in the afternoon. */
function dayShape(utcHour: number): number {
  const local = (utcHour + 1) % 24;
  return 0.25 + Math.max(0, Math.sin(((local - 6) / 18) * Math.PI));
}

export function generateWorkload(options: WorkloadOptions): Workload {
  const o: Required<WorkloadOptions> = {
    visitors: 500,
    days: 30,
    end: WORKLOAD_END,
    eventsPerBatch: 4,
    seed: 20260410,
    ...options,
  };
  if (o.events % o.eventsPerBatch !== 0)
    throw new Error("events must be a multiple of eventsPerBatch");
  const random = rng(o.seed ^ (o.paths * 7919) ^ o.events);
  const start = o.end - o.days * DAY;
  const pickPath = zipf(o.paths, 1);
  const pickReferrer = weighted(REFERRERS, random);
  const pickUtm = weighted(UTMS, random);
  const pickCountry = weighted(COUNTRIES, random);
  const pickDevice = weighted(DEVICES, random);
  const pickTrack = weighted(
    TRACKS.map((t) => [t, 1] as const),
    random,
  );

  // A visitor keeps their country and device for the whole month.
  const visitors = Array.from({ length: o.visitors }, (_, i) => ({
    id: `visitor-${i.toString().padStart(4, "0")}`,
    country: pickCountry(),
    ...pickDevice(),
  }));

  const sessionCount = o.events / o.eventsPerBatch;
  // Session starts: day-shaped, at least 15 minutes before the end so every event falls inside [start, end).
  const starts: number[] = [];
  while (starts.length < sessionCount) {
    const t = start + Math.floor(random() * (o.days * DAY - 15 * MINUTE));
    if (random() * 1.25 < dayShape(new Date(t).getUTCHours())) starts.push(t);
  }
  starts.sort((a, b) => a - b);

  const batches: Batch[] = [];
  let pageviews = 0;
  let trackEvents = 0;
  const seenVisitors = new Set<string>();
  const seenPaths = new Set<string>();
  for (const [s, startedAt] of starts.entries()) {
    const visitor = visitors[Math.floor(random() * visitors.length)]!;
    seenVisitors.add(visitor.id);
    const batchId = `batch-${s.toString().padStart(6, "0")}`;
    const referrer = pickReferrer();
    const utm = pickUtm();
    const withTrack = random() < 0.4;
    const events: RawEvent[] = [];
    let t = startedAt;
    for (let i = 0; i < o.eventsPerBatch; i++) {
      const path = pathName(pickPath(random));
      const base = {
        id: `${batchId}-${i}`,
        occurredAt: t,
        screen: visitor.screen,
        tz: WORKLOAD_TIMEZONE,
        visitorId: visitor.id,
        country: visitor.country,
        device: visitor.device,
        browser: visitor.browser,
        os: visitor.os,
      };
      if (withTrack && i === o.eventsPerBatch - 1) {
        const [name, props] = pickTrack();
        const previous = events[events.length - 1];
        events.push({
          ...base,
          type: "track",
          name,
          props: props(),
          url: previous?.url ?? `https://${HOSTNAME}/`,
        });
        trackEvents++;
      } else {
        const landing = i === 0;
        const query = landing && utm ? `?${utm}` : "";
        const url = `https://${HOSTNAME}${path}${query}`;
        const ref = landing ? referrer : events[events.length - 1]?.url;
        events.push({ ...base, type: "pageview", url, ...(ref ? { referrer: ref } : {}) });
        seenPaths.add(path);
        pageviews++;
      }
      t += 5_000 + Math.floor(random() * 115_000);
    }
    // The tracker flushes a second or two after the last event.
    batches.push({
      batchId,
      visitorId: visitor.id,
      receivedAt: events[events.length - 1]!.occurredAt + 1_000 + Math.floor(random() * 2_000),
      events,
    });
  }
  batches.sort((a, b) => a.receivedAt - b.receivedAt || (a.batchId < b.batchId ? -1 : 1));
  const last = batches[batches.length - 1];
  if (last && last.receivedAt >= o.end) throw new Error("workload runs past its end");
  return {
    options: o,
    start,
    end: o.end,
    batches,
    totals: {
      events: o.events,
      pageviews,
      trackEvents,
      visitors: seenVisitors.size,
      paths: seenPaths.size,
    },
  };
}

/** Hour-aligned report ranges ending at the workload's end. */
export function reportRanges(end: number): { label: string; from: number; to: number }[] {
  const to = Math.floor(end / HOUR) * HOUR;
  return [
    { label: "24h", from: to - DAY, to },
    { label: "7d", from: to - 7 * DAY, to },
    { label: "30d", from: to - 30 * DAY, to },
  ];
}
