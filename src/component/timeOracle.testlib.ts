// An independent reading of the local calendar for time.test.ts,
// timeRanges.test.ts and timeBuckets.test.ts: dates, months, weekdays and hour phases as Intl formats them,
// never computed the way time.ts computes them, so a shared mistake cannot pass.
import { HOUR, MINUTE } from "./time.js";

export const Z = (iso: string) => Date.parse(iso);
export const hours = (ms: number) => ms / HOUR;

// ---------------------------------------------------------------------------
// An independent oracle for "which local date / month is instant t in".
const dateFormatters = new Map<string, Intl.DateTimeFormat>();
export function localDate(ms: number, timeZone: string): string {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    dateFormatters.set(timeZone, f);
  }
  return f.format(new Date(ms)); // "2024-03-10"
}
export const localMonth = (ms: number, tz: string) => localDate(ms, tz).slice(0, 7);
export const localWeekday = (ms: number, tz: string) =>
  new Intl.DateTimeFormat("en-US", { timeZone: tz, weekday: "short" }).format(new Date(ms));
/** t is the first instant of its local date. */
export const isLocalMidnight = (t: number, tz: string) => localDate(t - 1, tz) !== localDate(t, tz);
export const isMonthStart = (t: number, tz: string) => localMonth(t - 1, tz) !== localMonth(t, tz);

// The independent phase oracle: where local hours start within a UTC hour, from the zone's offset on 1 January 2026
// as Intl names it ("GMT+05:45"). Local hours start where UTC + offset is a whole hour, at minus the offset modulo
// one hour: :30 for +05:30 and -03:30, but :15 for +05:45.
const oraclePhases = new Map<string, number>();
export function phaseOf(tz: string): number {
  if (oraclePhases.has(tz)) return oraclePhases.get(tz)!;
  const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
    .formatToParts(new Date(Z("2026-01-01T00:00:00Z")))
    .find((p) => p.type === "timeZoneName")!.value;
  const [, sign, h, m] = /GMT(?:([+-])(\d{2}):(\d{2}))?/.exec(name)!;
  oraclePhases.set(
    tz,
    (((((sign === "-" ? 1 : -1) * (Number(h ?? 0) * 60 + Number(m ?? 0))) % 60) + 60) % 60) *
      MINUTE,
  );
  return phaseOf(tz);
}
/** The start of the site-local hour holding t, by the oracle's phase. */
export const localHourOf = (t: number, tz: string) =>
  Math.floor((t - phaseOf(tz)) / HOUR) * HOUR + phaseOf(tz);

export const ZONES = [
  "America/New_York",
  "Europe/Berlin",
  "Australia/Sydney",
  "UTC",
  "Asia/Kolkata",
] as const;
export const WHOLE_HOUR_ZONES = [
  "America/New_York",
  "Europe/Berlin",
  "Australia/Sydney",
  "UTC",
] as const;
/** Zones whose offset is not a whole number of hours, but whose DST (if any) shifts by whole hours. */
export const SUB_HOUR_ZONES = [
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Adelaide",
  "America/St_Johns",
] as const;
