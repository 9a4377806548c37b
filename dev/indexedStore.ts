// An index-aware store for convex-test's in-memory database, so the local
// engine (and the bench) answer indexed queries without scanning the whole
// database. Stock convex-test 0.0.60 answers every query by walking every
// document of the component (`DatabaseFake._iterateDocs`), so a lookup costs
// O(all documents) and seeding the demo takes minutes.
//
// What it changes, per DatabaseFake instance (never the class, so stock
// instances in the same process stay stock):
// - committed ids are kept per table, in the order stock iterates them (the
//   insertion order of `_documents`), so table scans and search touch one table;
// - each index used by a query gets a sorted array of the table's committed
//   documents, in the index's own order (its fields, then _creationTime, _id),
//   kept sorted as top-level transactions commit, each with its key (the index's
//   field values) read once. An index range is cut out of it by binary search;
//   of the documents with pending writes, those surely outside the range are
//   left out (stock would drop them).
// - documents are checked against the schema by a boolean copy of convex-test's
//   validator first (stock's throws and catches an Error for every union member
//   that does not match: a quarter of the demo's CPU). Only a document it
//   accepts skips stock's check; any other goes to stock, which throws its own
//   error, so what is accepted and every message are unchanged.
// What it does not change: stock's own code still validates the range, re-checks
// every candidate against it, reads documents with pending writes at their
// latest version, filters, sorts and pages. The candidates are a superset of
// the matching documents and each appears once; the sort key ends with _id, a
// total order, so the sorted results are the same array stock computes, and the
// transaction metrics (counted from those results by the syscall layer) are the
// same too. dev/indexedStore.test.ts checks both against stock on random
// operation sequences.
import {
  CommitTsPlaceholder,
  compareValues,
  jsonToConvex,
  type JSONValue,
  type Value,
} from "convex/values";
import { captureConvexGlobal } from "./internals.js";

type Doc = Record<string, Value>;
type RangeExpr = { type: "Eq" | "Gt" | "Gte" | "Lt" | "Lte"; fieldPath: string; value: JSONValue };
type IndexRangeSource = {
  type: "IndexRange";
  indexName: string;
  range: RangeExpr[];
  order?: "asc" | "desc";
};
type Query = { source: { type: string } };

/** The parts of convex-test 0.0.60's DatabaseFake this store hooks; checked on install. */
type Hooked = {
  _addWrite(id: string, value: Doc | null): void;
  commit(commitTs?: bigint | null): void;
  _iterateDocs(table: string, callback: (doc: Doc) => void): void;
  _resolveQuerySource(query: Query): unknown;
  _validate(table: string, doc: Doc): void;
};
/** A validator as a schema exports it (`tableSchema.export().documentType`). */
type ExportedValidator = { type: string; value?: unknown; tableName?: string };
type Fake = Hooked & {
  _documents: Record<string, Doc>;
  _writes: Record<string, Doc | null>[];
  _schema: {
    schemaValidation: boolean;
    tables: Map<
      string,
      { indexes: { indexDescriptor: string; fields: string[] }[]; documentType?: ExportedValidator }
    >;
  } | null;
  get(table: string, id: string): Doc | null;
};
const HOOKED = ["_addWrite", "commit", "_iterateDocs", "_resolveQuerySource", "_validate"] as const;

/** The table of a convex-test id ("10000sites" -> "sites"), as convex-test reads it; null if it is not one. */
export function tableOfId(id: string): string | null {
  let i = 0;
  while (i < id.length && id.charCodeAt(i) >= 48 && id.charCodeAt(i) <= 57) i++;
  return i === 0 || i === id.length ? null : id.slice(i);
}

// convex-test's evaluateFieldPath: a dotted path through plain objects only.
function isPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return proto === null || proto === Object.prototype || proto.constructor?.name === "Object";
}
// A path split once: `parts` of a field path ("n.x" -> ["n", "x"]). Stored documents are plain objects.
function valueAt(doc: Doc, parts: string[]): Value | undefined {
  let v: unknown = doc[parts[0]!];
  for (let i = 1; i < parts.length; i++)
    v = isPlainObject(v) ? (v as Record<string, unknown>)[parts[i]!] : undefined;
  return v as Value | undefined;
}
// A query bound as convex-test evaluates it (commit-timestamp placeholders compare as
// i64::MAX inside compareValues, as convex-test's resolution makes them).
function boundValue(json: JSONValue): Value | undefined {
  if (typeof json === "object" && json !== null && !Array.isArray(json) && "$undefined" in json)
    return undefined;
  return jsonToConvex(json);
}

