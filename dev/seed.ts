// A test data generator: realistic synthetic traffic for the demo, sent through
// the real ingest route over HTTP, as browsers would send it. Visitors (some
// returning), sessions with a diurnal and weekly rhythm and a growth trend,
// referrers, UTM campaigns, countries, devices, and custom events with props.
//
// History is replayed on the engine's clock: each batch is received at the
// moment it would have been sent, so ingest's 7-day clamp on occurredAt never
// bends it and receivedAt is honest. History batches hold the sessions of one
// user agent over a few hours (batchHistory), so a month of 20,000+ pageviews
// seeds in well under a minute. Then a trickle of live sessions at
// real time. Deterministic for a given --seed-random.
import { rng as prng } from "../test/random.js";
import { realNow } from "./clock.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;

type Weighted<T> = [T, number][];
function pick<T>(rand: () => number, items: Weighted<T>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rand() * total;
  for (const [item, w] of items) if ((r -= w) < 0) return item;
  return items[items.length - 1]![0];
}

type Source = { referrer?: string; query?: string; landing: string[] };
const SOURCES: Weighted<Source> = [
  [{ landing: ["/", "/", "/pricing", "/docs"] }, 30],
  // Search.
  [
    {
      referrer: "https://www.google.com/",
      landing: ["/", "/docs", "/docs/getting-started", "/blog/first-party-analytics"],
    },
    22,
  ],
  [{ referrer: "https://duckduckgo.com/", landing: ["/", "/docs"] }, 4],
  [{ referrer: "https://www.bing.com/", landing: ["/", "/pricing"] }, 3],
  [{ referrer: "https://www.ecosia.org/", landing: ["/", "/docs"] }, 1],
  // Social and communities.
  [
    {
      referrer: "https://news.ycombinator.com/item?id=4242",
      landing: ["/blog/first-party-analytics"],
    },
    6,
  ],
  [
    {
      referrer: "https://www.reddit.com/r/javascript/",
      landing: ["/blog/first-party-analytics", "/"],
    },
    4,
  ],
  [{ referrer: "https://t.co/abc123", landing: ["/", "/blog/exactly-once"] }, 4],
  [{ referrer: "https://www.linkedin.com/feed/", landing: ["/blog/exactly-once"] }, 2],
  [{ referrer: "https://mastodon.social/@convex", landing: ["/blog/exactly-once", "/"] }, 1],
  [
    {
      referrer: "https://github.com/get-convex/convex-event-analytics",
      landing: ["/docs", "/docs/getting-started"],
    },
    5,
  ],
  [
    {
      referrer: "https://dev.to/someone/analytics-without-cookies",
      landing: ["/blog/first-party-analytics"],
    },
    3,
  ],
  // Newsletters (email), with the link they were clicked on.
  [
    {
      query:
        "utm_source=newsletter&utm_medium=email&utm_campaign=spring_launch&utm_content=header_link",
      landing: ["/blog/exactly-once", "/pricing"],
    },
    3,
  ],
  [
    {
      query:
        "utm_source=newsletter&utm_medium=email&utm_campaign=spring_launch&utm_content=footer_cta",
      landing: ["/pricing"],
    },
    2,
  ],
  [
    {
      query: "utm_source=convex_weekly&utm_medium=email&utm_campaign=issue_42&utm_content=sponsor",
      landing: ["/", "/docs"],
    },
    2,
  ],
  [
    {
      referrer: "https://www.google.com/",
      query: "utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=convex+analytics",
      landing: ["/pricing", "/"],
    },
    3,
  ],
  [
    {
      referrer: "https://www.google.com/",
      query:
        "utm_source=google&utm_medium=cpc&utm_campaign=competitors&utm_term=plausible+alternative",
      landing: ["/pricing"],
    },
    1,
  ],
  [
    { query: "utm_source=producthunt&utm_medium=referral&utm_campaign=launch_day", landing: ["/"] },
    2,
  ],
];

type Device = { ua: string; screen: string };
const DEVICES: Weighted<Device> = [
  [
    {
      ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
      screen: "Desktop",
    },
    30,
  ],
  [
    {
      ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      screen: "Laptop",
    },
    16,
  ],
  [
    {
      ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
      screen: "Laptop",
    },
    12,
  ],
  [
    {
      ua: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
      screen: "Desktop",
    },
    6,
  ],
  [
    {
      ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
      screen: "Desktop",
    },
    5,
  ],
  [
    {
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      screen: "Mobile",
    },
    17,
  ],
  [
    {
      ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
      screen: "Mobile",
    },
    10,
  ],
  [
    {
      ua: "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      screen: "Tablet",
    },
    4,
  ],
];

