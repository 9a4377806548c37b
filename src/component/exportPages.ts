// What one export step reads: the CSV columns and rows of events and sessions,
// and one bounded page of CSV for each kind of export (events, sessions, a
// report). The job around it (starting, steps, retries, expiry) is exports.ts.
import { getConvexSize, type Value } from "convex/values";
import { streamQuery } from "convex-helpers/server/pagination";
import type { QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import schema from "./schema.js";
import {
  breakdownCsvRecords,
  csvLines,
  timeseriesCsvRecords,
  type AnalyticsEvent,
  type CsvValue,
} from "../shared.js";
import { MAX_FUTURE_MS, MAX_PAST_MS } from "./events.js";
import { getBreakdownHandler, getTimeseriesHandler } from "./reports.js";
import { liveGeneration } from "./generations.js";

/** Bytes of documents one step reads: a part of about this size (batches are up to ~100 KiB each). */
export const EXPORT_PAGE_READ_BYTES = 1024 * 1024;
/** Documents one step reads. */
export const EXPORT_PAGE_READ_DOCUMENTS = 2_000;
/** The CSV cursor value once every row is written. */
export const EXPORT_DONE = "done";

export const EVENT_COLUMNS = [
  "occurredAt",
  "receivedAt",
  "id",
  "type",
  "name",
  "url",
  "title",
  "referrer",
  "screen",
  "tz",
  "visitorId",
  "userId",
  "country",
  "device",
  "browser",
  "os",
  "props",
  "traits",
] as const;
export const SESSION_COLUMNS = [
  "startedAt",
  "lastSeenAt",
  "id",
  "visitorId",
  "events",
  "pageviews",
  "entryPage",
  "exitPage",
  "exitAt",
  "hostname",
  "attribution",
] as const;

/** An event's CSV row: absent fields are empty, props and traits JSON. */
export function eventRow(event: AnalyticsEvent, receivedAt: number): CsvValue[] {
  return EVENT_COLUMNS.map((column) => {
    if (column === "receivedAt") return receivedAt;
    if (column === "props" || column === "traits")
      return event[column] === undefined ? undefined : JSON.stringify(event[column]);
    return event[column];
  });
}

function sessionRow(doc: Doc<"sessions">): CsvValue[] {
  return SESSION_COLUMNS.map((column) =>
    column === "id"
      ? doc._id
      : column === "attribution"
        ? JSON.stringify(doc.attribution)
        : doc[column],
  );
}

export type Page = { csv: string; rows: number; bytes: number; next: string };

/** Events by occurredAt in [from, to), oldest received first. Cursor: the last batch written, whole. */
async function eventsPage(ctx: QueryCtx, job: Doc<"exports">): Promise<Page> {
  const after = job.cursor === null ? null : (JSON.parse(job.cursor) as [number, string]);
  // Only batches received in this window can hold events that occurred in [from, to).
  const stream = streamQuery(ctx, {
    table: "batches",
    index: "by_site",
    schema,
    order: "asc",
    startIndexKey: after ? [job.siteId, ...after] : [job.siteId, job.from - MAX_FUTURE_MS],
    startInclusive: after === null,
    endIndexKey: [job.siteId, job.to + MAX_PAST_MS],
    endInclusive: true,
  });
  return collectPage(
    stream,
    job.cursor === null ? [...EVENT_COLUMNS] : null,
    (doc) =>
      doc.events
        .filter((event) => event.occurredAt >= job.from && event.occurredAt < job.to)
        .map((event) => eventRow(event, doc._creationTime)),
    (doc) => [doc._creationTime, doc._id],
  );
}

/** Sessions by startedAt in [from, to), oldest first. Cursor: the last session's index key. */
async function sessionsPage(ctx: QueryCtx, job: Doc<"exports">): Promise<Page> {
  // A rebuild writes its own sessions beside the live ones (generations.ts): only the live ones are exported.
  const site = await ctx.db.get("sites", job.siteId);
  const generation = site ? liveGeneration(site) : 0;
  const after = job.cursor === null ? null : (JSON.parse(job.cursor) as [number, number, string]);
  const stream = streamQuery(ctx, {
    table: "sessions",
    index: "by_site_started",
    schema,
    order: "asc",
    startIndexKey: after ? [job.siteId, ...after] : [job.siteId, job.from],
    startInclusive: after === null,
    endIndexKey: [job.siteId, job.to],
    endInclusive: false,
  });
  return collectPage(
    stream,
    job.cursor === null ? [...SESSION_COLUMNS] : null,
    (doc) => (doc.generation === generation ? [sessionRow(doc)] : []),
    (doc) => [doc.startedAt, doc._creationTime, doc._id],
  );
}

/**
 * One page of CSV from an index stream: its documents' rows (after `header`,
 * on the first page) until EXPORT_PAGE_READ_BYTES or EXPORT_PAGE_READ_DOCUMENTS
 * are read; `next` is the last document's index key, or EXPORT_DONE.
 */
async function collectPage<D extends object>(
  stream: AsyncIterable<[D, ...unknown[]]>,
  header: CsvValue[] | null,
  rowsOf: (doc: D) => CsvValue[][],
  keyOf: (doc: D) => unknown[],
): Promise<Page> {
  const rows: CsvValue[][] = header ? [header] : [];
  const headerRows = rows.length;
  let bytesRead = 0;
  let documentsRead = 0;
  let next = EXPORT_DONE;
  for await (const [doc] of stream) {
    documentsRead++;
    bytesRead += getConvexSize(doc as unknown as Value);
    rows.push(...rowsOf(doc));
    if (bytesRead >= EXPORT_PAGE_READ_BYTES || documentsRead >= EXPORT_PAGE_READ_DOCUMENTS) {
      next = JSON.stringify(keyOf(doc));
      break;
    }
  }
  const csv = csvLines(rows);
  return { csv, rows: rows.length - headerRows, bytes: byteLength(csv), next };
}

/** One report, whole: reports are bounded by construction. */
async function reportPage(ctx: QueryCtx, job: Doc<"exports">): Promise<Page> {
  const range = { siteId: job.siteId, from: job.from, to: job.to };
  let rows: CsvValue[][];
  if (job.report?.type === "breakdown") {
    const { rows: found } = await getBreakdownHandler(ctx, {
      ...range,
      dimension: job.report.dimension,
      ...(job.report.limit !== undefined ? { limit: job.report.limit } : {}),
    });
    rows = breakdownCsvRecords(job.report.dimension, found);
  } else {
    const series = await getTimeseriesHandler(ctx, {
      ...range,
      ...(job.report?.granularity ? { granularity: job.report.granularity } : {}),
    });
    rows = timeseriesCsvRecords(series.points);
  }
  const csv = csvLines(rows);
  return { csv, rows: rows.length - 1, bytes: byteLength(csv), next: EXPORT_DONE };
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

/** One step's page of the job's CSV, from its cursor on. */
export async function exportPage(ctx: QueryCtx, job: Doc<"exports">): Promise<Page> {
  if (job.kind === "events") return await eventsPage(ctx, job);
  if (job.kind === "sessions") return await sessionsPage(ctx, job);
  return await reportPage(ctx, job);
}
