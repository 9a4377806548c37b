// What the ingest route learns from the request itself: bot or not (isbot),
// device/browser/OS (ua-parser-js), country (edge headers, else the browser's
// timezone). Runs in the host's HTTP action; nothing here calls out of the
// deployment, and the IP is only ever an input to a one-way hash.
import { isbot } from "isbot";
import { UAParser } from "ua-parser-js";
import { getCountryForTimezone } from "countries-and-timezones";

/** Edge/CDN headers carrying the client's ISO country, tried in order. */
export const DEFAULT_COUNTRY_HEADERS = [
  "cf-ipcountry",
  "x-vercel-ip-country",
  "cloudfront-viewer-country",
  "x-country-code",
  "x-appengine-country",
  "fly-client-country",
];

/** Edge/proxy headers carrying the client's IP, tried in order (first hop of x-forwarded-for). */
const IP_HEADERS = ["cf-connecting-ip", "x-real-ip", "fly-client-ip", "x-forwarded-for"];

export type ClientInfo = {
  isBot: boolean;
  userAgent: string;
  /** Only ever hashed: used for the cookieless visitor id and the rate-limit key. */
  ip: string;
  device: string;
  browser: string;
  os: string;
  /** From an edge header, when there is one. */
  headerCountry?: string;
};

export function clientInfo(request: Request, countryHeaders: string[] = DEFAULT_COUNTRY_HEADERS): ClientInfo {
  const userAgent = request.headers.get("user-agent") ?? "";
  const ua = new UAParser(userAgent).getResult();
  let headerCountry: string | undefined;
  for (const name of countryHeaders) {
    const value = request.headers.get(name)?.trim().toUpperCase();
    // "XX" and "T1" are Cloudflare's unknown and Tor markers.
    if (value && /^[A-Z]{2}$/.test(value) && value !== "XX" && value !== "T1") {
      headerCountry = value;
      break;
    }
  }
  let ip = "";
  for (const name of IP_HEADERS) {
    const value = request.headers.get(name)?.split(",")[0]?.trim();
    if (value) {
      ip = value;
      break;
    }
  }
  return {
    // isbot's verdict alone: an empty user agent (server-to-server posts) is not a bot.
    isBot: isbot(userAgent),
    userAgent,
    ip,
    device: ua.device.type === "mobile" || ua.device.type === "tablet" ? ua.device.type : ua.device.type ? "other" : "desktop",
    browser: ua.browser.name ?? "(unknown)",
    os: ua.os.name ?? "(unknown)",
    headerCountry,
  };
}

/** The country an IANA timezone belongs to, as a fallback when no edge header says. */
export function countryOfTimezone(tz: unknown): string | undefined {
  if (typeof tz !== "string" || tz.length > 64) return undefined;
  return getCountryForTimezone(tz)?.id;
}