type Country = { code: string; tz: string };
const COUNTRIES: Weighted<Country> = [
  [{ code: "US", tz: "America/New_York" }, 30],
  [{ code: "DE", tz: "Europe/Berlin" }, 11],
  [{ code: "GB", tz: "Europe/London" }, 9],
  [{ code: "IN", tz: "Asia/Kolkata" }, 8],
  [{ code: "FR", tz: "Europe/Paris" }, 6],
  [{ code: "CA", tz: "America/Toronto" }, 5],
  [{ code: "BR", tz: "America/Sao_Paulo" }, 5],
  [{ code: "NL", tz: "Europe/Amsterdam" }, 4],
  [{ code: "JP", tz: "Asia/Tokyo" }, 4],
  [{ code: "AU", tz: "Australia/Sydney" }, 3],
  [{ code: "PL", tz: "Europe/Warsaw" }, 3],
  [{ code: "ES", tz: "Europe/Madrid" }, 3],
];

/** Where a visitor goes next from a page: internal links, weighted. */
const NEXT: Record<string, Weighted<string>> = {
  "/": [
    ["/pricing", 4],
    ["/docs", 4],
    ["/blog", 2],
    ["/about", 1],
    ["/signup", 1],
  ],
  "/pricing": [
    ["/signup", 3],
    ["/docs", 2],
    ["/", 1],
    ["/about", 1],
  ],
  "/docs": [
    ["/docs/getting-started", 5],
    ["/docs/api", 3],
    ["/pricing", 1],
  ],
  "/docs/getting-started": [
    ["/docs/api", 3],
    ["/signup", 2],
    ["/pricing", 1],
  ],
  "/docs/api": [
    ["/docs/getting-started", 2],
    ["/signup", 1],
    ["/pricing", 1],
  ],
  "/blog": [
    ["/blog/first-party-analytics", 3],
    ["/blog/exactly-once", 3],
    ["/", 1],
  ],
  "/blog/first-party-analytics": [
    ["/", 2],
    ["/docs", 2],
    ["/blog", 1],
    ["/pricing", 1],
  ],
  "/blog/exactly-once": [
    ["/docs", 2],
    ["/blog", 1],
    ["/pricing", 1],
  ],
  "/about": [
    ["/", 2],
    ["/pricing", 1],
  ],
  "/signup": [
    ["/docs/getting-started", 2],
    ["/", 1],
  ],
};

export type Visitor = { id: string; device: Device; country: Country; ip: string };
export type SeedEvent = {
  id: string;
  type: "pageview" | "track";
  name?: string;
  occurredAt: number;
  url: string;
  referrer?: string;
  title?: string;
  screen: string;
  tz: string;
  visitorId: string;
  props?: Record<string, string | number | boolean>;
};
export type SeedSession = { visitor: Visitor; events: SeedEvent[]; sendAt: number };
export type SeedTotals = {
  sessions: number;
  pageviews: number;
  customEvents: number;
  visitors: number;
};

export class TrafficModel {
  private readonly visitors: Visitor[] = [];
  private n = 0;
  constructor(
    private readonly rand: () => number,
    private readonly origin: string,
  ) {}

  private uid(prefix: string): string {
    return `${prefix}_${(this.n++).toString(36)}_${Math.floor(this.rand() * 2 ** 32).toString(36)}`;
  }

  private visitor(): Visitor {
    // About a quarter of sessions come from someone who visited before.
    if (this.visitors.length > 20 && this.rand() < 0.25)
      return this.visitors[Math.floor(this.rand() * this.visitors.length)]!;
    const ip = `198.51.${Math.floor(this.rand() * 255)}.${1 + Math.floor(this.rand() * 253)}`;
    const v: Visitor = {
      id: this.uid("v"),
      device: pick(this.rand, DEVICES),
      country: pick(this.rand, COUNTRIES),
      ip,
    };
    this.visitors.push(v);
    return v;
  }

