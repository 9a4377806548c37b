// What ingest learns about the client from Convex's request metadata and the
// edge: bot or not (isbot), device/browser/OS (ua-parser-js), country (an edge
// header the route read, else the browser's timezone). Nothing here calls out of
// the deployment.
import { isbot } from "isbot";
import { UAParser } from "ua-parser-js";
import { getCountryForTimezone } from "countries-and-timezones";

export type ClientDescription = { isBot: boolean; device: string; browser: string; os: string };

export function describeUserAgent(userAgent: string): ClientDescription {
  const ua = new UAParser(userAgent).getResult();
  const type = ua.device.type;
  return {
    // isbot's verdict alone: an empty user agent (server-to-server posts) is not a bot.
    isBot: isbot(userAgent),
    device: type === "mobile" || type === "tablet" ? type : type ? "other" : "desktop",
    browser: ua.browser.name ?? "(unknown)",
    os: ua.os.name ?? "(unknown)",
  };
}

/** The country an IANA timezone belongs to, as a fallback when no edge header says. */
export function countryOfTimezone(tz: unknown): string | undefined {
  if (typeof tz !== "string" || tz.length > 64) return undefined;
  return getCountryForTimezone(tz)?.id;
}

/** An ISO 3166 alpha-2 code, or undefined. "XX" and "T1" are Cloudflare's unknown and Tor markers. */
export function isoCountry(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const code = value.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(code) && code !== "XX" && code !== "T1" ? code : undefined;
}
