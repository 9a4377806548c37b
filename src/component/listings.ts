// Raw listings: the stored events and sessions of a site, newest first, in
// Convex pagination's shape ({ page, isDone, continueCursor }). Called only
// through the host's exposeAnalyticsApi facade.
//
// Events live inside `batches` documents (one per ingest request, up to about
// 100 KiB each), so a page walks batches down the by_site index and each batch's
// events from last to first. Sessions walk by_site_started (or
// by_visitor_started). Both are keyset pagination: a cursor is the index key of
// the last position returned, never an offset, so it keeps working on page 2 and
// later while new rows arrive. Every page is bounded in documents and bytes read;
// a filter that matches rarely returns a short (even empty) page with a cursor
// rather than reading on without bound.
import { getConvexSize } from "convex/values";
import { streamQuery } from "convex-helpers/server/pagination";
import type { PaginationOptions, PaginationResult } from "convex/server";
import { query, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import schema from "./schema.js";
import {
  vEventPage,
  vListEventsArgs,
  vListSessionsArgs,
  vSessionPage,
  type ListedEvent,
  type ListedSession,
  type ListEventsArgs,
  type ListSessionsArgs,
} from "../shared.js";
import { pagePath } from "./events.js";
import { siteOrThrow } from "./sites.js";
import { liveGeneration } from "./generations.js";

/** The most rows one page returns, whatever numItems asks. */
export const MAX_LIST_PAGE_ITEMS = 500;
/** Bytes of documents one page may read (a batch document is at most about 100 KiB). */
export const LIST_PAGE_READ_BYTES = 2 * 1024 * 1024;
/** Documents one page may read, so a rarely matching filter still returns promptly. */
export const LIST_PAGE_READ_DOCUMENTS = 1_000;

/** Thrown for a cursor this query did not produce. */
export const INVALID_CURSOR = "InvalidCursor: this cursor does not belong to this listing";

type Budget = { maxItems: number; maxBytes: number; maxDocuments: number };

function budgetOf(opts: PaginationOptions): Budget {
  if (!Number.isFinite(opts.numItems)) throw new Error("paginationOpts.numItems must be a number");
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) ? Math.max(1, Math.floor(value)) : fallback;
  return {
    maxItems: Math.min(Math.max(1, Math.floor(opts.numItems)), MAX_LIST_PAGE_ITEMS),
    maxBytes: Math.min(positive(opts.maximumBytesRead, LIST_PAGE_READ_BYTES), LIST_PAGE_READ_BYTES),
    maxDocuments: Math.min(
      positive(opts.maximumRowsRead, LIST_PAGE_READ_DOCUMENTS),
      LIST_PAGE_READ_DOCUMENTS,
    ),
  };
}

/** The cursor of an exhausted listing: a page from it is empty and done. */
const END_CURSOR = JSON.stringify({ end: true });

function parseCursor(cursor: string): unknown {
  try {
    return JSON.parse(cursor) as unknown;
  } catch {
    throw new Error(INVALID_CURSOR);
  }
}
const isEnd = (cursor: unknown) =>
  typeof cursor === "object" && cursor !== null && (cursor as { end?: unknown }).end === true;

// ---- events --------------------------------------------------------------

/**
 * A position among a site's events, newest first: inside batch `batch`
 * (created at `t`), the events at indexes below `before` are still to come.
 * `before: 0` means the whole batch is behind.
 */
type EventPosition = { t: number; batch: Id<"batches">; before: number };

function parseEventPosition(ctx: QueryCtx, cursor: string): EventPosition | "end" {
  const value = parseCursor(cursor);
  if (isEnd(value)) return "end";
  const { t, batch, before } = (value ?? {}) as Record<string, unknown>;
  const id = typeof batch === "string" ? ctx.db.normalizeId("batches", batch) : null;
  if (
    typeof t !== "number" ||
    !Number.isFinite(t) ||
    id === null ||
    typeof before !== "number" ||
    !Number.isInteger(before) ||
    before < 0
  )
    throw new Error(INVALID_CURSOR);
  return { t, batch: id, before };
}

