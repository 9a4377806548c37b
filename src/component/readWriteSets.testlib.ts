// Read and write sets per transaction, and Convex's OCC conflict rule over them (invariant I9).
//
// convex-test runs one transaction at a time, so it never shows an optimistic-concurrency
// conflict. On a deployment, a mutation that commits a write into a range (or at a document)
// that a concurrent transaction read forces that transaction to retry. To test "ingest never
// invalidates a running worker", record what each transaction of a generated interleaving
// read and wrote, then ask `conflicts(reader, writer, schema)` for every concurrent pair.
//
// Usage (one recorder at a time per test file; starting another replaces it):
//
//   const rec = recordReadWriteSets({ schemas: { "": schema } }); // schemas: optional
//   ... run mutations, scheduled functions, t.finishAllScheduledFunctions ...
//   const ingest = rec.transactions.filter((tx) => tx.label.endsWith("ingest:ingestBatch"));
//   const workers = rec.transactions.filter((tx) => tx.label.endsWith("worker:drainSite"));
//   for (const w of workers) for (const i of ingest) expect(conflicts(w, i, schema)).toBe(false);
//   rec.stop();
//
// What a transaction records (one per top-level convex-test transaction: a t.query/t.mutation
// call, each ctx.runQuery/runMutation of an action, each scheduled run, t.run; nested
// component calls belong to their caller's transaction; labelled by the top-level function,
// "analytics/worker:drainSite", and each item by the function that made it):
// - index range reads, as given to the query: table, index, eq/gt/gte/lt/lte bounds on the
//   index fields, order, and how much of the range was read. As in Convex, a read that stops
//   early (take(n), first(), unique(), a paginate page, a loop that breaks) covers the range
//   only up to the last document it returned (`through`); one that ran out covers all of it;
//   a page also starts after its cursor (`after`). A full table scan is a by_creation_time
//   range; count and text search are table-wide reads;
// - point reads by id (db.get);
// - writes: table, id, and the document before and after (for an insert, only after; for a
//   delete, only before), as stored, with `_id` and `_creationTime`. Given `schemas` for a
//   component, the documents keep only the fields its indexes use. The before-image matters:
//   moving a document out of a range is a write into that range.
// Writes of a nested call that rolled back are dropped, its reads are kept (they still shaped
// what the caller did). A transaction that rolled back keeps its reads, has no writes, and is
// marked `committed: false`.
//
// The documents are read with convex-test's `1.0/get` while its metrics tracking is
// suspended (syscalls.testlib.ts), so recording does not change any transaction's metrics.
//
// Known gaps: keys are compared with convex's compareValues over convex-test's documents
// (undefined sorts first, as in Convex); a real read set is coarser than the rows read (Convex
// may fetch a page beyond the last returned row), so this can miss conflicts Convex reports
// but not the reverse for the reads modelled; search reads are modelled table-wide; writes of
// convex-test itself (the _scheduled_functions state) are not syscalls and are not recorded.
import type { GenericSchema, SchemaDefinition } from "convex/server";
import { jsonToConvex, type Value } from "convex/values";
import { tableIndexes } from "./readWriteConflicts.testlib.js";
import {
  pageRead,
  sourceRead,
  type PageArgs,
  type SerializedQuery,
} from "./serializedQueries.testlib.js";
import {
  functionMetadata,
  getUntracked,
  installSyscallHook,
  observeTransactions,
  removeSyscallHook,
  tableOfId,
  type Doc,
} from "./syscalls.testlib.js";

// The conflict rule is its own file; importers keep using this one for both.
export {
  conflicts,
  findConflicts,
  indexFields,
  rangeContains,
  type Conflict,
} from "./readWriteConflicts.testlib.js";

/** `value` undefined: the field is absent (`q.eq("f", undefined)`), which sorts first. */
export type Bound = {
  op: "eq" | "gt" | "gte" | "lt" | "lte";
  field: string;
  value: Value | undefined;
};
/** A key over an index's fields, then `_creationTime` and `_id`, as Convex orders them. */
export type Key = (Value | undefined)[];