/** Thrown when a value holds a commit-timestamp placeholder: stock resolves those first, so it decides. */
const UNSURE = Symbol("unsure");

/**
 * Whether convex-test 0.0.60's validateValidator accepts `value`: the same
 * checks in the same order, answering instead of throwing. A type it does not
 * know is accepted, as stock's switch accepts it.
 */
function accepts(validator: ExportedValidator, value: unknown): boolean {
  if (value instanceof CommitTsPlaceholder) throw UNSURE;
  switch (validator.type) {
    case "null":
      return value === null;
    case "number":
      return typeof value === "number";
    case "bigint":
    case "commitTs":
      return typeof value === "bigint";
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "bytes":
      return value instanceof ArrayBuffer;
    case "any":
      return true;
    case "literal":
      return value === validator.value;
    case "id":
      return typeof value === "string" && tableOfId(value) === validator.tableName;
    case "array":
      return (
        Array.isArray(value) && value.every((v) => accepts(validator.value as ExportedValidator, v))
      );
    case "union":
      return (validator.value as ExportedValidator[]).some((v) => accepts(v, value));
    case "object": {
      if (!isPlainObject(value)) return false;
      const fields = validator.value as Record<
        string,
        { fieldType: ExportedValidator; optional: boolean }
      >;
      const object = value as Record<string, unknown>;
      for (const [k, { fieldType, optional }] of Object.entries(fields)) {
        if (object[k] === undefined ? !optional : !accepts(fieldType, object[k])) return false;
      }
      // As stock looks it up: a key is unexpected when the fields object gives undefined for it.
      return Object.keys(object).every((k) => fields[k] !== undefined);
    }
    default:
      return true;
  }
}

/**
 * compareValues, with its sign (all that sorting and range checks use), taking
 * two shortcuts where it is plain to see that they agree: strings whose code
 * units before the first difference are all below the surrogates (their UTF-16
 * order is their UTF-8 order, which compareValues uses), and finite non-zero
 * numbers. Anything else (zeros, NaN, surrogates, other types) goes to it.
 */
export function compareKey(a: Value | undefined, b: Value | undefined): number {
  if (typeof a === "string" && typeof b === "string") {
    if (a === b) return 0;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = a.charCodeAt(i);
      const y = b.charCodeAt(i);
      if (x >= 0xd800 || y >= 0xd800) return compareValues(a, b);
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length < b.length ? -1 : 1;
  }
  if (typeof a === "number" && typeof b === "number" && a !== 0 && b !== 0 && a === a && b === b)
    return a < b ? -1 : a > b ? 1 : 0;
  return compareValues(a, b);
}

/** Whether a value holds a commit-timestamp placeholder anywhere (only documents with pending writes can). */
function holdsPlaceholder(value: unknown): boolean {
  if (value instanceof CommitTsPlaceholder) return true;
  if (Array.isArray(value)) return value.some(holdsPlaceholder);
  return isPlainObject(value) && Object.values(value as object).some(holdsPlaceholder);
}

/** A document with its index key: the values of the index's fields, in order. */
type Entry = { doc: Doc; key: (Value | undefined)[] };

/** The documents of an index range, and a check for documents not in the index (pending writes). */
type Range = { docs: Doc[]; excludes(doc: Doc): boolean };

/** Entries per chunk of a SortedIndex once it splits (tests set it small to split often). */
let chunkLength = 512;
/** For tests: the chunk length of indexes made from here on. */
export function setIndexChunkLength(n: number): void {
  chunkLength = n;
}

/**
 * One index of one table: its sort fields and the table's committed documents
 * in that order, held in sorted chunks of at most 2 x chunkLength entries, so
 * that an insert or delete moves one chunk's entries, not the whole table's (a
 * single array made the scale bench's real day slow down as its 400,000
 * batches accumulated). Positions are global, counted across the chunks.
 */