function eventCursor(doc: Doc<"batches">, before: number): string {
  return JSON.stringify({ t: doc._creationTime, batch: doc._id, before });
}

function eventMatches(
  event: Doc<"batches">["events"][number],
  filters: Omit<ListEventsArgs, "siteId" | "paginationOpts">,
): boolean {
  return (
    (filters.eventName === undefined || event.name === filters.eventName) &&
    (filters.visitorId === undefined || event.visitorId === filters.visitorId) &&
    (filters.userId === undefined || event.userId === filters.userId) &&
    (filters.pathPrefix === undefined || pagePath(event.url).startsWith(filters.pathPrefix))
  );
}

export async function listEventsHandler(
  ctx: QueryCtx,
  args: ListEventsArgs,
): Promise<PaginationResult<ListedEvent>> {
  const { siteId: siteArg, paginationOpts, ...filters } = args;
  const site = await siteOrThrow(ctx, siteArg);
  const budget = budgetOf(paginationOpts);
  const start =
    paginationOpts.cursor === null ? null : parseEventPosition(ctx, paginationOpts.cursor);
  const end =
    paginationOpts.endCursor === undefined || paginationOpts.endCursor === null
      ? null
      : parseEventPosition(ctx, paginationOpts.endCursor);
  if (start === "end") return { page: [], isDone: true, continueCursor: END_CURSOR };

  const stream = streamQuery(ctx, {
    table: "batches",
    index: "by_site",
    schema,
    order: "desc",
    startIndexKey: start ? [site._id, start.t, start.batch] : [site._id],
    // A batch the cursor has finished is not read again, so every page moves on.
    startInclusive: start === null || start.before > 0,
    endIndexKey: end && end !== "end" ? [site._id, end.t, end.batch] : [site._id],
    endInclusive: true,
  });
  const page: ListedEvent[] = [];
  let bytesRead = 0;
  let documentsRead = 0;
  for await (const [doc] of stream) {
    documentsRead++;
    bytesRead += getConvexSize(doc);
    const from =
      start && doc._id === start.batch
        ? Math.min(start.before, doc.events.length)
        : doc.events.length;
    const stopAt = end && end !== "end" && doc._id === end.batch ? end.before : 0;
    for (let i = from - 1; i >= stopAt; i--) {
      const event = doc.events[i];
      if (!eventMatches(event, filters)) continue;
      page.push({ ...event, receivedAt: doc._creationTime });
      // A pinned page (endCursor) returns everything up to its end, within the byte bounds.
      if (end === null && page.length >= budget.maxItems)
        return { page, isDone: false, continueCursor: eventCursor(doc, i) };
    }
    if (end !== null && end !== "end" && doc._id === end.batch)
      return { page, isDone: false, continueCursor: paginationOpts.endCursor! };
    if (bytesRead >= budget.maxBytes || documentsRead >= budget.maxDocuments) {
      const here = eventCursor(doc, stopAt);
      // A pinned page that cannot reach its end in one read asks the client to split it there.
      if (end !== null)
        return {
          page,
          isDone: false,
          continueCursor: paginationOpts.endCursor!,
          splitCursor: here,
          pageStatus: "SplitRequired",
        };
      return { page, isDone: false, continueCursor: here };
    }
  }
  return { page, isDone: true, continueCursor: END_CURSOR };
}

/**
 * A site's stored events, newest received first (by batch, then the batch's
 * events from last to first), each as ingest stored it plus `receivedAt`.
 * Pending batches (not yet counted by the worker) are included; dead-lettered
 * ones are not. Every filter is a bounded scan over `batches`.
 */
export const listEvents = query({
  args: vListEventsArgs,
  returns: vEventPage,
  handler: listEventsHandler,
});

// ---- sessions ------------------------------------------------------------