interface ReadBase {
  /** "" for the app (or the root component of a convex-test instance). */
  component: string;
  table: string;
  /** The function that made the read, e.g. "analytics/worker:drainSite". */
  fn: string;
}
export interface RangeRead extends ReadBase {
  kind: "range";
  index: string;
  bounds: Bound[];
  order: "asc" | "desc";
  /** Exclusive start (a paginate cursor), in `order`; absent: the start of the range. */
  after?: Key;
  /** Where the read stopped early: the last document it returned (inclusive). */
  through?: Doc | Key;
  /** Nothing of the range was read (a stream closed before its first row, a past-end page). */
  empty?: boolean;
}
export interface PointRead extends ReadBase {
  kind: "get";
  id: string;
}
export interface TableRead extends ReadBase {
  kind: "table";
  why: "count" | "search";
}
export type Read = RangeRead | PointRead | TableRead;

export interface Write {
  component: string;
  table: string;
  fn: string;
  op: "insert" | "replace" | "patch" | "delete";
  id: string;
  before: Doc | null;
  after: Doc | null;
}

export interface Transaction {
  /** Order of completion, from 0. */
  seq: number;
  label: string;
  committed: boolean;
  reads: Read[];
  writes: Write[];
}

export type SchemaMap = Record<string, SchemaDefinition<GenericSchema, boolean>>;
/** One schema for every component (hand-made cases), or one per component path. */
export type SchemaLike = SchemaDefinition<GenericSchema, boolean> | SchemaMap;

export interface ReadWriteRecorder {
  /** Completed transactions that read or wrote anything, in completion order. */
  readonly transactions: Transaction[];
  clear(): void;
  stop(): void;
}

const HOOK = "readWriteSets";

