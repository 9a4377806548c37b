// Realtime: what the minute rows (rollupDeltas, interval "minute", pruned after
// MINUTE_RETENTION_MS) say about the minutes before `now`. Everything depends on
// the arguments and the stored rows only, never on the clock, so the query's
// subscription moves when the caller advances `now`, even on a site where
// nothing is written, and callers passing the same minute share one cache entry.
import type { QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { Dimension, Realtime } from "../shared.js";
import { readDeltaDocs, splitMinuteKey } from "./deltas.js";
import { liveOwner } from "./generations.js";
import type { Located } from "./rangeRows.js";
import { decodeRows } from "./rowCodec.js";
import { RowMap, TOTAL_KEY, compareRows, emptyRow, mergeRow, type Row } from "./rows.js";
import { estimate } from "./sketch.js";
import { siteOrThrow } from "./sites.js";
import { HOUR, MINUTE, alignRange, hourPhase } from "./time.js";

/** The live view's span, and the current visitors' (Plausible's "last 5 minutes"). */
export const REALTIME_MINUTES = 30;
export const CURRENT_VISITOR_MINUTES = 5;
/** Rows in the top pages and top sources. */
export const REALTIME_TOP = 10;

/**
 * The minute rows of [from, to) of the given dimensions, each with its minute
 * and its dimension's key, read from the hour documents that hold them.
 */
export async function readMinuteRows(
  ctx: QueryCtx,
  site: Doc<"sites">,
  from: number,
  to: number,
  dimensions: readonly Dimension[],
): Promise<Map<Dimension, Located[]>> {
  const phase = hourPhase(site.timezone);
  const firstHour = Math.floor((from - phase) / HOUR) * HOUR + phase;
  const out = new Map<Dimension, Located[]>(dimensions.map((d) => [d, []]));
  for (const doc of await readDeltaDocs(ctx, liveOwner(site), "minute", firstHour, to)) {
    for (const { dimension, ...row } of decodeRows(doc.rows)) {
      const rows = out.get(dimension);
      if (!rows) continue;
      const { minute, key } = splitMinuteKey(row.key);
      if (minute >= from && minute < to) rows.push({ bucketStart: minute, row: { ...row, key } });
    }
  }
  return out;
}

/** The `total` minute rows of [from, to): timeseries' minute points. */
export async function readMinutes(
  ctx: QueryCtx,
  site: Doc<"sites">,
  from: number,
  to: number,
): Promise<Located[]> {
  return (await readMinuteRows(ctx, site, from, to, ["total"])).get("total")!;
}

/** The top REALTIME_TOP keys of some minute rows: sketches merged per key, so a visitor counts once. */
function top(rows: Located[]): Realtime["topPages"] {
  return new RowMap()
    .addAll(rows.map((r) => r.row))
    .values()
    .map((r) => ({ ...r, visitorCount: estimate(r.visitors) }))
    .sort(compareRows)
    .slice(0, REALTIME_TOP)
    .map((r) => ({ key: r.key, visitors: r.visitorCount, pageviews: r.pageviews }));
}

export async function getRealtimeHandler(
  ctx: QueryCtx,
  { siteId, now }: { siteId: string; now: number },
): Promise<Realtime> {
  const site = await siteOrThrow(ctx, siteId);
  const to = alignRange(now - 1, now, MINUTE).to;
  const from = to - REALTIME_MINUTES * MINUTE;
  const rows = await readMinuteRows(ctx, site, from, to, ["total", "page", "referrer"]);
  const minutes: Row[] = [];
  for (let i = 0; i < REALTIME_MINUTES; i++) minutes.push(emptyRow(TOTAL_KEY));
  for (const { bucketStart: at, row } of rows.get("total")!) {
    const i = (at - from) / MINUTE;
    minutes[i] = mergeRow(minutes[i]!, row);
  }
  const all = minutes.reduce(mergeRow, emptyRow(TOTAL_KEY));
  const current = minutes.slice(-CURRENT_VISITOR_MINUTES).reduce(mergeRow, emptyRow(TOTAL_KEY));
  return {
    visitors: estimate(current.visitors),
    pageviews: all.pageviews,
    events: all.events,
    minutes: minutes.map((row, i) => ({
      minuteStart: from + i * MINUTE,
      pageviews: row.pageviews,
      visitors: estimate(row.visitors),
    })),
    topPages: top(rows.get("page")!),
    topSources: top(rows.get("referrer")!),
  };
}
