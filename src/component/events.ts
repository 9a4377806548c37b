// Event normalisation (the ingest contract's per-event rules, README.md "The ingest route") and the
// dimension values an event contributes. Pure functions: the ingest route, the
// server-side Analytics class, ingestBatch and the worker all use these.
import {
  CLICK_ID_KINDS,
  NONE_KEY,
  type AnalyticsEvent,
  type ClickIdKind,
  type SessionDimension,
} from "../shared.js";
import { DAY, MINUTE } from "./time.js";
import { CLICK_ID_PARAMS, channelOf, clickIdOf } from "./channels.js";

export const MAX_EVENTS_PER_BATCH = 100;
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_PROPS = 30;
export const MAX_PROP_KEY_LENGTH = 300;
export const MAX_PROP_VALUE_LENGTH = 2_000;
export const MAX_STRING_LENGTH = 2_000;
/**
 * Arrays and objects a batch's `events` may nest, itself included: an event needs three
 * (the array, the event, its props). A 64 KiB body can nest thousands deep, past what
 * JSON.stringify and JSON.parse can recurse, so deeper input is refused before either runs.
 */
export const MAX_EVENTS_NESTING = 8;

/** Whether `value` nests more than `limit` arrays and objects; iterative, so any depth is safe. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
/** Convex's limit on a document field name; props keys become field names. */
const MAX_FIELD_NAME_LENGTH = 1_024;
/** How late an event may arrive: older `occurredAt` values are clamped to this. */
export const MAX_PAST_MS = 7 * DAY;
/** How early an event may claim to occur: later `occurredAt` values are clamped to this. */
export const MAX_FUTURE_MS = 5 * MINUTE;

export type Normalized = { ok: true; event: AnalyticsEvent } | { ok: false; reason: string };

type Json = unknown;
const isObject = (x: Json): x is Record<string, Json> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Replaces lone UTF-16 surrogates (which JSON escapes can produce) with U+FFFD:
 * Convex strings must be valid Unicode, and a batch that cannot be stored would
 * be retried by the tracker forever.
 */
export function wellFormed(value: string): string {
  return value.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    "\ufffd",
  );
}

function optionalString(
  raw: Record<string, Json>,
  field: string,
  max = MAX_STRING_LENGTH,
): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new Error(`${field} must be a string`);
  // Cut, then repair: a cut through a surrogate pair leaves a lone half.
  return wellFormed(value.slice(0, max));
}

/**
 * The click id's platform: read from the landing URL here, before anything strips its
 * query, or kept from an event that was normalised once already (and may have lost it).
 */
function clickId(raw: Record<string, Json>, url: URL): ClickIdKind | undefined {
  const fromUrl = clickIdOf(url.searchParams);
  if (fromUrl) return fromUrl;
  const given = raw.clickId;
  if (given === undefined || given === null) return undefined;
  if (!CLICK_ID_KINDS.includes(given as ClickIdKind))
    throw new Error(`clickId must be one of ${CLICK_ID_KINDS.join(", ")}`);
  return given as ClickIdKind;
}

/**
 * The URL without its click id parameters: their values identify one ad click, so
 * they are not stored. Cut from the text rather than re-serialised, so the rest of the
 * URL stays byte for byte as sent (and never grows past its length limit).
 */
function withoutClickIds(url: string): string {
  const hash = url.indexOf("#");
  const query = url.indexOf("?");
  if (query < 0 || (hash >= 0 && query > hash)) return url;
  const end = hash < 0 ? url.length : hash;
  const parts = url.slice(query + 1, end).split("&");
  const isClickId = (part: string) => {
    const name = [...new URLSearchParams(part).keys()][0];
    return name !== undefined && Object.hasOwn(CLICK_ID_PARAMS, name.toLowerCase());
  };
  const kept = parts.filter((part) => !isClickId(part));
  if (kept.length === parts.length) return url;
  const search = kept.length > 0 ? `?${kept.join("&")}` : "";
  return url.slice(0, query) + search + url.slice(end);
}

