// Random event streams for the oracle properties (oracle.test.ts): visitors with
// sessions around the 2026-11-01 DST change, cut into batches as a browser sends them.
import fc from "fast-check";
import type { AnalyticsEvent } from "../shared.js";
import { DAY, HOUR, MINUTE, dayStart } from "./time.js";

export const TZ = "America/New_York";
/** Local midnight 2026-10-10 (EDT) to local midnight 2026-12-03 (EST): 54 days, all of November. */
export const STREAM_FROM = Date.parse("2026-10-10T04:00:00Z");
export const STREAM_TO = Date.parse("2026-12-03T05:00:00Z");
/** 2026-11-01 02:00 EDT becomes 01:00 EST: that local day has 25 hours. */
export const DST_END = Date.parse("2026-11-01T06:00:00Z");
export const DST_DAY = {
  from: Date.parse("2026-11-01T04:00:00Z"),
  to: Date.parse("2026-11-02T05:00:00Z"),
};
export const NOV_1 = DST_DAY.from;
export const DEC_1 = Date.parse("2026-12-01T05:00:00Z");

// ---------------------------------------------------------------- generators

const HOSTS = ["example.com", "docs.example.com"];
const PATHS = ["/", "/pricing", "/blog/dst-explained/", "/docs", "/docs/getting-started"];
const LANDING_QUERIES = [
  "",
  "?utm_source=newsletter&utm_medium=email&utm_campaign=fall-launch",
  "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=web+analytics",
  "?utm_source=twitter&utm_medium=social&utm_content=thread",
  "?ref=producthunt",
  "#pricing-table",
];
const REFERRERS = [
  undefined,
  "https://www.google.com/search?q=analytics",
  "https://t.co/AbCdEf",
  "https://news.ycombinator.com/item?id=4242",
  "https://www.nytimes.com/2026/11/01/technology/daylight-saving.html",
  "https://example.com/pricing", // same host when landing on example.com, external on docs.example.com
  "https://www.example.com/docs", // the same site as example.com (www. is ignored)
  "https://mail.google.com/",
];

type StepKind = "pageview" | "track" | "identify";
const arbKind: fc.Arbitrary<StepKind> = fc.oneof(
  { weight: 5, arbitrary: fc.constant("pageview" as const) },
  { weight: 3, arbitrary: fc.constant("track" as const) },
  { weight: 1, arbitrary: fc.constant("identify" as const) },
);
const arbTrackProps = fc.option(
  fc.record(
    { plan: fc.constantFrom("free", "pro"), seats: fc.constantFrom(1, 5), trial: fc.boolean() },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const arbPageviewProps = fc.option(fc.record({ author: fc.constantFrom("ann", "bo") }), {
  freq: 4,
  nil: undefined,
});

/** What the ingest route derives from the request; a visitor may roam (another country or device) between events. */
const arbEnrichment = fc.record(
  {
    country: fc.constantFrom("US", "DE", "IN"),
    device: fc.constantFrom("Desktop", "Mobile"),
    browser: fc.constantFrom("Chrome", "Firefox", "Safari"),
    os: fc.constantFrom("macOS", "Windows", "Android"),
  },
  { requiredKeys: [] },
);

const arbStep = fc.record({
  kind: arbKind,
  roaming: fc.option(arbEnrichment, { freq: 6, nil: undefined }),
  host: fc.constantFrom(...HOSTS),
  path: fc.constantFrom(...PATHS),
  name: fc.constantFrom("signup", "download", "outbound"),
  trackProps: arbTrackProps,
  pageviewProps: arbPageviewProps,
});

/** The time from one event of a visitor to the next: mostly inside the timeout, sometimes across it, at its edge, or backwards. */
const arbGap = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 30 * MINUTE }) },
  { weight: 1, arbitrary: fc.constantFrom(30 * MINUTE, 30 * MINUTE + 1, 0) },
  { weight: 1, arbitrary: fc.integer({ min: 30 * MINUTE - 5_000, max: 30 * MINUTE + 5_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 31 * MINUTE, max: 4 * HOUR }) },
  { weight: 1, arbitrary: fc.integer({ min: -45 * MINUTE, max: -1 }) },
);

/** Session starts: anywhere, around the DST change, or around a local midnight or month start. */
const arbStart = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: STREAM_FROM, max: STREAM_TO - 6 * HOUR }) },
  { weight: 1, arbitrary: fc.integer({ min: DST_END - 3 * HOUR, max: DST_END + 3 * HOUR }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 52 }), fc.integer({ min: -50, max: 50 }))
      .map(([d, m]) => dayStart(STREAM_FROM + d * DAY + 12 * HOUR, TZ) + m * MINUTE),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(NOV_1, DEC_1), fc.integer({ min: -50, max: 50 }))
      .map(([b, m]) => b + m * MINUTE),
  },
);

const arbSession = (maxSteps: number) =>
  fc.record({
    start: arbStart,
    landing: arbStep,
    query: fc.constantFrom(...LANDING_QUERIES),
    referrer: fc.constantFrom(...REFERRERS),
    steps: fc.array(fc.record({ gap: arbGap, step: arbStep }), { maxLength: maxSteps }),
  });

const arbVisitor = (maxSessions: number, maxSteps: number) =>
  fc.record({
    id: fc.nat({ max: 9_999 }),
    screen: fc.constantFrom(undefined, "1920x1080", "390x844"),
    enrichment: arbEnrichment,
    sessions: fc.array(arbSession(maxSteps), { minLength: 1, maxLength: maxSessions }),
    /** Batch sizes, used in turn. */
    cuts: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 8 }),
  });

