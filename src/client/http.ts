// The ingest HTTP route (the ingest contract: README.md, "The ingest route"): parse and size limits, then ONE component
// mutation (admission.ingestRequest) that admits, validates and queues. The
// client's IP and user agent reach the component through Convex's request
// metadata, never as arguments. Client input never produces a 500; every
// response, errors included, carries CORS headers (convex-helpers' corsRouter).
import { httpActionGeneric, type HttpRouter } from "convex/server";
import { corsRouter } from "convex-helpers/server/cors";
import {
  MAX_BODY_BYTES,
  MAX_EVENTS_NESTING,
  MAX_EVENTS_PER_BATCH,
  nestsDeeperThan,
  wellFormed,
} from "../component/events.js";
import type { ComponentApi } from "../component/_generated/component.js";
import { FORWARDED_ADDRESS_HEADERS } from "../shared.js";
import { TRACKER_ETAG, TRACKER_SCRIPT } from "./trackerScript.js";
import { error, json } from "./responses.js";
import { registerStatsRoutes, type StatsRouteOptions } from "./statsRoutes.js";

/** Edge/CDN headers carrying the client's ISO country, tried in order. */
export const DEFAULT_COUNTRY_HEADERS = [
  "cf-ipcountry",
  "x-vercel-ip-country",
  "cloudfront-viewer-country",
  "x-country-code",
  "x-appengine-country",
  "fly-client-country",
];

export type RouteOptions = StatsRouteOptions & {
  /** Where the routes live, e.g. "/analytics" gives POST /analytics/ingest. */
  pathPrefix?: string;
  /** Request headers carrying the client's country, tried in order. Default: Cloudflare, Vercel, CloudFront, App Engine, Fly. */
  countryHeaders?: string[];
};

export { originAllowed } from "../component/origins.js";

function ingestHandler(component: ComponentApi, countryHeaders: string[]) {
  return httpActionGeneric(async (ctx, request) => {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_BODY_BYTES)
      return error(413, "too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
    // Read as text so text/plain beacons (no preflight) work like JSON posts.
    const text = await request.text();
    if (new TextEncoder().encode(text).byteLength > MAX_BODY_BYTES)
      return error(413, "too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return error(400, "invalid_json", "The body is not valid JSON");
    }
    const envelope = body as {
      key?: unknown;
      batchId?: unknown;
      sentAt?: unknown;
      events?: unknown;
    };
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return error(
        400,
        "invalid_shape",
        "The body must be an object { key, batchId, sentAt, events }",
      );
    if (typeof envelope.key !== "string" || envelope.key.length === 0 || envelope.key.length > 200)
      return error(400, "invalid_shape", "key must be a write key string");
    if (
      typeof envelope.batchId !== "string" ||
      envelope.batchId.length === 0 ||
      envelope.batchId.length > 128
    )
      return error(400, "invalid_shape", "batchId must be a string of 1-128 characters");
    if (!Array.isArray(envelope.events))
      return error(400, "invalid_shape", "events must be an array");
    if (envelope.events.length > MAX_EVENTS_PER_BATCH)
      return error(413, "too_large", `A batch holds at most ${MAX_EVENTS_PER_BATCH} events`);
    // Past this, passing the events on would overflow the stack: a 503, retried forever.
    if (nestsDeeperThan(envelope.events, MAX_EVENTS_NESTING))
      return error(
        400,
        "invalid_shape",
        `events may nest at most ${MAX_EVENTS_NESTING} levels of arrays and objects`,
      );

    const country = countryHeaders.map((name) => request.headers.get(name)).find((value) => value);
    // Handed over for a site that names a trusted proxy; ignored (and never stored) otherwise.
    const forwarded = FORWARDED_ADDRESS_HEADERS.flatMap((header) => {
      const value = request.headers.get(header);
      return value ? [{ header, value: value.slice(0, 1_000) }] : [];
    });
    let outcome;
    try {
      outcome = await ctx.runMutation(component.admission.ingestRequest, {
        writeKey: wellFormed(envelope.key),
        origin: request.headers.get("origin"),
        ...(country ? { country: country.slice(0, 8) } : {}),
        ...(forwarded.length > 0 ? { forwarded } : {}),
        batchId: wellFormed(envelope.batchId),
        ...(typeof envelope.sentAt === "number" && Number.isFinite(envelope.sentAt)
          ? { sentAt: envelope.sentAt }
          : {}),
        // As JSON text: raw client values (field names with "$" or non-ASCII
        // characters, lone surrogates) are not all valid Convex values, and the
        // component validates each event once, rejecting bad ones one by one.
        eventsJson: JSON.stringify(envelope.events),
      });
    } catch {
      // Not the client's fault: the tracker retries 5xx with the same batchId.
      return error(503, "unavailable", "Ingest is unavailable, retry later", {
        "Retry-After": "5",
      });
    }
    switch (outcome.status) {
      case "unknown_key":
        return error(401, "unknown_key", "Unknown write key");
      case "origin_not_allowed":
        return error(403, "origin_not_allowed", "This origin may not send events to this site");
      case "site_disabled":
        return error(403, "site_disabled", "This site is disabled");
      case "bot":
        // Counted, not stored; a 202 so that crawlers have nothing to learn or retry.
        return json(202, { accepted: 0, duplicate: false, rejected: [] });
      case "rate_limited": {
        const seconds = String(Math.ceil(outcome.retryAfterMs / 1000));
        return error(429, "rate_limited", `Too many requests, retry after ${seconds} s`, {
          "Retry-After": seconds,
        });
      }
      case "accepted":
        return json(202, outcome.result);
    }
  });
}