  /** One session starting at `start`: a landing page from its source, a few more pages, maybe a custom event or two. */
  session(start: number): SeedSession {
    const visitor = this.visitor();
    const source = pick(this.rand, SOURCES);
    const landing = source.landing[Math.floor(this.rand() * source.landing.length)]!;
    const base = { screen: visitor.device.screen, tz: visitor.country.tz, visitorId: visitor.id };
    const events: SeedEvent[] = [];
    let at = start;
    let page = landing;
    let previous: string | undefined = source.referrer;
    // Bounce rate near 45%; otherwise a geometric number of further pages.
    const pages = this.rand() < 0.45 ? 1 : 2 + Math.floor(-Math.log(1 - this.rand()) * 1.6);
    for (let i = 0; i < pages; i++) {
      const url = `${this.origin}${page}${i === 0 && source.query ? `?${source.query}` : ""}`;
      events.push({
        ...base,
        id: this.uid("e"),
        type: "pageview",
        occurredAt: at,
        url,
        ...(previous ? { referrer: previous } : {}),
        title: titleOf(page),
      });
      for (const custom of this.customEvents(page)) {
        at += 2_000 + Math.floor(this.rand() * 20_000);
        events.push({ ...base, id: this.uid("e"), type: "track", occurredAt: at, url, ...custom });
      }
      previous = url;
      page = pick(this.rand, NEXT[page] ?? [["/", 1]]);
      at += 8_000 + Math.floor(this.rand() * 150_000);
    }
    return {
      visitor,
      events,
      sendAt: events[events.length - 1]!.occurredAt + 1_000 + Math.floor(this.rand() * 4_000),
    };
  }

  private customEvents(
    page: string,
  ): { name: string; props: Record<string, string | number | boolean> }[] {
    const out: { name: string; props: Record<string, string | number | boolean> }[] = [];
    const r = this.rand();
    if (page === "/" && r < 0.18)
      out.push({ name: "cta_click", props: { button: this.rand() < 0.6 ? "hero" : "footer" } });
    if (page === "/pricing" && r < 0.3)
      out.push({
        name: "plan_selected",
        props: {
          plan: pick(this.rand, [
            ["free", 5],
            ["pro", 3],
            ["team", 1],
          ]),
          billing: this.rand() < 0.7 ? "monthly" : "yearly",
        },
      });
    if (page === "/signup" && r < 0.45)
      out.push({
        name: "signup",
        props: {
          plan: pick(this.rand, [
            ["free", 6],
            ["pro", 3],
            ["team", 1],
          ]),
        },
      });
    if (page.startsWith("/docs") && r < 0.15)
      out.push({
        name: "docs_search",
        props: {
          query: pick(this.rand, [
            ["install", 3],
            ["crons", 2],
            ["tracker", 2],
            ["retention", 1],
          ]),
          results: Math.floor(this.rand() * 12),
        },
      });
    if (page.startsWith("/blog/") && r < 0.1)
      out.push({ name: "outbound_click", props: { url: "https://github.com/get-convex" } });
    return out;
  }
}

function titleOf(page: string): string {
  const name =
    page === "/"
      ? "Home"
      : page
          .split("/")
          .filter(Boolean)
          .map((s) => s.replace(/-/g, " "))
          .join(" / ");
  return `${name} · Example site`;
}

/** Sessions per day around `perDay`: quieter weekends, a growth trend over the window. */
function sessionsOnDay(
  rand: () => number,
  dayStart: number,
  index: number,
  days: number,
  perDay: number,
): number {
  const weekday = new Date(dayStart).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 0.65 : 1;
  const trend = 0.7 + 0.6 * (index / Math.max(1, days - 1));
  return Math.max(1, Math.round(perDay * weekend * trend * (0.85 + rand() * 0.3)));
}

/** A start time inside a day, following a diurnal curve peaking in the (UTC) afternoon. */
function timeInDay(rand: () => number, dayStart: number): number {
  for (;;) {
    const hour = rand() * 24;
    const weight = 0.25 + 0.75 * Math.exp(-((hour - 15) ** 2) / 30);
    if (rand() < weight) return dayStart + Math.floor(hour * HOUR);
  }
}

