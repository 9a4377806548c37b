// How long each kind of data is kept, per site (its settings, or these
// defaults), and where each rollup level's kept range starts. Retention
// (maintenance.ts) deletes rollup buckets that start before their level's
// cutoff, and first moves the level's horizon (`rollupHorizons`) to that
// cutoff in the same transaction; reports refuse a range that needs a bucket
// before its level's horizon. So a report never counts a pruned bucket as
// empty, whatever the clock says and however the settings changed since.
import type { QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import type { SiteSettings } from "../shared.js";
import { DAY, bucketStart, type Piece } from "./time.js";

export const DEFAULT_RAW_RETENTION_DAYS = 90;
export const DEFAULT_HOURLY_ROLLUP_RETENTION_DAYS = 90;
export const DEFAULT_BOT_COUNT_RETENTION_DAYS = 30;
export const DEFAULT_DEAD_LETTER_RETENTION_DAYS = 30;
/** Hour granularity needs the last two days of hours (pickGranularity picks it up to 2 days). */
export const MIN_HOURLY_ROLLUP_RETENTION_DAYS = 2;
export const MAX_RETENTION_DAYS = 36_500;

/** The canonical rollup levels retention cuts, finest first. */
export const ROLLUP_LEVELS = ["hour", "day", "month"] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

const LEVEL_NAMES = { hour: "Hourly", day: "Daily", month: "Monthly" } as const;
const SETTING_NAMES = {
  hour: "hourlyRollupRetentionDays",
  day: "dailyRollupRetentionDays",
  month: "monthlyRollupRetentionDays",
} as const;

/** Days each rollup level is kept; undefined: forever (daily and monthly, by default). */
export function rollupRetentionDays(
  settings: SiteSettings,
): Record<RollupLevel, number | undefined> {
  return {
    hour: settings.hourlyRollupRetentionDays ?? DEFAULT_HOURLY_ROLLUP_RETENTION_DAYS,
    day: settings.dailyRollupRetentionDays,
    month: settings.monthlyRollupRetentionDays,
  };
}

/**
 * Where each level's retained buckets start at `now`: the start of the bucket
 * (hour, local day or local month) holding `now` minus the level's retention.
 * A bucket starting before its cutoff is deleted, and no report reads it.
 */
export function rollupCutoffs(
  settings: SiteSettings,
  timeZone: string,
  now: number,
): Partial<Record<RollupLevel, number>> {
  const days = rollupRetentionDays(settings);
  const cutoffs: Partial<Record<RollupLevel, number>> = {};
  for (const level of ROLLUP_LEVELS) {
    const kept = days[level];
    if (kept !== undefined) cutoffs[level] = bucketStart(level, now - kept * DAY, timeZone);
  }
  return cutoffs;
}

/** How every error `assertRetained` throws starts (the stats API answers them with a 400). */
export const RETENTION_ERRORS = Object.values(LEVEL_NAMES).map(
  (name) => `${name} rollups are deleted by retention`,
);

export type RollupHorizons = Partial<Record<RollupLevel, number>>;

/** Where each level's kept buckets start for a site (nothing pruned yet: no horizon). */
export async function loadHorizons(
  ctx: Pick<QueryCtx, "db">,
  siteId: Id<"sites">,
): Promise<RollupHorizons> {
  const doc = await ctx.db
    .query("rollupHorizons")
    .withIndex("by_site", (q) => q.eq("siteId", siteId))
    .unique();
  return doc ? { hour: doc.hour, day: doc.day, month: doc.month } : {};
}

/**
 * Throws a clear error if a range's plan needs a rollup bucket before its
 * level's horizon: that range has no answer any more. A range of whole local
 * days (or months) older than the hourly retention is planned without hours,
 * so it is answered from days and months.
 */
export function assertRetained(
  pieces: readonly Piece[],
  horizons: RollupHorizons,
  site: Pick<Doc<"sites">, "settings">,
): void {
  const days = rollupRetentionDays(site.settings);
  for (const piece of pieces) {
    if (piece.interval === "minute") continue;
    const horizon = horizons[piece.interval];
    if (horizon === undefined || piece.bucketStart >= horizon) continue;
    const kept = days[piece.interval];
    const advice =
      piece.interval === "hour"
        ? "start and end it at local midnights, or use day or coarser granularity"
        : piece.interval === "day"
          ? "start and end it on local month boundaries, or use month granularity"
          : "nothing older is kept";
    throw new Error(
      `${LEVEL_NAMES[piece.interval]} rollups are deleted by retention before ${new Date(horizon).toISOString()} (${SETTING_NAMES[piece.interval]}: ${kept ?? "forever now"}): this range needs the ${piece.interval} starting ${new Date(piece.bucketStart).toISOString()}; ${advice}`,
    );
  }
}

/** Throws a clear error for a rollup retention setting out of range. */
export function assertRetentionRanges(settings: SiteSettings): void {
  for (const name of Object.values(SETTING_NAMES)) {
    const days = settings[name];
    const min = MIN_HOURLY_ROLLUP_RETENTION_DAYS;
    if (
      days !== undefined &&
      !(Number.isInteger(days) && days >= min && days <= MAX_RETENTION_DAYS)
    )
      throw new Error(`${name} must be a whole number of days between ${min} and 36,500`);
  }
}

/**
 * Throws a clear error for a site's settings (as they will be stored) that keep
 * a coarser level for less time than a finer one: a range of old whole days
 * would then have neither hours nor days to be answered from.
 */
export function assertRetentionOrder(settings: SiteSettings): void {
  const kept = rollupRetentionDays(settings);
  const [hour, day, month] = ROLLUP_LEVELS.map((level) => kept[level] ?? Infinity);
  const shown = (days: number) => (days === Infinity ? "forever" : `${days}`);
  if (day! < hour!)
    throw new Error(
      `dailyRollupRetentionDays (${shown(day!)}) must be at least hourlyRollupRetentionDays (${shown(hour!)})`,
    );
  if (month! < day!)
    throw new Error(
      `monthlyRollupRetentionDays (${shown(month!)}) must be at least dailyRollupRetentionDays (${shown(day!)})`,
    );
}