export class SortedIndex {
  private chunks: Entry[][];
  /** starts[c]: the global position of chunks[c]'s first entry. */
  private starts: number[] = [];
  private readonly paths: string[][];
  private readonly chunkLength = chunkLength;
  constructor(
    readonly fields: string[],
    docs: Iterable<Doc>,
  ) {
    this.paths = fields.map((f) => f.split("."));
    const sorted = [...docs].map((doc) => this.entry(doc)).sort((a, b) => this.compare(a, b));
    this.chunks = [];
    for (let i = 0; i < sorted.length; i += this.chunkLength)
      this.chunks.push(sorted.slice(i, i + this.chunkLength));
    this.renumber(0);
  }

  private entry(doc: Doc): Entry {
    return { doc, key: this.paths.map((parts) => valueAt(doc, parts)) };
  }

  private compare(a: Entry, b: Entry): number {
    for (let i = 0; i < a.key.length; i++) {
      const c = compareKey(a.key[i], b.key[i]);
      if (c !== 0) return c;
    }
    return 0;
  }

  get length(): number {
    const last = this.chunks.length - 1;
    return last < 0 ? 0 : this.starts[last]! + this.chunks[last]!.length;
  }

  /** Recomputes the chunks' global starts from chunk `from` on. */
  private renumber(from: number): void {
    this.starts.length = this.chunks.length;
    let at = from === 0 ? 0 : this.starts[from - 1]! + this.chunks[from - 1]!.length;
    for (let c = from; c < this.chunks.length; c++) {
      this.starts[c] = at;
      at += this.chunks[c]!.length;
    }
  }

  /** The chunk holding global position `at` (the last chunk for the end). */
  private chunkAt(at: number): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private at(i: number): Entry | undefined {
    if (i < 0 || i >= this.length) return undefined;
    const c = this.chunkAt(i);
    return this.chunks[c]![i - this.starts[c]!];
  }

  /** The first global position whose entry `after` holds for (it must be monotone along the order), or the end. */
  private firstWhere(after: (e: Entry) => boolean): number {
    // The first chunk whose last entry holds; the answer is inside it.
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (after(chunk[chunk.length - 1]!)) hi = mid;
      else lo = mid + 1;
    }
    if (lo === this.chunks.length) return this.length;
    const chunk = this.chunks[lo]!;
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (after(chunk[mid]!)) b = mid;
      else a = mid + 1;
    }
    return this.starts[lo]! + a;
  }

  /** The first position whose document is not before `entry`. */
  private lowerBound(entry: Entry): number {
    return this.firstWhere((e) => this.compare(e, entry) >= 0);
  }

  private insertAt(at: number, entry: Entry): void {
    if (this.chunks.length === 0) {
      this.chunks.push([entry]);
      this.renumber(0);
      return;
    }
    const c = this.chunkAt(at);
    const chunk = this.chunks[c]!;
    chunk.splice(at - this.starts[c]!, 0, entry);
    if (chunk.length > 2 * this.chunkLength)
      this.chunks.splice(c, 1, chunk.slice(0, this.chunkLength), chunk.slice(this.chunkLength));
    this.renumber(c);
  }

  private removeAt(at: number): void {
    const c = this.chunkAt(at);
    const chunk = this.chunks[c]!;
    chunk.splice(at - this.starts[c]!, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
    this.renumber(c);
  }

  insert(doc: Doc): void {
    const entry = this.entry(doc);
    this.insertAt(this.lowerBound(entry), entry);
  }

  remove(doc: Doc): void {
    this.removeAt(this.positionOf(this.entry(doc)));
  }

  /** A new version of a document: in place when its key is unchanged (a patch of other fields), without moving the rest. */
  replace(old: Doc, now: Doc): void {
    const before = this.entry(old);
    const after = this.entry(now);
    const at = this.positionOf(before);
    if (this.compare(before, after) === 0) {
      const c = this.chunkAt(at);
      this.chunks[c]![at - this.starts[c]!] = after;
    } else {
      this.removeAt(at);
      this.insertAt(this.lowerBound(after), after);
    }
  }

  private positionOf(entry: Entry): number {
    const at = this.lowerBound(entry);
    // The sort key ends with _id, so the document sits exactly there.
    if (this.at(at)?.doc._id !== entry.doc._id)
      throw new Error(`indexed store out of sync: ${String(entry.doc._id)} is not in its index`);
    return at;
  }

  /** Every document, in index order (for tests). */
  docs(): Doc[] {
    return this.chunks.flatMap((chunk) => chunk.map((e) => e.doc));
  }

  /**
   * The committed documents an index range can match: a contiguous run, found
   * by binary search. Null when the range is not the shape this understands
   * (stock then scans the table, as it always does).
   */
  slice(range: RangeExpr[]): Range | null {
    const cut = RangeCut.of(range, this.fields);
    if (!cut) return null;
    const from = this.firstWhere((e) => cut.where(e.key) >= 0);
    const docs: Doc[] = [];
    if (from === this.length)
      return { docs, excludes: (doc) => cut.surelyExcludes(this.entry(doc).key) };
    // From the range's start, chunk by chunk: whole chunks while their last entry is inside it.
    const first = this.chunkAt(from);
    for (let c = first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      let i = c === first ? from - this.starts[c]! : 0;
      if (cut.where(chunk[chunk.length - 1]!.key) === 0) {
        for (; i < chunk.length; i++) docs.push(chunk[i]!.doc);
        continue;
      }
      for (; i < chunk.length && cut.where(chunk[i]!.key) === 0; i++) docs.push(chunk[i]!.doc);
      break;
    }
    return { docs, excludes: (doc) => cut.surelyExcludes(this.entry(doc).key) };
  }
}