/** The history to replay, sorted by the moment each session's batch is sent; every batch sent before `now`. */
export function history(
  model: TrafficModel,
  rand: () => number,
  now: number,
  days: number,
  perDay: number,
): SeedSession[] {
  const sessions: SeedSession[] = [];
  const firstDay = Math.floor(now / DAY) * DAY - (days - 1) * DAY;
  const earliest = historyStart(days) + HOUR;
  for (let d = 0; d < days; d++) {
    const dayStart = firstDay + d * DAY;
    const count = sessionsOnDay(rand, dayStart, d, days, perDay);
    for (let i = 0; i < count; i++) {
      const s = model.session(timeInDay(rand, dayStart));
      if (s.sendAt < now && s.events[0]!.occurredAt >= earliest) sessions.push(s);
    }
  }
  return sessions.sort((a, b) => a.sendAt - b.sendAt);
}

export function totalsOf(sessions: SeedSession[]): SeedTotals {
  return {
    sessions: sessions.length,
    pageviews: sessions.reduce(
      (s, x) => s + x.events.filter((e) => e.type === "pageview").length,
      0,
    ),
    customEvents: sessions.reduce(
      (s, x) => s + x.events.filter((e) => e.type === "track").length,
      0,
    ),
    visitors: new Set(sessions.map((s) => s.visitor.id)).size,
  };
}

/**
 * How a batch reaches the app's ingest route: a request (path, method, headers,
 * body) and the client it comes from (its address and user agent, which the
 * engine gives the route as Convex's request metadata).
 */
export type Send = (
  path: string,
  init: { method: string; headers: Record<string, string>; body: string },
  client: { ip: string; userAgent: string },
) => Promise<Response>;

/** Over HTTP to the engine's server, as a browser sends it (the headers carry the client). */
export const overHttp =
  (baseUrl: string): Send =>
  (path, init) =>
    fetchRetrying(`${baseUrl}${path}`, init);

/** Posts one session as one batch, with the browser-like headers an edge would see (UA, client IP, country). */
export async function send(
  to: Send,
  writeKey: string,
  session: SeedSession,
  origin: string,
): Promise<void> {
  await post(to, writeKey, [session], session.sendAt, origin, session.visitor.country.code);
}

/**
 * Posts sessions of one user agent as one batch sent at `sentAt`. Without an edge
 * country header (the sessions may come from several countries), ingest takes
 * each event's country from its browser timezone, as it does for a real visitor
 * behind no CDN.
 */
async function post(
  to: Send,
  writeKey: string,
  sessions: SeedSession[],
  sentAt: number,
  origin: string,
  country?: string,
): Promise<void> {
  const first = sessions[0]!;
  const request = {
    method: "POST",
    headers: {
      "Content-Type": "text/plain",
      Origin: origin,
      "User-Agent": first.visitor.device.ua,
      "X-Forwarded-For": first.visitor.ip,
      ...(country ? { "CF-IPCountry": country } : {}),
    },
    body: JSON.stringify({
      key: writeKey,
      batchId: `seed_${first.events[0]!.id}`,
      sentAt,
      events: sessions.flatMap((s) => s.events),
    }),
  };
  const res = await to("/analytics/ingest", request, {
    ip: first.visitor.ip,
    userAgent: first.visitor.device.ua,
  });
  if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { accepted: number; rejected: unknown[] };
  if (body.rejected.length > 0)
    throw new Error(`ingest rejected seeded events: ${JSON.stringify(body.rejected)}`);
}

/**
 * fetch, tried again (up to 3 times) when the connection fails rather than the
 * route: the engine serves the seeder from its own event loop, so after a long
 * compaction the server's keep-alive timer and the client's reuse of the same
 * idle socket fall due together, and the server may close it first
 * (ECONNRESET). Resending is safe: ingest deduplicates by batchId.
 */
async function fetchRetrying(url: string, init: RequestInit, tries = 3): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (attempt >= tries || !(e instanceof TypeError)) throw e;
    }
  }
}

/** Ingest's limits are 100 events and 64 KiB a batch; history batches stay under both. */
const BATCH_EVENTS = 100;
const BATCH_BYTES = 48 * 1024;
/** A history batch is sent at most this long after its first session ended. */
const BATCH_WINDOW_MS = 6 * HOUR;

type OpenBatch = { sessions: SeedSession[]; events: number; bytes: number; opened: number };

/**
 * Groups history into batches of one user agent each (device, browser and OS come
 * from the request's User-Agent), up to ingest's size limits, each sent within
 * BATCH_WINDOW_MS of its first session, in the order they are sent. One batch per
 * session would cost one HTTP request and one worker run each: at 20,000
 * pageviews that is minutes of start-up instead of seconds.
 */
