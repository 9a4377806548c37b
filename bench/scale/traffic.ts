// Seeded, deterministic browser traffic for a site at 10M pageviews a month,
// produced as the HTTP requests a real tracker sends (src/tracker/core.ts:
// a batch flushes 5 s after its first event or when the page is hidden, i.e.
// at the next full page load), in time order, one day at a time.
//
// Per day at scale 1: ~150,000 sessions by ~115,000 distinct visitors drawn
// from a population of 260,000 people (cookieless ids are daily, so a person
// seen on two days is two visitors), ~330,000 pageviews (1 + geometric pages a
// session, mean 2.2) over 50,000 paths drawn with Zipf(s = 1), ~0.3 custom
// events a pageview with props, 300 referrer domains (Zipf over a realistic
// head), 20 UTM campaigns on ~10% of sessions, and a diurnal shape in the
// site's timezone. Each person has one IP, one real user-agent string (so
// ua-parser-js sees real browsers, OSes and devices), a country sent as the
// Cloudflare edge header cf-ipcountry, a screen and a browser timezone; about
// 2% of requests come from crawlers (isbot drops and counts them).
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const SITE_TIMEZONE = "Europe/Berlin";
export const HOSTNAME = "www.example-shop.com";
export const ORIGIN = `https://${HOSTNAME}`;

import { rng } from "../../test/random.js";
import { zipf } from "../workload.js";

function weighted<T>(items: readonly (readonly [T, number])[]): (random: () => number) => T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  return (random) => {
    let x = random() * total;
    for (const [item, w] of items) if ((x -= w) < 0) return item;
    return items[items.length - 1]![0];
  };
}
const pick = <T>(xs: readonly T[], random: () => number): T =>
  xs[Math.floor(random() * xs.length)]!;

// --------------------------------------------------------------- vocabularies

const SECTIONS = ["products", "blog", "docs", "help", "category", "brand", "guides", "stores"];
const HEAD_PATHS = [
  "/",
  "/products",
  "/pricing",
  "/blog",
  "/search",
  "/cart",
  "/checkout",
  "/login",
  "/signup",
  "/about",
  "/contact",
  "/help",
];
/** Path of Zipf rank `r` (0 = most viewed). 50,000 distinct paths at rank < 50,000. */
export function pathOf(r: number): string {
  if (r < HEAD_PATHS.length) return HEAD_PATHS[r]!;
  return `/${SECTIONS[r % SECTIONS.length]}/${(r * 2654435761) % 1_000_003}-item-${r}`;
}

const REFERRER_HEAD = [
  "www.google.com",
  "www.bing.com",
  "duckduckgo.com",
  "t.co",
  "www.reddit.com",
  "news.ycombinator.com",
  "www.facebook.com",
  "l.instagram.com",
  "www.linkedin.com",
  "github.com",
  "www.youtube.com",
  "search.yahoo.com",
  "www.pinterest.com",
  "android-app://com.google.android.gm",
  "chatgpt.com",
];
/** Referrer domain of Zipf rank `r`: a realistic head, then blogs and forums. 300 in all. */
export function referrerOf(r: number): string {
  const domain = r < REFERRER_HEAD.length ? REFERRER_HEAD[r]! : `blog-${r}.example-${r % 7}.net`;
  return domain.includes("://") ? domain : `https://${domain}/${r % 3 === 0 ? "" : `post/${r}`}`;
}
const UTM_SOURCES = [
  ["newsletter", "email"],
  ["google", "cpc"],
  ["facebook", "paid_social"],
  ["twitter", "social"],
  ["partner", "affiliate"],
] as const;
const CAMPAIGNS = Array.from({ length: 20 }, (_, i) => {
  const [source, medium] = UTM_SOURCES[i % UTM_SOURCES.length]!;
  return `utm_source=${source}&utm_medium=${medium}&utm_campaign=campaign-${i + 1}${i % 4 === 0 ? `&utm_content=variant-${i % 3}` : ""}${medium === "cpc" ? `&utm_term=term-${i}` : ""}`;
});