/** An index range in the shape the store answers: equalities on a prefix of the fields, then bounds on the next. */
class RangeCut {
  private constructor(
    private readonly eqs: (Value | undefined)[],
    private readonly k: number,
    private readonly lower: { v: Value | undefined; strict: boolean } | null,
    private readonly upper: { v: Value | undefined; strict: boolean } | null,
  ) {}

  /** Null when the range is not that shape (stock then scans the table, as it always does). */
  static of(range: RangeExpr[], fields: string[]): RangeCut | null {
    let k = 0;
    const eqs: (Value | undefined)[] = [];
    while (k < range.length && range[k]!.type === "Eq" && range[k]!.fieldPath === fields[k])
      eqs.push(boundValue(range[k++]!.value));
    let lower: { v: Value | undefined; strict: boolean } | null = null;
    let upper: { v: Value | undefined; strict: boolean } | null = null;
    for (let i = k; i < range.length; i++) {
      const r = range[i]!;
      if (r.fieldPath !== fields[k]) return null;
      if ((r.type === "Gt" || r.type === "Gte") && !lower)
        lower = { v: boundValue(r.value), strict: r.type === "Gt" };
      else if ((r.type === "Lt" || r.type === "Lte") && !upper)
        upper = { v: boundValue(r.value), strict: r.type === "Lt" };
      else return null;
    }
    return new RangeCut(eqs, k, lower, upper);
  }

  /** -1: before the range, 0: in it, 1: after it. Monotone along the index order. */
  where(key: (Value | undefined)[]): number {
    for (let i = 0; i < this.eqs.length; i++) {
      const c = compareKey(key[i], this.eqs[i]);
      if (c !== 0) return c < 0 ? -1 : 1;
    }
    const v = key[this.k];
    if (this.lower) {
      const c = compareKey(v, this.lower.v);
      if (c < 0 || (c === 0 && this.lower.strict)) return -1;
    }
    if (this.upper) {
      const c = compareKey(v, this.upper.v);
      if (c > 0 || (c === 0 && this.upper.strict)) return 1;
    }
    return 0;
  }

  /** Only when sure: a key with a placeholder is left to stock, which resolves it first. */
  surelyExcludes(key: (Value | undefined)[]): boolean {
    return !key.some(holdsPlaceholder) && this.where(key) !== 0;
  }
}

/** What one installed store did, for tests and the engine's status line. */
export type IndexedStoreStats = { indexedQueries: number; scannedQueries: number; indexes: number };