export function batchHistory(
  sessions: SeedSession[],
): { sessions: SeedSession[]; sentAt: number }[] {
  const out: { sessions: SeedSession[]; sentAt: number }[] = [];
  const open = new Map<string, OpenBatch>();
  const flush = (ua: string, at: number) => {
    const b = open.get(ua);
    if (!b) return;
    out.push({ sessions: b.sessions, sentAt: at });
    open.delete(ua);
  };
  for (const s of sessions) {
    for (const [ua, b] of open)
      if (s.sendAt - b.opened > BATCH_WINDOW_MS) flush(ua, b.opened + BATCH_WINDOW_MS);
    const ua = s.visitor.device.ua;
    const bytes = JSON.stringify(s.events).length;
    const b = open.get(ua);
    if (b && (b.events + s.events.length > BATCH_EVENTS || b.bytes + bytes > BATCH_BYTES))
      flush(ua, s.sendAt);
    const target = open.get(ua) ?? { sessions: [], events: 0, bytes: 0, opened: s.sendAt };
    target.sessions.push(s);
    target.events += s.events.length;
    target.bytes += bytes;
    open.set(ua, target);
  }
  for (const [ua, b] of open) flush(ua, b.sessions[b.sessions.length - 1]!.sendAt);
  return out.sort((a, b) => a.sentAt - b.sentAt);
}

export type SeedOptions = {
  baseUrl: string;
  /** How history batches reach the ingest route (default: over HTTP to baseUrl). */
  send?: Send;
  writeKey: string;
  days: number;
  perDay: number;
  random: number;
  /** Moves the engine's clock to the moment a batch is sent. */
  advanceClock: (at: number) => void;
  /** Runs after each batch: the engine's due crons and the work scheduled by the batch. */
  afterBatch: () => Promise<void>;
  onProgress?: (done: number, total: number, at: number) => void;
};

/** Where the engine's clock must start for a replay of `days` days ending now. */
export function historyStart(days: number): number {
  return Math.floor(realNow() / DAY) * DAY - (days - 1) * DAY - HOUR;
}

/** Replays `days` of history on the engine's clock (which must start at historyStart(days)), then returns what was sent. */
export async function seedHistory(options: SeedOptions): Promise<SeedTotals> {
  const rand = prng(options.random);
  const model = new TrafficModel(rand, options.baseUrl);
  const sessions = history(model, rand, realNow(), options.days, options.perDay);
  const to = options.send ?? overHttp(options.baseUrl);
  const batches = batchHistory(sessions);
  let done = 0;
  for (const batch of batches) {
    options.advanceClock(batch.sentAt);
    await post(to, options.writeKey, batch.sessions, batch.sentAt, options.baseUrl);
    await options.afterBatch();
    for (let i = 0; i < batch.sessions.length; i++)
      options.onProgress?.(++done, sessions.length, batch.sentAt);
  }
  return totalsOf(sessions);
}

/**
 * Live traffic at real time until the returned function is called: every few
 * seconds one event of a live session, sent as its own batch (as the tracker
 * flushes). A few visitors browse at once; a new one arrives now and then.
 */
export function trickle(options: {
  baseUrl: string;
  writeKey: string;
  random: number;
  everyMs: [number, number];
  log?: (line: string) => void;
}): () => void {
  const rand = prng(options.random ^ 0x5eed);
  const model = new TrafficModel(rand, options.baseUrl);
  const active: { session: SeedSession; next: number }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (active.length === 0 || (active.length < 4 && rand() < 0.2))
      active.push({ session: model.session(Date.now()), next: 0 });
    const i = Math.floor(rand() * active.length);
    const live = active[i]!;
    // The session's own pacing is replaced by the trickle's: its next event happens now.
    const event = { ...live.session.events[live.next]!, occurredAt: Date.now() };
    if (++live.next === live.session.events.length) active.splice(i, 1);
    try {
      await send(
        overHttp(options.baseUrl),
        options.writeKey,
        { ...live.session, events: [event], sendAt: Date.now() },
        options.baseUrl,
      );
    } catch (e) {
      options.log?.(`live traffic: ${(e as Error).message}`);
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    const [lo, hi] = options.everyMs;
    timer = setTimeout(() => void tick(), lo + rand() * (hi - lo));
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
