// Formatting only: every number shown comes from a report as the API returned it.
// Dates are shown in the site's timezone, the one its day and month buckets use.
import { NONE_KEY, OTHER_KEY, type Granularity } from "../shared.js";

const DASH = "–";

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(
  locale: string | undefined,
  options: Intl.NumberFormatOptions,
): Intl.NumberFormat {
  const key = `n|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.NumberFormat | undefined;
  if (!f) cache.set(key, (f = new Intl.NumberFormat(locale, options)));
  return f;
}
function dateFormat(
  locale: string | undefined,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  const key = `d|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) cache.set(key, (f = new Intl.DateTimeFormat(locale, options)));
  return f;
}

/** A count with grouping: 20431 -> "20,431". */
export function formatNumber(n: number, locale?: string): string {
  return numberFormat(locale, { maximumFractionDigits: 0 }).format(n);
}

/** A count for an axis: 20431 -> "20K". */
export function formatCompact(n: number, locale?: string): string {
  return numberFormat(locale, { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** A ratio in [0, 1] as a percentage: 0.4567 -> "45.7%"; null (no sessions) -> "–". */
export function formatPercent(ratio: number | null, locale?: string): string {
  if (ratio === null) return DASH;
  return numberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}

/** Views per session and other small ratios: 2.3456 -> "2.35". */
export function formatDecimal(x: number | null, locale?: string): string {
  if (x === null) return DASH;
  return numberFormat(locale, { maximumFractionDigits: 2 }).format(x);
}

/** A duration: 42_400 -> "42s", 65_000 -> "1m 5s", 3_780_000 -> "1h 3m"; null -> "–". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return DASH;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** A bucket's start, for tooltips and CSV: what the bucket covers, in the site's timezone. */
export function formatBucket(
  ms: number,
  granularity: Granularity,
  timeZone: string,
  locale?: string,
): string {
  const d = new Date(ms);
  switch (granularity) {
    case "minute":
    case "hour":
      return dateFormat(locale, {
        timeZone,
        weekday: "short",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }).format(d);
    case "day":
      return dateFormat(locale, {
        timeZone,
        weekday: "short",
        month: "short",
        day: "numeric",
        year: "numeric",
      }).format(d);
    case "week":
      return `Week of ${dateFormat(locale, { timeZone, month: "short", day: "numeric", year: "numeric" }).format(d)}`;
    case "month":
      return dateFormat(locale, { timeZone, month: "long", year: "numeric" }).format(d);
  }
}

/** A bucket's start as a short axis label, in the site's timezone. */
export function formatTick(
  ms: number,
  granularity: Granularity,
  timeZone: string,
  locale?: string,
): string {
  const d = new Date(ms);
  switch (granularity) {
    case "minute":
    case "hour":
      return dateFormat(locale, {
        timeZone,
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      }).format(d);
    case "day":
    case "week":
      return dateFormat(locale, { timeZone, month: "short", day: "numeric" }).format(d);
    case "month":
      return dateFormat(locale, { timeZone, month: "short", year: "2-digit" }).format(d);
  }
}

/** "Europe/Berlin (GMT+01:00)": the timezone a site's days are counted in, with its current offset. */
export function formatTimezone(timeZone: string, at: number, locale?: string): string {
  const offset = dateFormat(locale ?? "en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(new Date(at))
    .find((p) => p.type === "timeZoneName")?.value;
  return offset ? `${timeZone} (${offset})` : timeZone;
}

/** The local calendar date ("2026-12-02") of an instant in a timezone. */
export function localDate(ms: number, timeZone: string): string {
  return dateFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(new Date(ms));
}

/** The flag emoji of an ISO 3166-1 alpha-2 code, from its regional indicator symbols; "" if it is not one. */
export function countryFlag(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return "";
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

const regionNames = new Map<string, Intl.DisplayNames | null>();
/** "DE" -> "Germany" (in `locale`); the code itself when the runtime has no name for it. */
export function countryName(code: string, locale?: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  const key = locale ?? "";
  if (!regionNames.has(key)) {
    try {
      regionNames.set(
        key,
        new Intl.DisplayNames(locale ? [locale] : undefined, { type: "region" }),
      );
    } catch {
      regionNames.set(key, null);
    }
  }
  try {
    return regionNames.get(key)?.of(code) ?? code;
  } catch {
    return code;
  }
}

/** Rows keyed "(none)" or "(other)" are placeholders, not values a visitor sent. */
export function isPlaceholderKey(key: string): boolean {
  return key === NONE_KEY || key === OTHER_KEY;
}