export function recordReadWriteSets(options: { schemas?: SchemaMap } = {}): ReadWriteRecorder {
  const transactions: Transaction[] = [];
  let seq = 0;
  // The open top-level transaction; convex-test runs one at a time.
  let open: { label?: string; reads: Read[]; layers: Write[][] } | null = null;
  const project = (component: string, table: string, doc: Doc | null): Doc | null => {
    const schema = options.schemas?.[component];
    if (doc === null || schema === undefined) return doc;
    const keep = new Set(["_id", "_creationTime"]);
    for (const index of tableIndexes(schema, table)) {
      for (const f of index.fields) keep.add(f.split(".")[0]);
    }
    return Object.fromEntries(Object.entries(doc).filter(([k]) => keep.has(k)));
  };
  const where = async (): Promise<{ component: string; fn: string }> => {
    const meta = await functionMetadata();
    const component = meta?.componentPath ?? "";
    const fn = `${component ? `${component}/` : ""}${meta?.name ?? "(test)"}`;
    if (open && open.label === undefined) open.label = fn;
    return { component, fn };
  };
  const read = (r: Read) => open?.reads.push(r);

  // A query stream: rows come one next() at a time, so what it read is known when it runs
  // out (the whole range), or is closed or abandoned early (up to its last row).
  interface Stream {
    query: SerializedQuery;
    at: Promise<{ component: string; fn: string }>;
    where?: { component: string; fn: string };
    reads: Read[];
    returned: number;
    last: Doc | null;
    settled: boolean;
  }
  // By queryId. Ids count per component database, so each stream remembers its component.
  const streams = new Map<number, Stream[]>();
  const streamOf = async (queryId: number, component: string) => {
    for (const s of streams.get(queryId) ?? []) {
      if (!s.settled && (await s.at).component === component) return s;
    }
    return undefined;
  };
  const settle = (s: Stream, ranOut: boolean) => {
    if (s.settled || s.where === undefined) return;
    s.settled = true;
    const limit = s.query.operators.find((o) => "limit" in o)?.limit;
    // convex-test applies a limit before streaming, so running out after exactly `limit`
    // rows is a read that stopped at its limit, as Convex's does.
    const stopped = !ranOut || (limit !== undefined && s.returned >= limit);
    const r = sourceRead(s.where, s.query);
    if (r.kind === "range" && stopped) {
      if (s.last === null) r.empty = true;
      else r.through = s.last;
    }
    s.reads.push(r);
  };

  observeTransactions(HOOK, {
    begin(depth) {
      if (depth === 1) open = { reads: [], layers: [[]] };
      else open?.layers.push([]);
    },
    commit(depth) {
      if (!open) return;
      if (depth > 1) {
        const layer = open.layers.pop()!;
        open.layers[open.layers.length - 1].push(...layer);
        return;
      }
      finish(true);
    },
    rollback(depth) {
      if (!open) return;
      if (depth > 1) open.layers.pop();
      else finish(false);
    },
  });
  const finish = (committed: boolean) => {
    const tx = open!;
    open = null;
    // Streams never run out nor closed: read up to their last row.
    for (const list of streams.values()) for (const s of list) settle(s, false);
    streams.clear();
    const writes = committed ? tx.layers[0] : [];
    if (tx.reads.length === 0 && writes.length === 0) return;
    const label = tx.label ?? "(test)";
    transactions.push({ seq: seq++, label, committed, reads: tx.reads, writes });
  };

  installSyscallHook(HOOK, {
    sync(op, jsonArgs, next) {
      const result = next(op, jsonArgs);
      if (op === "1.0/queryStream" && open) {
        const { query } = JSON.parse(jsonArgs) as { query: SerializedQuery };
        const { queryId } = JSON.parse(result) as { queryId: number };
        // The metadata syscall does its work now, in the caller's context; it resolves later.
        const at = where();
        const s: Stream = { query, at, reads: open.reads, returned: 0, last: null, settled: false };
        void at.then((w) => (s.where = w));
        streams.set(queryId, [...(streams.get(queryId) ?? []), s]);
      }
      if (op === "1.0/queryCleanup" && open) {
        // Closed (after running out, or early: take() past its rows, a loop's break).
        const { queryId } = JSON.parse(jsonArgs) as { queryId: number };
        const here = where();
        void here.then(async ({ component }) => {
          const s = await streamOf(queryId, component);
          if (s) settle(s, false);
        });
      }
      return result;
    },
    async async(op, jsonArgs, next) {
      if (!open) return next(op, jsonArgs);
      const args = JSON.parse(jsonArgs) as Record<string, unknown>;
      switch (op) {
        case "1.0/get": {
          const result = await next(op, jsonArgs);
          const id = jsonToConvex(args.id as string) as string;
          read({ kind: "get", ...(await where()), table: tableOfId(id, args.table as string), id });
          return result;
        }
        case "1.0/queryStreamNext": {
          const { component } = await where();
          const s = await streamOf(args.queryId as number, component);
          const result = await next(op, jsonArgs);
          if (s) {
            const { value, done } = JSON.parse(result) as { value: unknown; done: boolean };
            if (done) settle(s, true);
            else {
              s.returned++;
              s.last = jsonToConvex(value as never) as Doc;
            }
          }
          return result;
        }
        case "1.0/queryPage": {
          const result = await next(op, jsonArgs);
          const page = JSON.parse(result) as { isDone: boolean; continueCursor?: string };
          read(pageRead(await where(), args as unknown as PageArgs, page));
          return result;
        }
        case "1.0/count": {
          const result = await next(op, jsonArgs);
          read({ kind: "table", ...(await where()), table: args.table as string, why: "count" });
          return result;
        }
        case "1.0/insert":
        case "1.0/replace":
        case "1.0/shallowMerge":
        case "1.0/remove":
          return recordWrite(op, args, jsonArgs, next);
        case "1.0/runUdf":
          await where(); // a call into another function: label the transaction by its caller
          return next(op, jsonArgs);
        default:
          return next(op, jsonArgs);
      }
    },
  });

  async function recordWrite(
    op: string,
    args: Record<string, unknown>,
    jsonArgs: string,
    next: (op: string, jsonArgs: string) => Promise<string>,
  ): Promise<string> {
    const here = await where();
    const given = args.id === undefined ? undefined : (jsonToConvex(args.id as string) as string);
    const before = given === undefined ? null : await getUntracked(args.table as string, given);
    const result = await next(op, jsonArgs);
    const id = given ?? (JSON.parse(result) as { _id: string })._id;
    const table = tableOfId(id, args.table as string);
    const after = op === "1.0/remove" ? null : await getUntracked(table, id);
    const kind = (
      { "1.0/insert": "insert", "1.0/replace": "replace", "1.0/remove": "delete" } as const
    )[op as "1.0/insert"];
    open?.layers[open.layers.length - 1].push({
      ...here,
      table,
      op: kind ?? "patch",
      id,
      before: project(here.component, table, before),
      after: project(here.component, table, after),
    });
    return result;
  }

  return {
    transactions,
    clear() {
      transactions.length = 0;
    },
    stop() {
      removeSyscallHook(HOOK);
      observeTransactions(HOOK, null);
    },
  };
}