/**
 * The field name a prop key is stored under. Convex field names may not start with
 * "$" or "_" and must be ASCII: such keys are kept as `p:` + their URI encoding
 * rather than lost. A stored name passes through unchanged (ingestBatch normalises
 * what the route normalised).
 */
export function storedPropertyName(key: string): string {
  return /^[$_]/.test(key) || /[^\x20-\x7e]/.test(key)
    ? `p:${encodeURIComponent(wellFormed(key))}`
    : key;
}

/**
 * The property name a client sent, from the field name it is stored under: only
 * an encoding storedPropertyName makes is decoded, so a key the client itself
 * began with "p:" is its own name.
 */
export function propertyName(stored: string): string {
  if (!stored.startsWith("p:")) return stored;
  let decoded: string;
  try {
    decoded = decodeURIComponent(stored.slice(2));
  } catch {
    return stored;
  }
  return storedPropertyName(decoded) === stored ? decoded : stored;
}

function props(raw: Json, field: string): AnalyticsEvent["props"] {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw new Error(`${field} must be an object`);
  const entries = Object.entries(raw);
  if (entries.length > MAX_PROPS) throw new Error(`${field} has more than ${MAX_PROPS} keys`);
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > MAX_PROP_KEY_LENGTH)
      throw new Error(`${field} keys must be 1-${MAX_PROP_KEY_LENGTH} characters`);
    const safeKey = storedPropertyName(key);
    // Encoding can grow a key up to 9x; Convex refuses field names over 1,024 characters.
    if (safeKey.length > MAX_FIELD_NAME_LENGTH)
      throw new Error(`${field} key "${key.slice(0, 40)}..." is too long once encoded`);
    if (typeof value === "string") {
      if (value.length > MAX_PROP_VALUE_LENGTH)
        throw new Error(`${field}.${key} is longer than ${MAX_PROP_VALUE_LENGTH} characters`);
      out[safeKey] = wellFormed(value);
    } else if (
      (typeof value === "number" && Number.isFinite(value)) ||
      typeof value === "boolean"
    ) {
      out[safeKey] = value;
    } else {
      throw new Error(`${field}.${key} must be a string, a finite number or a boolean`);
    }
  }
  return out;
}

/**
 * Validates one incoming event and fills in server-side fields. Never throws:
 * a bad event becomes a rejection with a reason, so its valid neighbours are kept.
 * `occurredAt` is clamped to [receivedAt - 7 days, receivedAt + 5 minutes].
 */
