// convex-test's serialized queries, as its query syscalls receive them, read as the
// Reads the recorder (readWriteSets.testlib.ts) keeps: a query's source as an index
// range with its bounds and order (a full scan as by_creation_time, a search as a
// table-wide read), and a page's cursors as where the range starts and stops. Kept
// apart from the recorder because it only decodes convex-test's wire format.
import { jsonToConvex, type Value } from "convex/values";
import type { Bound, Key, Read } from "./readWriteSets.testlib.js";

type RangeExpr = { type: "Eq" | "Gt" | "Gte" | "Lt" | "Lte"; fieldPath: string; value: unknown };
type Source =
  | { type: "FullTableScan"; tableName: string; order: "asc" | "desc" | null }
  | { type: "IndexRange"; indexName: string; range: RangeExpr[]; order: "asc" | "desc" | null }
  | { type: "Search"; indexName: string };
export interface SerializedQuery {
  source: Source;
  operators: ({ limit: number } | { filter: unknown })[];
}
export interface PageArgs {
  query: SerializedQuery;
  cursor: string | null;
  endCursor?: string | null;
}

export function sourceRead(here: { component: string; fn: string }, query: SerializedQuery): Read {
  const { source } = query;
  if (source.type === "Search") {
    return { kind: "table", ...here, table: source.indexName.split(".")[0], why: "search" };
  }
  if (source.type === "FullTableScan") {
    const order = source.order ?? "asc";
    return {
      kind: "range",
      ...here,
      table: source.tableName,
      index: "by_creation_time",
      bounds: [],
      order,
    };
  }
  const [table, index] = source.indexName.split(".");
  const bounds = source.range.map((r) => ({
    op: r.type.toLowerCase() as Bound["op"],
    field: r.fieldPath,
    value: fromQueryJson(r.value),
  }));
  return { kind: "range", ...here, table, index, bounds, order: source.order ?? "asc" };
}

/** A bound as serialized: JSON, with {"$undefined": null} for undefined. */
function fromQueryJson(json: unknown): Value | undefined {
  if (typeof json === "object" && json !== null && "$undefined" in json) return undefined;
  return jsonToConvex(json as never);
}

/** convex-test's cursor: a JSON list of JSON-encoded key values, null for undefined. */
function decodeCursor(cursor: string): Key {
  return (JSON.parse(cursor) as (string | null)[]).map((k) =>
    k === null ? undefined : jsonToConvex(JSON.parse(k) as never),
  );
}

export function pageRead(
  here: { component: string; fn: string },
  args: PageArgs,
  result: { isDone: boolean; continueCursor?: string },
): Read {
  const r = sourceRead(here, args.query);
  if (r.kind !== "range") return r;
  if (args.cursor === "_end_cursor") return { ...r, empty: true };
  if (args.cursor !== null) r.after = decodeCursor(args.cursor);
  // Not done: read through the continue cursor (the last row scanned). Done with an end
  // cursor: read through that. Done without one: to the end of the range.
  const end = !result.isDone ? result.continueCursor : (args.endCursor ?? undefined);
  if (end && end !== "_end_cursor") r.through = decodeCursor(end);
  return r;
}
