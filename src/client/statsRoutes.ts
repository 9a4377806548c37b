// The stats HTTP API (GET {prefix}/api/v1/{overview|timeseries|breakdown|realtime|propertyBreakdown|goals})
// and the health check (GET {prefix}/health). Parameters are parsed here, so a
// malformed query string is a 400 without a component call; then ONE component
// call: statsApi.serveStats (read key, site, rate limit, report), or
// health.getHealth (no key) or health.getHealthWithReadKey (key, its site's
// counts too). No input produces a 500.
import { httpActionGeneric, type HttpRouter } from "convex/server";
import { corsRouter } from "convex-helpers/server/cors";
import { validate } from "convex-helpers/validators";
import type { ComponentApi } from "../component/_generated/component.js";
import {
  DIMENSIONS,
  FILTER_DIMENSIONS,
  GRANULARITIES,
  MAX_FILTERS,
  vFilters,
  type Compare,
  type Dimension,
  type Filter,
  type Granularity,
  type Health,
  type StatsRequest,
} from "../shared.js";
import { MAX_PAST_MS } from "../component/events.js";
import { error, json } from "./responses.js";

export type StatsRouteOptions = {
  /**
   * Origins that may call the stats API from a browser (CORS), e.g.
   * `["https://status.example.com"]`, or `["*"]`. Default: none, for
   * server-to-server use: a read key in a web page is readable by anyone.
   */
  statsApiAllowedOrigins?: string[];
  /** Thresholds past which `GET {pathPrefix}/health` answers 503 (see the README). */
  health?: { maxPendingAgeMs?: number; maxCompactionLagMs?: number; maxDeadLetters?: number };
};

export const STATS_REPORTS = [
  "overview",
  "timeseries",
  "breakdown",
  "realtime",
  "propertyBreakdown",
  "goals",
] as const;
type StatsReport = (typeof STATS_REPORTS)[number];
/** The reports that take `filters` (as their facades do). */
const FILTERED_REPORTS = ["overview", "timeseries", "breakdown"] as const;

const HOUR = 3_600_000;
const MINUTE = 60_000;
const MAX_PARAM_LENGTH = 200;
/** `filters` is JSON: up to MAX_FILTERS filters, each value up to 300 characters. */
const MAX_FILTERS_PARAM_LENGTH = 4_096;

/** A timestamp parameter: epoch milliseconds, or an ISO 8601 date or date-time. */
function parseTime(name: string, raw: string | null): number | string {
  if (raw === null || raw === "") return `${name} is required (epoch milliseconds or ISO 8601)`;
  const value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw);
  if (!Number.isFinite(value)) return `${name} must be epoch milliseconds or an ISO 8601 date`;
  return value;
}

type Parsed = { request: StatsRequest } | { problem: string };

/** `compare=previous|yearOverYear`, or `compareFrom` and `compareTo`; absent: no comparison. */
function parseCompare(params: URLSearchParams): { compare?: Compare } | { problem: string } {
  const named = params.get("compare");
  const custom = params.has("compareFrom") || params.has("compareTo");
  if (named !== null && custom)
    return { problem: "give either compare or compareFrom and compareTo, not both" };
  if (named !== null) {
    if (named === "previous" || named === "yearOverYear") return { compare: named };
    return {
      problem: "compare must be previous or yearOverYear (or give compareFrom and compareTo)",
    };
  }
  if (!custom) return {};
  const from = parseTime("compareFrom", params.get("compareFrom"));
  if (typeof from === "string") return { problem: from };
  const to = parseTime("compareTo", params.get("compareTo"));
  if (typeof to === "string") return { problem: to };
  if (to <= from) return { problem: "compareTo must be after compareFrom" };
  return { compare: { from, to } };
}

/**
 * `filters`, when given: the facade's filters as a JSON array, e.g.
 * `[{"dimension":"country","op":"is","value":"DE"}]` (URL-encoded).
 */
function parseFilters(params: URLSearchParams): { filters?: Filter[] } | { problem: string } {
  const raw = params.get("filters");
  if (raw === null) return {};
  const shape = `filters must be a JSON array of at most ${MAX_FILTERS} {"dimension", "op", "value"} objects: op is, isNot or contains; dimension one of ${FILTER_DIMENSIONS.join(", ")}`;
  let filters: unknown;
  try {
    filters = JSON.parse(raw);
  } catch {
    return { problem: shape };
  }
  if (!validate(vFilters, filters) || filters.length > MAX_FILTERS) return { problem: shape };
  return { filters };
}