const COUNTRIES = weighted([
  [["US", "America/New_York"], 22],
  [["DE", "Europe/Berlin"], 18],
  [["GB", "Europe/London"], 8],
  [["FR", "Europe/Paris"], 6],
  [["IN", "Asia/Kolkata"], 7],
  [["NL", "Europe/Amsterdam"], 3],
  [["BR", "America/Sao_Paulo"], 4],
  [["CA", "America/Toronto"], 3],
  [["JP", "Asia/Tokyo"], 3],
  [["AT", "Europe/Vienna"], 3],
  [["CH", "Europe/Zurich"], 2],
  [["ES", "Europe/Madrid"], 3],
  [["IT", "Europe/Rome"], 3],
  [["PL", "Europe/Warsaw"], 2],
  [["SE", "Europe/Stockholm"], 1],
  [["AU", "Australia/Sydney"], 2],
  [["MX", "America/Mexico_City"], 2],
  [["TR", "Europe/Istanbul"], 1],
  [["ID", "Asia/Jakarta"], 1],
  [["NG", "Africa/Lagos"], 1],
  [["ZA", "Africa/Johannesburg"], 1],
  [["KR", "Asia/Seoul"], 1],
  [["AR", "America/Argentina/Buenos_Aires"], 1],
  [["BE", "Europe/Brussels"], 1],
  [["DK", "Europe/Copenhagen"], 1],
] as const);

type Agent = { ua: (v: number) => string; screens: readonly string[] };
const AGENTS = weighted<Agent>([
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.${6000 + v}.${v % 200} Safari/537.36`,
      screens: ["1920x1080", "1366x768", "1536x864", "2560x1440"],
    },
    26,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.${6000 + v}.${v % 200} Safari/537.36`,
      screens: ["1440x900", "1680x1050", "2560x1600"],
    },
    8,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${16 + (v % 3)}.${v % 6} Safari/605.1.15`,
      screens: ["1440x900", "1512x982", "1728x1117"],
    },
    7,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.0.0 Safari/537.36 Edg/${120 + (v % 12)}.0.${2000 + v}.${v % 100}`,
      screens: ["1920x1080", "1366x768"],
    },
    6,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:${115 + (v % 20)}.0) Gecko/20100101 Firefox/${115 + (v % 20)}.0`,
      screens: ["1920x1080", "1600x900"],
    },
    3,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (X11; Linux x86_64; rv:${115 + (v % 20)}.0) Gecko/20100101 Firefox/${115 + (v % 20)}.0`,
      screens: ["1920x1080", "2560x1440"],
    },
    1,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.0.0 Safari/537.36`,
      screens: ["1920x1080"],
    },
    1,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (iPhone; CPU iPhone OS ${16 + (v % 3)}_${v % 6} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${16 + (v % 3)}.${v % 6} Mobile/15E148 Safari/604.1`,
      screens: ["390x844", "393x852", "430x932", "375x667"],
    },
    24,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Linux; Android ${11 + (v % 4)}; ${pick(["SM-G991B", "SM-A525F", "Pixel 7", "Pixel 8", "M2101K6G", "CPH2451"], () => (v % 97) / 97)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.0.0 Mobile Safari/537.36`,
      screens: ["412x915", "360x800", "384x854"],
    },
    16,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Linux; Android ${12 + (v % 3)}; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/${22 + (v % 3)}.0 Chrome/${115 + (v % 5)}.0.0.0 Mobile Safari/537.36`,
      screens: ["360x780", "384x824"],
    },
    3,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (iPad; CPU OS ${16 + (v % 3)}_${v % 6} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${16 + (v % 3)}.${v % 6} Mobile/15E148 Safari/604.1`,
      screens: ["820x1180", "768x1024", "1024x1366"],
    },
    4,
  ],
  [
    {
      ua: (v) =>
        `Mozilla/5.0 (Linux; Android ${12 + (v % 3)}; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${120 + (v % 12)}.0.0.0 Safari/537.36`,
      screens: ["800x1280"],
    },
    1,
  ],
]);
const BOT_UAS = [
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
];

type Track = {
  name: string;
  props: (r: () => number) => Record<string, string | number | boolean>;
};
const searchTerm = zipf(2_000, 1);
const TRACKS = weighted<Track>([
  [
    {
      name: "cta_click",
      props: (r) => ({
        button: pick(
          [
            "hero",
            "footer",
            "nav-signup",
            "pricing-pro",
            "pricing-team",
            "banner",
            "sidebar",
            "popup",
            "inline",
            "sticky",
            "exit",
            "chat",
          ],
          r,
        ),
      }),
    },
    30,
  ],
  [
    {
      name: "add_to_cart",
      props: (r) => ({ sku: `sku-${Math.floor(r() * 400)}`, value: Math.floor(r() * 200) + 5 }),
    },
    20,
  ],
  [{ name: "search", props: (r) => ({ query: `term ${searchTerm(r)}` }) }, 18],
  [
    {
      name: "outbound",
      props: (r) => ({ url: `https://partner-${Math.floor(r() * 50)}.example.org/` }),
    },
    12,
  ],
  [
    {
      name: "video_play",
      props: (r) => ({ video: `v${Math.floor(r() * 200)}`, percent: pick([25, 50, 75, 100], r) }),
    },
    10,
  ],
  [{ name: "download", props: (r) => ({ file: `file-${Math.floor(r() * 40)}.pdf` }) }, 6],
  [
    {
      name: "signup",
      props: (r) => ({ plan: pick(["free", "pro", "team"], r), annual: r() < 0.3 }),
    },
    4,
  ],
]);