/** The index key after the equality fields: [startedAt, _creationTime, _id]. */
type SessionPosition = [number, number, Id<"sessions">];

function parseSessionPosition(ctx: QueryCtx, cursor: string): SessionPosition | "end" {
  const value = parseCursor(cursor);
  if (isEnd(value)) return "end";
  if (!Array.isArray(value) || value.length !== 3) throw new Error(INVALID_CURSOR);
  const [startedAt, creationTime, rawId] = value as unknown[];
  const id = typeof rawId === "string" ? ctx.db.normalizeId("sessions", rawId) : null;
  if (
    typeof startedAt !== "number" ||
    !Number.isFinite(startedAt) ||
    typeof creationTime !== "number" ||
    !Number.isFinite(creationTime) ||
    id === null
  )
    throw new Error(INVALID_CURSOR);
  return [startedAt, creationTime, id];
}

function sessionCursor(doc: Doc<"sessions">): string {
  return JSON.stringify([doc.startedAt, doc._creationTime, doc._id]);
}

function toListedSession(doc: Doc<"sessions">): ListedSession {
  const { _creationTime: _c, siteId: _s, generation: _g, ...session } = doc;
  return session;
}

export async function listSessionsHandler(
  ctx: QueryCtx,
  args: ListSessionsArgs,
): Promise<PaginationResult<ListedSession>> {
  const site = await siteOrThrow(ctx, args.siteId);
  const { paginationOpts, visitorId, pathPrefix } = args;
  const budget = budgetOf(paginationOpts);
  const start =
    paginationOpts.cursor === null ? null : parseSessionPosition(ctx, paginationOpts.cursor);
  const end =
    paginationOpts.endCursor === undefined || paginationOpts.endCursor === null
      ? null
      : parseSessionPosition(ctx, paginationOpts.endCursor);
  if (start === "end") return { page: [], isDone: true, continueCursor: END_CURSOR };

  // A visitor's sessions come from their own index; the entry-page prefix is a bounded scan.
  const prefix = visitorId === undefined ? [site._id] : [site._id, visitorId];
  const generation = liveGeneration(site);
  const stream = streamQuery(ctx, {
    table: "sessions",
    index: visitorId === undefined ? "by_site_started" : "by_visitor_started",
    schema,
    order: "desc",
    startIndexKey: start ? [...prefix, ...start] : prefix,
    startInclusive: start === null,
    endIndexKey: end && end !== "end" ? [...prefix, ...end] : prefix,
    endInclusive: true,
  });
  const page: ListedSession[] = [];
  let bytesRead = 0;
  let documentsRead = 0;
  for await (const [doc] of stream) {
    documentsRead++;
    bytesRead += getConvexSize(doc);
    // A rebuild writes its own sessions beside the live ones (generations.ts): only the live ones are listed.
    const listed =
      doc.generation === generation &&
      (pathPrefix === undefined || doc.entryPage.startsWith(pathPrefix));
    if (listed) {
      page.push(toListedSession(doc));
      if (end === null && page.length >= budget.maxItems)
        return { page, isDone: false, continueCursor: sessionCursor(doc) };
    }
    if (end !== null && end !== "end" && doc._id === end[2])
      return { page, isDone: false, continueCursor: paginationOpts.endCursor! };
    if (bytesRead >= budget.maxBytes || documentsRead >= budget.maxDocuments) {
      if (end !== null)
        return {
          page,
          isDone: false,
          continueCursor: paginationOpts.endCursor!,
          splitCursor: sessionCursor(doc),
          pageStatus: "SplitRequired",
        };
      return { page, isDone: false, continueCursor: sessionCursor(doc) };
    }
  }
  return { page, isDone: true, continueCursor: END_CURSOR };
}

/**
 * A site's sessions, newest started first. `visitorId` is served by the
 * by_visitor_started index; `pathPrefix` (the entry page) by a bounded scan.
 */
export const listSessions = query({
  args: vListSessionsArgs,
  returns: vSessionPage,
  handler: listSessionsHandler,
});