/** `limit`, when given: an integer of at most 4 digits (the report checks 1 to 1,000). */
function parseLimit(params: URLSearchParams): { limit?: number } | { problem: string } {
  const raw = params.get("limit");
  if (raw === null) return {};
  if (!/^\d{1,4}$/.test(raw)) return { problem: "limit must be an integer from 1 to 1000" };
  return { limit: Number(raw) };
}

/** The facade's arguments from the query string, or what is wrong with it. */
export function parseStatsQuery(report: StatsReport, params: URLSearchParams, now: number): Parsed {
  for (const [name, value] of params) {
    const max = name === "filters" ? MAX_FILTERS_PARAM_LENGTH : MAX_PARAM_LENGTH;
    if (value.length > max) return { problem: `${name.slice(0, 40)} is over ${max} characters` };
  }
  const siteId = params.get("site");
  if (!siteId) return { problem: "site is required (the site's id)" };
  if (params.has("filters") && !(FILTERED_REPORTS as readonly string[]).includes(report))
    return { problem: `${report} takes no filters (only ${FILTERED_REPORTS.join(", ")} do)` };
  if (report === "realtime") {
    const rawNow = params.get("now");
    // Rounded to the minute, as the dashboard does, so the report's query cache is shared.
    const at = rawNow === null ? Math.floor(now / MINUTE) * MINUTE : parseTime("now", rawNow);
    if (typeof at === "string") return { problem: at };
    return { request: { report, args: { siteId, now: at } } };
  }
  const from = parseTime("from", params.get("from"));
  if (typeof from === "string") return { problem: from };
  const to = parseTime("to", params.get("to"));
  if (typeof to === "string") return { problem: to };
  if (to <= from) return { problem: "to must be after from" };
  const compared = parseCompare(params);
  if ("problem" in compared) return compared;
  const range = { siteId, from, to, ...compared };
  if (report === "goals") return { request: { report, args: range } };
  const filtered = parseFilters(params);
  if ("problem" in filtered) return filtered;
  if (report === "overview") return { request: { report, args: { ...range, ...filtered } } };
  if (report === "timeseries") {
    const granularity = params.get("granularity");
    if (granularity === null) return { request: { report, args: { ...range, ...filtered } } };
    if (!(GRANULARITIES as readonly string[]).includes(granularity))
      return { problem: `granularity must be one of ${GRANULARITIES.join(", ")}` };
    return {
      request: {
        report,
        args: { ...range, ...filtered, granularity: granularity as Granularity },
      },
    };
  }
  const limit = parseLimit(params);
  if ("problem" in limit) return limit;
  if (report === "propertyBreakdown") {
    const event = params.get("event");
    const property = params.get("property");
    if (!event) return { problem: "event is required (the event's name, e.g. signup)" };
    if (!property) return { problem: "property is required (the property's key, e.g. plan)" };
    return { request: { report, args: { ...range, event, property, ...limit } } };
  }
  const dimension = params.get("dimension");
  if (dimension === null || !(DIMENSIONS as readonly string[]).includes(dimension))
    return { problem: `dimension is required, one of ${DIMENSIONS.join(", ")}` };
  return {
    request: {
      report,
      args: { ...range, ...filtered, dimension: dimension as Dimension, ...limit },
    },
  };
}

/**
 * How long a response may be cached. A range that ended over 7 days ago (plus
 * an hour for alignment) can no longer change: events are accepted at most 7
 * days late. One that has ended may still gain late events: 5 minutes. One
 * that includes now, and realtime: revalidate every time.
 */
export function cacheControlFor(request: StatsRequest, now: number, body: unknown): string {
  if (request.report === "realtime") return "no-store";
  // A filtered report whose scan is still running: the next request gets more of it.
  if ((body as { complete?: boolean }).complete === false) return "no-store";
  // Reports round `to` up to a (site-local) hour; an hour's margin covers any zone's phase.
  const end = Math.ceil(request.args.to / HOUR) * HOUR + HOUR;
  if (end + MAX_PAST_MS <= now) return "private, max-age=86400";
  if (end <= now) return "private, max-age=300";
  return "private, no-cache";
}

const NO_STORE = { "Cache-Control": "no-store", Vary: "Authorization" };
const UNKNOWN_KEY_HEADERS = { ...NO_STORE, "WWW-Authenticate": 'Bearer error="invalid_token"' };

/** The read key from `Authorization: Bearer rk_...`: null when absent, or the 401 to answer. */
function readKeyOf(request: Request): { readKey: string } | Response | null {
  const authorization = request.headers.get("authorization");
  if (!authorization) return null;
  const match = /^Bearer\s+(rk_[A-Za-z0-9_-]{1,100})\s*$/i.exec(authorization);
  if (!match) return error(401, "unknown_key", "Unknown read key", UNKNOWN_KEY_HEADERS);
  return { readKey: match[1]! };
}