// --------------------------------------------------------------- requests

export type TrafficOptions = {
  /** 1 = 10M pageviews a month. */
  scale: number;
  seed?: number;
};
export type WireEvent = {
  id: string;
  type: "pageview" | "track";
  name?: string;
  occurredAt: number;
  url: string;
  referrer?: string;
  screen: string;
  tz: string;
  props?: Record<string, string | number | boolean>;
};
/** One HTTP request a browser (or crawler) sends. */
export type Request = {
  at: number;
  ip: string;
  userAgent: string;
  country: string;
  bot: boolean;
  body: { batchId: string; sentAt: number; events: WireEvent[] };
};
export type DayTotals = {
  requests: number;
  botRequests: number;
  pageviews: number;
  trackEvents: number;
  visitors: number;
  sessions: number;
  paths: number;
};

export const PER_DAY = { sessions: 150_000, population: 260_000, paths: 50_000, referrers: 300 };

const pagePick = zipf(PER_DAY.paths, 1);
const refPick = zipf(PER_DAY.referrers, 1);

/** Share of a day's traffic in each local hour (0..23): quiet at night, busiest in the afternoon. */
function hourWeight(localHour: number): number {
  return 0.2 + Math.max(0, Math.sin(((localHour - 6) / 18) * Math.PI));
}

/**
 * The requests of one local day [dayStart, dayStart + 24 h) in time order.
 * `rate` multiplies the scale (history days run at a reduced rate). Totals fill as it is consumed.
 */
export function dayRequests(
  o: TrafficOptions & { dayStart: number; dayIndex: number; rate?: number; flat?: boolean },
  totals: DayTotals,
): Generator<Request> {
  return generate(o, totals);
}