const INSTALLED = Symbol.for("convex-event-analytics/indexedStore");
const EVERY = Symbol.for("convex-event-analytics/indexedStore/every");

/**
 * Makes one convex-test database answer from per-table id sets and sorted
 * indexes. Install it once per database, before or after documents exist
 * (the maps are built lazily from `_documents`, and rebuilt if `_documents` is
 * replaced, as a snapshot restore does).
 */
export function installIndexedStore(db: object, stock?: Hooked): IndexedStoreStats {
  const fake = db as Fake & { [INSTALLED]?: IndexedStoreStats };
  const installed = indexedStoreStats(fake);
  if (installed) return installed;
  for (const method of ["get", ...HOOKED] as const) {
    if (typeof fake[method] !== "function")
      throw new Error(
        `convex-test's database has no ${method}(): the indexed store supports convex-test 0.0.60`,
      );
  }
  const {
    _addWrite: addWrite,
    commit,
    _resolveQuerySource: resolve,
    _validate: validate,
  } = stock ?? fake;
  if (typeof fake._documents !== "object" || !Array.isArray(fake._writes))
    throw new Error(
      "convex-test's database has an unexpected shape: the indexed store supports convex-test 0.0.60",
    );

  const stats: IndexedStoreStats = { indexedQueries: 0, scannedQueries: 0, indexes: 0 };
  let source: Record<string, Doc> | null = null; // the _documents object the maps describe
  let tables = new Map<string, Set<string>>();
  let indexes = new Map<string, Map<string, SortedIndex>>(); // table -> index name -> index

  const fresh = () => {
    if (source === fake._documents) return;
    source = fake._documents;
    tables = new Map();
    indexes = new Map();
    stats.indexes = 0;
    for (const id of Object.keys(source)) idsOf(tableOfId(id)!).add(id);
  };
  const idsOf = (table: string): Set<string> => {
    let ids = tables.get(table);
    if (!ids) tables.set(table, (ids = new Set()));
    return ids;
  };
  const indexFields = (table: string, name: string): string[] | null => {
    if (name === "by_creation_time") return ["_creationTime", "_id"];
    if (name === "by_id") return ["_id"];
    const index = fake._schema?.tables.get(table)?.indexes.find((i) => i.indexDescriptor === name);
    return index ? [...index.fields, "_creationTime", "_id"] : null;
  };
  const indexOf = (table: string, name: string): SortedIndex | null => {
    let byName = indexes.get(table);
    if (!byName) indexes.set(table, (byName = new Map()));
    let index = byName.get(name);
    if (!index) {
      const fields = indexFields(table, name);
      if (!fields) return null;
      index = new SortedIndex(
        fields,
        [...idsOf(table)].map((id) => source![id]!),
      );
      byName.set(name, index);
      stats.indexes++;
    }
    return index;
  };
  // Each level of pending writes (an object of `_writes`, one per open transaction) with its ids
  // by table, in the order stock adds them: noted as `_addWrite` makes them, the one way stock
  // writes a level (including a nested level's commit into its parent).
  const levelIds = new WeakMap<object, Map<string, Set<string>>>();
  fake._addWrite = function (id: string, value: Doc | null) {
    addWrite.call(fake, id, value);
    const level = fake._writes[fake._writes.length - 1]!;
    let byTable = levelIds.get(level);
    if (!byTable) levelIds.set(level, (byTable = new Map()));
    const table = tableOfId(id)!;
    let ids = byTable.get(table);
    if (!ids) byTable.set(table, (ids = new Set()));
    ids.add(id);
  };
  // Ids of `table` with a pending write at any nesting level, in the order stock adds them.
  const pendingIds = (table: string, into: Set<string>): Set<string> => {
    for (const level of fake._writes) {
      const ids = levelIds.get(level);
      if (ids) for (const id of ids.get(table) ?? []) into.add(id);
      else for (const id of Object.keys(level)) if (tableOfId(id) === table) into.add(id);
    }
    return into;
  };

  fake.commit = function (commitTs?: bigint | null) {
    const top = fake._writes.length === 1;
    if (top) fresh();
    const before = top
      ? Object.keys(fake._writes[0]!).map((id) => [id, fake._documents[id] ?? null] as const)
      : [];
    commit.call(fake, commitTs);
    for (const [id, old] of before) {
      const now = fake._documents[id] ?? null;
      if (old === now) continue;
      const table = tableOfId(id)!;
      if (now === null) idsOf(table).delete(id);
      else idsOf(table).add(id);
      for (const index of indexes.get(table)?.values() ?? []) {
        if (old && now) index.replace(old, now);
        else if (old) index.remove(old);
        else if (now) index.insert(now);
      }
    }
  };

  // Set by _resolveQuerySource for the one _iterateDocs call it makes for an index range.
  let range: { table: string; index: SortedIndex | null; source: IndexRangeSource } | null = null;
  fake._resolveQuerySource = function (query: Query) {
    if (query.source.type === "IndexRange") {
      fresh();
      const source = query.source as IndexRangeSource;
      const [table, name] = source.indexName.split(".") as [string, string];
      range = { table, index: indexOf(table, name), source };
    }
    try {
      return resolve.call(fake, query);
    } finally {
      range = null;
    }
  };

  fake._iterateDocs = function (table: string, callback: (doc: Doc) => void) {
    fresh();
    const hint = range?.table === table ? range : null;
    range = null;
    const candidates = hint?.index?.slice(hint.source.range) ?? null;
    if (candidates === null) {
      stats.scannedQueries++;
      // Stock's order: committed ids of the table, then ids with pending writes.
      for (const id of pendingIds(table, new Set(idsOf(table)))) {
        const doc = fake.get(table, id);
        if (doc !== null) callback(doc);
      }
      return;
    }
    stats.indexedQueries++;
    const pending = pendingIds(table, new Set());
    for (const doc of candidates.docs) if (!pending.has(doc._id as string)) callback(doc);
    // Documents with pending writes at their latest version, less those surely outside the range
    // (stock would drop them: it checks every candidate against the range).
    for (const id of pending) {
      const doc = fake.get(table, id);
      if (doc !== null && !candidates.excludes(doc)) callback(doc);
    }
  };

  fake._validate = function (table: string, doc: Doc) {
    const validator = fake._schema?.schemaValidation
      ? fake._schema.tables.get(table)?.documentType
      : undefined;
    if (validator) {
      try {
        if (accepts(validator, doc)) return;
      } catch (e) {
        if (e !== UNSURE) throw e;
      }
    }
    // Rejected, unsure, or nothing to check: stock decides, with its own message.
    validate.call(fake, table, doc);
  };

  fake[INSTALLED] = stats;
  return stats;
}