type Refusal =
  | { status: "unknown_key" }
  | { status: "wrong_site" }
  | { status: "rate_limited"; retryAfterMs: number };

/** The answer to a read key the component did not admit: the same for the stats API and health. */
function refusal(outcome: Refusal): Response {
  switch (outcome.status) {
    case "unknown_key":
      return error(401, "unknown_key", "Unknown read key", UNKNOWN_KEY_HEADERS);
    case "wrong_site":
      return error(403, "wrong_site", "This read key belongs to another site", NO_STORE);
    case "rate_limited": {
      const seconds = String(Math.ceil(outcome.retryAfterMs / 1000));
      return error(429, "rate_limited", `Too many requests, retry after ${seconds} s`, {
        ...NO_STORE,
        "Retry-After": seconds,
      });
    }
  }
}

function statsHandler(component: ComponentApi, report: StatsReport) {
  return httpActionGeneric(async (ctx, request) => {
    const key = readKeyOf(request);
    if (key === null)
      return error(401, "missing_key", "Send a read key: Authorization: Bearer rk_...", {
        ...NO_STORE,
        "WWW-Authenticate": "Bearer",
      });
    if (key instanceof Response) return key;
    const now = Date.now();
    const parsed = parseStatsQuery(report, new URL(request.url).searchParams, now);
    if ("problem" in parsed) return error(400, "invalid_parameter", parsed.problem, NO_STORE);

    let outcome;
    try {
      outcome = await ctx.runAction(component.statsApi.serveStats, {
        readKey: key.readKey,
        request: parsed.request,
      });
    } catch {
      return error(503, "unavailable", "The stats API is unavailable, retry later", {
        ...NO_STORE,
        "Retry-After": "5",
      });
    }
    switch (outcome.status) {
      case "unknown_key":
      case "wrong_site":
      case "rate_limited":
        return refusal(outcome);
      case "invalid_parameter":
        return error(400, "invalid_parameter", outcome.message, NO_STORE);
      case "unavailable":
        return error(503, "unavailable", outcome.message, { ...NO_STORE, "Retry-After": "5" });
      case "ok":
        return json(200, outcome.body, {
          "Cache-Control": cacheControlFor(parsed.request, now, outcome.body),
          Vary: "Authorization",
        });
    }
  });
}

/**
 * Without a key: the global counts (health.getHealth). With a read key: also
 * the key's site (health.getHealthWithReadKey, which admits the key as the
 * stats API does); `?site=`, if given, must be the key's site.
 */
function healthHandler(component: ComponentApi, thresholds: StatsRouteOptions["health"]) {
  return httpActionGeneric(async (ctx, request) => {
    const key = readKeyOf(request);
    if (key instanceof Response) return key;
    const site = new URL(request.url).searchParams.get("site") || undefined;
    if (site !== undefined && site.length > MAX_PARAM_LENGTH)
      return error(
        400,
        "invalid_parameter",
        `site is over ${MAX_PARAM_LENGTH} characters`,
        NO_STORE,
      );
    let health: Health;
    try {
      const args = { now: Date.now(), ...thresholds };
      if (key === null) health = await ctx.runQuery(component.health.getHealth, args);
      else {
        const outcome = await ctx.runAction(component.health.getHealthWithReadKey, {
          ...args,
          readKey: key.readKey,
          siteId: site,
        });
        if (outcome.status !== "ok") return refusal(outcome);
        health = outcome.health;
      }
    } catch {
      return error(503, "unavailable", "The health check could not read the pipeline", {
        ...NO_STORE,
        "Retry-After": "5",
      });
    }
    return json(health.status === "ok" ? 200 : 503, health, NO_STORE);
  });
}

/** Mounts the stats API and the health check under `prefix` (see registerRoutes). */
export function registerStatsRoutes(
  http: HttpRouter,
  component: ComponentApi,
  prefix: string,
  options: StatsRouteOptions,
): void {
  http.route({
    path: `${prefix}/health`,
    method: "GET",
    handler: healthHandler(component, options.health),
  });
  const origins = options.statsApiAllowedOrigins ?? [];
  // Without allowed origins, no CORS headers at all: browsers then refuse cross-origin reads.
  const router =
    origins.length === 0
      ? http
      : corsRouter(http, {
          allowedOrigins: origins,
          allowedHeaders: ["Authorization"],
          exposedHeaders: ["Retry-After"],
        });
  for (const report of STATS_REPORTS)
    router.route({
      path: `${prefix}/api/v1/${report}`,
      method: "GET",
      handler: statsHandler(component, report),
    });
}