function* generate(
  o: TrafficOptions & { dayStart: number; dayIndex: number; rate?: number; flat?: boolean },
  totals: DayTotals,
): Generator<Request> {
  const random = rng((o.seed ?? 20261202) * 31 + o.dayIndex * 1_000_003);
  const f = o.scale * (o.rate ?? 1);
  const sessions = Math.max(1, Math.round(PER_DAY.sessions * f));
  const population = Math.max(1, Math.round(PER_DAY.population * f));
  // Session starts, diurnal unless flat; hour h of the local day starts at dayStart + h (whole-hour zone offsets).
  const weights = Array.from({ length: 24 }, (_, h) => (o.flat ? 1 : hourWeight(h)));
  const pickHour = weighted(weights.map((w, h) => [h, w] as const));
  const starts = Float64Array.from(
    { length: sessions },
    () => o.dayStart + pickHour(random) * HOUR + Math.floor(random() * HOUR),
  );
  starts.sort();
  const seenVisitors = new Set<number>();
  const seenPaths = new Set<number>();
  const heap: Request[] = [];
  let next = 0;
  let batchNo = 0;
  const dayEnd = o.dayStart + DAY;
  const person = (i: number) => {
    const r = rng(i * 7919 + 17);
    const [country, tz] = COUNTRIES(r);
    const agent = AGENTS(r);
    const v = Math.floor(r() * 1000);
    return {
      ip: `${10 + (i >> 24)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      userAgent: agent.ua(v),
      screen: pick(agent.screens, r),
      country,
      tz,
    };
  };
  const openSession = (start: number) => {
    totals.sessions++;
    const bot = random() < 0.02;
    const index = Math.floor(random() * population);
    const p = bot
      ? {
          ip: `203.0.${index & 255}.${(index >> 8) & 255}`,
          userAgent: pick(BOT_UAS, random),
          screen: "1024x768",
          country: "US",
          tz: "UTC",
        }
      : person(index); // the same people every day, with new cookieless ids every day
    const direct = random() < 0.45;
    const referrer = direct ? undefined : referrerOf(refPick(random));
    const utm = random() < 0.1 ? pick(CAMPAIGNS, random) : undefined;
    // Pageview times: dwell ~ exponential, mean 70 s, 3 s..15 min.
    const views: number[] = [start];
    while (random() < 0.545 && views.length < 40)
      views.push(
        views[views.length - 1]! +
          Math.min(15 * MINUTE, 3_000 + Math.floor(-Math.log(1 - random()) * 67_000)),
      );
    let previousUrl: string | undefined;
    for (const [i, at] of views.entries()) {
      if (at >= dayEnd - MINUTE) break;
      const rank = pagePick(random);
      const url = `${ORIGIN}${pathOf(rank)}${i === 0 && utm ? `?${utm}` : ""}`;
      const leave = views[i + 1] ?? at + 30_000 + Math.floor(random() * 60_000);
      const base = { screen: p.screen, tz: p.tz };
      const pv: WireEvent = {
        id: "",
        type: "pageview",
        occurredAt: at,
        url,
        ...base,
        ...(i === 0
          ? referrer
            ? { referrer }
            : {}
          : previousUrl
            ? { referrer: previousUrl }
            : {}),
      };
      previousUrl = url.split("?")[0];
      const tracks: WireEvent[] = [];
      while (random() < (tracks.length === 0 ? 0.27 : 0.15)) {
        const t = TRACKS(random);
        tracks.push({
          id: "",
          type: "track",
          name: t.name,
          occurredAt: at + 500 + Math.floor(random() * Math.max(1, leave - at - 1_000)),
          url,
          ...base,
          props: t.props(random),
        });
      }
      tracks.sort((a, b) => a.occurredAt - b.occurredAt);
      // Tracker batching: a batch flushes 5 s after its first event, or when the page is left.
      const all = [pv, ...tracks];
      for (let k = 0; k < all.length;) {
        const first = all[k]!.occurredAt;
        const sentAt = Math.min(first + 5_000, leave);
        const events: WireEvent[] = [];
        while (k < all.length && all[k]!.occurredAt <= sentAt) events.push(all[k++]!);
        const batchId = `d${o.dayIndex}-b${(batchNo++).toString(36)}`;
        events.forEach((e, j) => (e.id = `${batchId}-${j}`));
        const atMs = Math.min(sentAt + 200 + Math.floor(random() * 800), dayEnd - 1);
        push(heap, {
          at: atMs,
          ip: p.ip,
          userAgent: p.userAgent,
          country: p.country,
          bot,
          body: { batchId, sentAt, events },
        });
        if (bot) continue;
        seenVisitors.add(index);
        for (const e of events) {
          if (e.type === "pageview") {
            totals.pageviews++;
            seenPaths.add(rank);
          } else totals.trackEvents++;
        }
      }
    }
  };
  while (next < starts.length || heap.length) {
    // Open every session that starts before the next pending request is due.
    while (next < starts.length && (heap.length === 0 || starts[next]! <= heap[0]!.at))
      openSession(starts[next++]!);
    const r = pop(heap);
    if (!r) continue;
    totals.requests++;
    if (r.bot) totals.botRequests++;
    totals.visitors = seenVisitors.size;
    totals.paths = seenPaths.size;
    yield r;
  }
  totals.visitors = seenVisitors.size;
  totals.paths = seenPaths.size;
}

export const emptyTotals = (): DayTotals => ({
  requests: 0,
  botRequests: 0,
  pageviews: 0,
  trackEvents: 0,
  visitors: 0,
  sessions: 0,
  paths: 0,
});

// A binary min-heap on `at` (ties by batch id, so the order is deterministic).
const before = (a: Request, b: Request) =>
  a.at < b.at || (a.at === b.at && a.body.batchId < b.body.batchId);
function push(h: Request[], x: Request): void {
  h.push(x);
  for (let i = h.length - 1; i > 0;) {
    const p = (i - 1) >> 1;
    if (!before(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}
function pop(h: Request[]): Request | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length && last) {
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
  return top;
}

/** Sends one request through the example app's ingest route, as the browser and Convex's edge would. */
export async function send(
  t: {
    withRequestMetadata: (m: { ip: string; userAgent: string }) => {
      fetch: (path: string, init: RequestInit) => Promise<Response>;
    };
  },
  writeKey: string,
  r: Request,
): Promise<number> {
  const body = JSON.stringify({ key: writeKey, ...r.body });
  const response = await t
    .withRequestMetadata({ ip: r.ip, userAgent: r.userAgent })
    .fetch("/analytics/ingest", {
      method: "POST",
      headers: {
        "content-type": "text/plain;charset=UTF-8",
        origin: ORIGIN,
        "user-agent": r.userAgent,
        // Read by today's route; once ingest reads ctx.meta.getRequestMetadata() it is ignored.
        "cf-connecting-ip": r.ip,
        "cf-ipcountry": r.country,
      },
      body,
    });
  return response.status;
}

export { DAY, HOUR, MINUTE };