type Op =
  | { op: "ingest"; visitor: number }
  | { op: "drain" }
  | { op: "crash" }
  | { op: "compactSteps"; n: number }
  | { op: "compact" }
  | { op: "resend"; pick: number }
  | { op: "check" }
  | { op: "scheduled" };
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ op: fc.constant("ingest" as const), visitor: fc.nat({ max: 4 }) }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("drain" as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("crash" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("compactSteps" as const),
      n: fc.integer({ min: 1, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("compact" as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("resend" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("check" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("scheduled" as const) }) },
);

/** An hour-aligned range starting anywhere in the stream, minHours to maxHours long (cut at the stream's end). */
export const arbRange = (minHours: number, maxHours: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: Math.floor((STREAM_TO - STREAM_FROM) / HOUR) - 1 }),
      fc.integer({ min: minHours, max: maxHours }),
    )
    .map(([startHour, hours]) => {
      const from = STREAM_FROM + startHour * HOUR;
      return { from, to: Math.min(from + hours * HOUR, STREAM_TO) };
    });

/** The site's zone: DST in America/New_York, and zones whose offset is not a whole hour. */
export const ZONES = [
  "America/New_York",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Adelaide",
] as const;

/** How big a generated stream may be: the CI property's defaults, or the soak's smaller ones. */
export type ScenarioSize = {
  minVisitors: number;
  maxVisitors: number;
  maxSessions: number;
  maxSteps: number;
  maxOps: number;
};
export const ORACLE_SCENARIO_SIZE: ScenarioSize = {
  minVisitors: 2,
  maxVisitors: 4,
  maxSessions: 4,
  maxSteps: 5,
  maxOps: 40,
};

export const scenarioOf = (size: ScenarioSize) =>
  fc.record({
    timezone: fc.constantFrom(...ZONES),
    visitors: fc.uniqueArray(arbVisitor(size.maxSessions, size.maxSteps), {
      minLength: size.minVisitors,
      maxLength: size.maxVisitors,
      selector: (v) => v.id,
    }),
    ops: fc.array(arbOp, { maxLength: size.maxOps }),
    /** A short range (hourly timeseries too) and a long one (days, weeks, months). */
    ranges: fc.tuple(arbRange(1, 48), arbRange(49, 24 * 40)),
    finishScheduled: fc.boolean(),
  });
export const arbScenario = scenarioOf(ORACLE_SCENARIO_SIZE);
export type Scenario = typeof arbScenario extends fc.Arbitrary<infer S> ? S : never;

// ---------------------------------------------------------------- scenario -> events and batches

export type Batch = { batchId: string; events: AnalyticsEvent[] };

function stepEvent(
  visitorId: string,
  index: number,
  occurredAt: number,
  step: Scenario["visitors"][number]["sessions"][number]["landing"],
  extra: {
    query?: string;
    referrer?: string;
    screen?: string;
    enrichment: Partial<Record<"country" | "device" | "browser" | "os", string>>;
  },
): AnalyticsEvent {
  const event: AnalyticsEvent = {
    id: `${visitorId}-e${index}`,
    type: step.kind,
    occurredAt,
    url: `https://${step.host}${step.path}${extra.query ?? ""}`,
    visitorId,
    ...(step.roaming ?? extra.enrichment),
  };
  if (step.kind === "track") event.name = step.name;
  if (step.kind === "identify") event.userId = `user-${visitorId}`;
  const props =
    step.kind === "track"
      ? step.trackProps
      : step.kind === "pageview"
        ? step.pageviewProps
        : undefined;
  if (props && Object.keys(props).length > 0) event.props = props;
  if (extra.referrer !== undefined) event.referrer = extra.referrer;
  if (extra.screen !== undefined) event.screen = extra.screen;
  return event;
}

/** Each visitor's events in sending order, cut into consecutive batches of 1-5 (never spanning 6 days, so nothing is clamped). */
export function batchesOf(visitor: Scenario["visitors"][number]): Batch[] {
  const visitorId = `v${visitor.id}`;
  const events: AnalyticsEvent[] = [];
  for (const session of [...visitor.sessions].sort((a, b) => a.start - b.start)) {
    let t = session.start;
    events.push(
      stepEvent(visitorId, events.length, t, session.landing, {
        query: session.query,
        referrer: session.referrer,
        screen: visitor.screen,
        enrichment: visitor.enrichment,
      }),
    );
    let previousUrl = events[events.length - 1]!.url;
    for (const { gap, step } of session.steps) {
      t += gap;
      const e = stepEvent(visitorId, events.length, t, step, {
        referrer: previousUrl,
        screen: visitor.screen,
        enrichment: visitor.enrichment,
      });
      events.push(e);
      previousUrl = e.url;
    }
  }
  const batches: Batch[] = [];
  let current: AnalyticsEvent[] = [];
  let cut = 0;
  const flush = () => {
    if (current.length === 0) return;
    batches.push({ batchId: `${visitorId}-b${batches.length}`, events: current });
    current = [];
    cut++;
  };
  for (const e of events) {
    const times = [...current, e].map((x) => x.occurredAt);
    if (current.length > 0 && Math.max(...times) - Math.min(...times) > 6 * DAY) flush();
    current.push(e);
    if (current.length >= visitor.cuts[cut % visitor.cuts.length]!) flush();
  }
  flush();
  return batches;
}