/** Whether an If-None-Match header names this ETag (weak or strong, or "*"). */
function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  return (
    !!ifNoneMatch &&
    ifNoneMatch.split(",").some((tag) => {
      const t = tag.trim();
      return t === "*" || t.replace(/^W\//, "") === etag;
    })
  );
}

// The tracker changes only when the package does, so browsers and CDNs may
// cache it for a day and keep serving it for a week while they revalidate.
const scriptHandler = httpActionGeneric(async (_ctx, request) => {
  const etag = `"${TRACKER_ETAG}"`;
  const headers = {
    "Cache-Control": "public, max-age=86400, stale-while-revalidate=604800",
    ETag: etag,
    // Lets pages load it with crossorigin (and Subresource Integrity).
    "Access-Control-Allow-Origin": "*",
  };
  if (etagMatches(request.headers.get("if-none-match"), etag))
    return new Response(null, { status: 304, headers });
  return new Response(TRACKER_SCRIPT, {
    status: 200,
    headers: { ...headers, "Content-Type": "application/javascript" },
  });
});

const methodNotAllowed = httpActionGeneric(async () =>
  error(405, "method_not_allowed", "Use POST", { Allow: "POST, OPTIONS" }),
);

/**
 * Mounts the analytics HTTP routes on the host's router.
 *
 * - `POST {pathPrefix}/ingest`: browser batches, JSON or text/plain (sendBeacon)
 * - `OPTIONS {pathPrefix}/ingest`: the CORS preflight
 * - `GET {pathPrefix}/script.js`: the tracker for a script tag, cached for a
 *   day with an ETag (see `convex-event-analytics/tracker` for the npm build)
 * - `GET {pathPrefix}/api/v1/{overview|timeseries|breakdown|realtime}`: the
 *   stats API, with a per-site read key (`Authorization: Bearer rk_...`)
 * - `GET {pathPrefix}/health`: the pipeline's backlog for uptime monitors (200 or 503)
 *
 * @example
 * ```ts
 * // convex/http.ts
 * import { httpRouter } from "convex/server";
 * import { registerRoutes } from "convex-event-analytics";
 * import { components } from "./_generated/api";
 *
 * const http = httpRouter();
 * registerRoutes(http, components.analytics, { pathPrefix: "/analytics" });
 * export default http;
 * ```
 */
export function registerRoutes(
  http: HttpRouter,
  component: ComponentApi,
  options: RouteOptions = {},
): void {
  const prefix = (options.pathPrefix ?? "/analytics").replace(/\/+$/, "");
  const path = `${prefix}/ingest`;
  http.route({ path: `${prefix}/script.js`, method: "GET", handler: scriptHandler });
  // Origins are enforced per site inside the handler (403), where the site is known.
  const wrongMethods = corsRouter(http, { allowedOrigins: ["*"] });
  for (const method of ["GET", "PUT", "PATCH", "DELETE"] as const)
    wrongMethods.route({ path, method, handler: methodNotAllowed });
  // Registered last so its OPTIONS handler (advertising POST only) is the one that stays.
  // Retry-After must be exposed, or a cross-origin tracker cannot honour it on 429/503.
  corsRouter(http, {
    allowedOrigins: ["*"],
    allowedHeaders: ["Content-Type"],
    exposedHeaders: ["Retry-After"],
  }).route({
    path,
    method: "POST",
    handler: ingestHandler(component, options.countryHeaders ?? DEFAULT_COUNTRY_HEADERS),
  });
  registerStatsRoutes(http, component, prefix, options);
}