export function normalizeEvent(
  raw: Json,
  receivedAt: number,
  server: Partial<Pick<AnalyticsEvent, "visitorId" | "country" | "device" | "browser" | "os">> = {},
): Normalized {
  try {
    if (!isObject(raw)) throw new Error("event must be an object");
    const id = optionalString(raw, "id", 128);
    if (!id) throw new Error("id is required");
    const type = raw.type;
    if (type !== "pageview" && type !== "track" && type !== "identify") {
      throw new Error('type must be "pageview", "track" or "identify"');
    }
    const name = optionalString(raw, "name", 200);
    if (type === "track" && !name) throw new Error("a track event needs a name");
    const occurredAt = raw.occurredAt;
    if (typeof occurredAt !== "number" || !Number.isFinite(occurredAt))
      throw new Error("occurredAt must be epoch milliseconds");
    const url = optionalString(raw, "url");
    if (!url) throw new Error("url is required");
    const parsed = URL.canParse(url) ? new URL(url) : null;
    if (!parsed || !/^https?:$/.test(parsed.protocol))
      throw new Error("url must be an absolute http(s) URL");
    const visitorId =
      server.visitorId !== undefined
        ? wellFormed(server.visitorId)
        : optionalString(raw, "visitorId", 128);
    if (!visitorId) throw new Error("visitorId is required");
    const userId = optionalString(raw, "userId", 256);
    if (type === "identify" && !userId) throw new Error("an identify event needs a userId");
    const event: AnalyticsEvent = {
      id,
      type,
      // Whole milliseconds: rollup counters (durations) are stored as integers.
      occurredAt: Math.round(
        Math.min(Math.max(occurredAt, receivedAt - MAX_PAST_MS), receivedAt + MAX_FUTURE_MS),
      ),
      url: withoutClickIds(url),
      visitorId,
    };
    const optional = {
      name,
      title: optionalString(raw, "title"),
      referrer: optionalString(raw, "referrer"),
      screen: optionalString(raw, "screen", 32),
      tz: optionalString(raw, "tz", 64),
      props: props(raw.props, "props"),
      userId,
      traits: props(raw.traits, "traits"),
      clickId: clickId(raw, parsed),
      ...server,
    };
    for (const [k, value] of Object.entries(optional)) {
      // Server-derived strings are repaired too: a trusted caller can still pass a lone surrogate.
      if (value !== undefined) {
        (event as Record<string, unknown>)[k] =
          typeof value === "string" ? wellFormed(value) : value;
      }
    }
    return { ok: true, event };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * The fields the ingest route derives from the request (never from the client):
 * read back from an already-enriched event when ingestBatch validates it again.
 */
export function enrichedFields(
  raw: Json,
): Partial<Pick<AnalyticsEvent, "country" | "device" | "browser" | "os">> {
  if (!isObject(raw)) return {};
  const out: Record<string, string> = {};
  for (const field of ["country", "device", "browser", "os"] as const) {
    const value = raw[field];
    if (typeof value === "string" && value.length > 0) out[field] = value.slice(0, 64);
  }
  return out;
}

function parseUrl(url: string | undefined): URL | null {
  return url && URL.canParse(url) ? new URL(url) : null;
}

const stripWww = (host: string) => host.replace(/^www\./, "");

/**
 * The page path: no query string, no trailing slash except the root, and no
 * fragment unless it is a hash route ("#/..." or "#!/..."), which SPAs in hash
 * mode use as their page.
 */
export function pagePath(url: string): string {
  const parsed = parseUrl(url);
  const path = parsed?.pathname ?? "/";
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") || "/" : path;
  const route = /^#!?\//.test(parsed?.hash ?? "")
    ? parsed!.hash.split("?")[0]!.replace(/\/+$/, "")
    : "";
  return route.length > 2 ? trimmed + route : trimmed;
}

export function hostnameOf(url: string): string {
  return parseUrl(url)?.hostname || NONE_KEY;
}

export type Attribution = Record<SessionDimension, string>;

/** What a session is attributed to, fixed by the event that starts it. */
export function attributionOf(event: AnalyticsEvent): Attribution {
  const page = parseUrl(event.url);
  const ref = parseUrl(event.referrer);
  // A referrer on the same host is navigation inside the site, not a source.
  // www.example.com and example.com are the same site.
  const referrer =
    ref && stripWww(ref.hostname) !== stripWww(page?.hostname ?? "")
      ? stripWww(ref.hostname)
      : NONE_KEY;
  const utm = (name: string) =>
    page?.searchParams.get(`utm_${name}`)?.trim().slice(0, 200) || NONE_KEY;
  const utmSource =
    utm("source") !== NONE_KEY
      ? utm("source")
      : (page?.searchParams.get("ref")?.slice(0, 200) ?? NONE_KEY);
  return {
    referrer,
    channel: channelOf(referrer, utm("medium"), utmSource, {
      utmCampaign: utm("campaign"),
      clickId: event.clickId ?? (page ? clickIdOf(page.searchParams) : undefined),
    }),
    utmSource,
    utmMedium: utm("medium"),
    utmCampaign: utm("campaign"),
    utmContent: utm("content"),
    utmTerm: utm("term"),
    country: event.country || NONE_KEY,
    device: event.device || NONE_KEY,
    browser: event.browser || NONE_KEY,
    os: event.os || NONE_KEY,
    screen: event.screen || NONE_KEY,
  };
}
