// Convex's per-document limits, re-applied in tests (invariant I7). convex-test enforces the
// per-transaction limits (`transactionLimits: true`) but not these, so a product write that
// a deployment rejects (a 3 MB rollup shard, an array of 10,000 keys) passes every test.
//
// Usage, once per test file (module top or beforeAll; calling it again is harmless):
//
//   import { enforceConvexDocumentLimits } from "./convexLimits.testlib.js";
//   enforceConvexDocumentLimits();
//
// From then on every insert, replace and patch of every component of every convex-test
// instance in the file (stock or the fast copy) is checked before it reaches convex-test's
// database. A violating write throws an Error like Convex's, naming the limit, the table and
// the field, so the write is never staged: uncaught, the mutation fails and rolls back;
// caught, the transaction goes on without it. That is what a deployment does.
//
// What is checked, as the Convex backend does (crates/value, crates/common/document.rs,
// crates/database's insert/patch/replace; sizes with convex's own getConvexSize, which
// mirrors the backend's `Size`):
// - size ≤ 1 MiB: insert and replace measure the value given (user fields, as the backend
//   does); a patch measures the merged document, system fields included;
// - every array ≤ 8,192 elements, every object ≤ 1,024 fields;
// - nesting ≤ 16 (the document object is level 1, each array/object inside adds one);
// - field names: ≤ 1,024 chars, non-control ASCII, no leading '$', and no leading '_'
//   except the top-level system fields `_id` and `_creationTime`.
//
// documentWriteStats() reports, per table, the largest document and longest array the file's
// writes reached, to see how close the product runs to the limits.
//
// A patch needs the stored document to know the merged size. It is read with convex-test's
// own `1.0/get`, with its metrics tracking suspended (syscalls.testlib.ts), so bytes,
// documents and index ranges read stay exactly what they are without this helper.
//
// Known gaps: the size of a patched document counts the `_id` string as stored by
// convex-test (about the length of a real id) rather than the backend's binary id; the
// limits on function arguments and return values, and on scheduled-function arguments, are
// not checked here.
import { getConvexSize, jsonToConvex, type Value } from "convex/values";
import { getUntracked, installSyscallHook, tableOfId, type Doc } from "./syscalls.testlib.js";

export const MAX_DOCUMENT_BYTES = 1 << 20;
export const MAX_ARRAY_LENGTH = 8192;
export const MAX_DOCUMENT_NESTING = 16;
export const MAX_OBJECT_FIELDS = 1024;
export const MAX_FIELD_NAME_LENGTH = 1024;

const LIMITS_URL = "https://docs.convex.dev/production/state/limits";
const SYSTEM_FIELDS = new Set(["_id", "_creationTime"]);

export type WriteKind = "insert" | "replace" | "patch";

/**
 * The first per-document limit `doc` breaks as a write of `kind` into `table`, as an error
 * message, or null. `doc` is what Convex would store: the value for insert and replace, the
 * merged document for a patch. Pure; usable on its own (e.g. to check a bench's documents).
 */
export function documentLimitViolation(table: string, kind: WriteKind, doc: Doc): string | null {
  const where = `${kind} into table "${table}"`;
  const bytes = getConvexSize(doc);
  if (bytes > MAX_DOCUMENT_BYTES) {
    return (
      `Value is too large (${mib(bytes)} > maximum size 1 MiB): ${where} is ${bytes} bytes` +
      ` (limit ${MAX_DOCUMENT_BYTES}). This is a Convex limit: ${LIMITS_URL}`
    );
  }
  const problem = structureViolation(doc, "", true);
  return problem === null ? null : `${problem}, in ${where}. This is a Convex limit: ${LIMITS_URL}`;
}

/** Throws documentLimitViolation's message, if any. */
export function checkDocumentLimits(table: string, kind: WriteKind, doc: Doc): void {
  const problem = documentLimitViolation(table, kind, doc);
  if (problem !== null) throw new Error(problem);
}

/** Installs the check on every write syscall (idempotent; see the header). */
export function enforceConvexDocumentLimits(): void {
  installSyscallHook("convexDocumentLimits", {
    async: async (op, jsonArgs, next) => {
      if (op === "1.0/insert" || op === "1.0/replace" || op === "1.0/shallowMerge") {
        await checkWrite(op, JSON.parse(jsonArgs) as WriteArgs);
      }
      return next(op, jsonArgs);
    },
  });
}

interface WriteArgs {
  table?: string;
  id?: string;
  value: Record<string, unknown>;
}

/** Per table, the largest document and the longest array written (or attempted) so far. */
export interface TableWriteStats {
  table: string;
  largestBytes: number;
  longestArray: number;
  writes: number;
}
const stats = new Map<string, TableWriteStats>();