/** The stats of the store installed on a database, or null if it has none. */
export function indexedStoreStats(db: object): IndexedStoreStats | null {
  return Object.prototype.hasOwnProperty.call(db, INSTALLED)
    ? (db as { [INSTALLED]: IndexedStoreStats })[INSTALLED]
    : null;
}

/**
 * Installs the store on every convex-test database this process creates from
 * now on (by wrapping the class's methods), for code that creates instances
 * and registers components itself, like the bench. Stock and indexed instances
 * then cannot be compared in the same process: use installIndexedStore for that.
 */
export async function indexEveryDatabase(
  convexTest: (options: { modules: Record<string, () => Promise<unknown>> }) => unknown,
): Promise<void> {
  const { components } = await captureConvexGlobal(
    convexTest({ modules: { "./_generated/api.js": async () => ({}) } }) as never,
  );
  const proto = Object.getPrototypeOf(components[""]!.db) as Hooked & { [EVERY]?: true };
  if (proto[EVERY]) return;
  const stock: Hooked = {
    _addWrite: proto._addWrite,
    commit: proto.commit,
    _iterateDocs: proto._iterateDocs,
    _resolveQuerySource: proto._resolveQuerySource,
    _validate: proto._validate,
  };
  for (const method of HOOKED) {
    // The first call on an instance gives it its own store (own properties, which win over these from then on).
    proto[method] = function (this: Hooked, ...args: never[]) {
      installIndexedStore(this, stock);
      return (this[method] as (...a: never[]) => unknown)(...args);
    } as never;
  }
  proto[EVERY] = true;
}