/**
 * What the enforced writes of this test file looked like, largest first: how close the
 * product comes to the limits (the budgets of src/component/README.md are 512 KiB and 4,096 elements).
 */
export function documentWriteStats(): TableWriteStats[] {
  return [...stats.values()].sort((a, b) => b.largestBytes - a.largestBytes);
}

function check(table: string, kind: WriteKind, doc: Doc): void {
  const s = stats.get(table) ?? { table, largestBytes: 0, longestArray: 0, writes: 0 };
  stats.set(table, s);
  s.writes++;
  s.largestBytes = Math.max(s.largestBytes, getConvexSize(doc));
  s.longestArray = Math.max(s.longestArray, longestArray(doc));
  checkDocumentLimits(table, kind, doc);
}

function longestArray(value: Value): number {
  const children = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : [];
  let longest = Array.isArray(value) ? value.length : 0;
  for (const child of children) longest = Math.max(longest, longestArray(child));
  return longest;
}

async function checkWrite(op: string, args: WriteArgs): Promise<void> {
  if (op === "1.0/insert") {
    check(args.table!, "insert", jsonToConvex(args.value as never) as Doc);
    return;
  }
  const table = tableOfId(args.id!, args.table);
  if (op === "1.0/replace") {
    check(table, "replace", jsonToConvex(args.value as never) as Doc);
    return;
  }
  let stored: Doc | null;
  try {
    stored = await getUntracked(args.table, args.id!);
  } catch {
    return; // a bad id: let convex-test's own patch report it
  }
  if (stored === null) return; // patch of a missing document: convex-test reports it
  const merged: Doc = { ...stored };
  for (const [field, json] of Object.entries(args.value)) {
    // convex's patchValueToJson marks a removed field as {"$undefined": null}.
    if (typeof json === "object" && json !== null && "$undefined" in json) delete merged[field];
    else merged[field] = jsonToConvex(json as never);
  }
  check(table, "patch", merged);
}

/** The backend's nesting: a primitive is 0, an array or object 1 + its deepest element. */
function nesting(value: Value): number {
  const children = Array.isArray(value)
    ? value
    : isPlainObject(value)
      ? Object.values(value)
      : null;
  if (children === null) return 0;
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, nesting(child));
  return 1 + deepest;
}

function structureViolation(value: Value, path: string, top = false): string | null {
  const levels = top ? nesting(value) : 0;
  if (levels > MAX_DOCUMENT_NESTING) {
    return (
      `Document is too nested (nested ${levels} levels deep > maximum nesting ` +
      `${MAX_DOCUMENT_NESTING})`
    );
  }
  if (Array.isArray(value)) {
    if (value.length > MAX_ARRAY_LENGTH) {
      return (
        `Array length is too long (${value.length} > maximum length ${MAX_ARRAY_LENGTH})` +
        ` at ${path || "the document"}`
      );
    }
    for (let i = 0; i < value.length; i++) {
      const problem = structureViolation(value[i], `${path}[${i}]`);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (!isPlainObject(value)) return null;
  const fields = Object.entries(value).filter(([, v]) => v !== undefined);
  if (fields.length > MAX_OBJECT_FIELDS) {
    return (
      `Object has too many fields (${fields.length} > maximum number ${MAX_OBJECT_FIELDS})` +
      ` at ${path || "the document"}`
    );
  }
  for (const [name, v] of fields) {
    const problem =
      fieldNameViolation(name, path, top) ?? structureViolation(v, path ? `${path}.${name}` : name);
    if (problem !== null) return problem;
  }
  return null;
}

function fieldNameViolation(name: string, path: string, top: boolean): string | null {
  const at = path ? ` at ${path}` : "";
  if (name.length > MAX_FIELD_NAME_LENGTH) {
    return `Field name is too long (${name.length} > maximum ${MAX_FIELD_NAME_LENGTH})${at}`;
  }
  if (name.startsWith("$")) return `Field name ${name} starts with '$', which is reserved${at}`;
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) {
      return `Field name ${name} has invalid character ${JSON.stringify(ch)}${at}`;
    }
  }
  if (name.startsWith("_") && !(top && SYSTEM_FIELDS.has(name))) {
    return top
      ? `Field '${name}' starts with an underscore, which is only allowed for system fields`
      : `Field '${name}' starts with an underscore, which is not allowed for nested fields${at}`;
  }
  return null;
}

function isPlainObject(value: Value): value is Record<string, Value> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  // ArrayBuffer (bytes) and commit-timestamp placeholders are leaves; objects from another
  // realm (edge-runtime) are still plain.
  return proto === null || proto === Object.prototype || proto.constructor?.name === "Object";
}

function mib(bytes: number): string {
  return `${(bytes / MAX_DOCUMENT_BYTES).toFixed(2)} MiB`;
}
