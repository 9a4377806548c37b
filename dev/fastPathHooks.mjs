// Node module hooks (registered by dev/registerHooks.mjs) that take four costs
// out of convex-test's function boundary in the local engine, without changing
// a value that any function sees or returns (dev/README.md, "What runs, and how
// faithfully"):
//
// - base64 (convex/values): every v.bytes() value crosses as base64 text. Here
//   Node's native codec writes it (dev/nativeBase64.mjs: the same text, and
//   convex's own decoder for anything that is not a canonical encoding).
// - syscall text: convex's server library sends each syscall's argument to
//   convex-test as JSON.stringify text, convex-test parses it, and the reply
//   comes back the same way. For the database syscalls in DIRECT_OPS, on a
//   convex-test instance the engine marks (dev/directSyscalls.ts), the argument
//   and the reply cross as the JSON values themselves. Those are values built
//   for the call by convexToJson (or objects of strings and numbers), with no
//   undefined, no non-finite number and no shared parts, so JSON.parse of their
//   text would be a deep copy equal to them; neither side keeps them after the
//   call, and the one change convex-test makes to an argument (its patch deletes
//   `_id` and `_creationTime` from the value) is to an object the caller made for
//   the call and drops. Every other syscall, and every unmarked instance (the
//   stock side of the differential tests), takes the text path unchanged.
// - values: even crossing as values, every document was still converted to
//   JSON (convexToJson: sorted keys, base64 for bytes) and back (jsonToConvex)
//   once per read and once per write. On the value path a document or written
//   value made only of plain parts (null, booleans, numbers, strings, int64
//   bigints, bytes, arrays, plain objects with ordinary field names) is copied
//   instead, into exactly what that round trip gives (keys in sorted order,
//   undefined fields dropped, bytes in a new buffer), and sealed in an envelope
//   that jsonToConvex opens. Any other value takes the conversion as before,
//   with its errors.
// - sizes: convex-test measures every document it reads or writes for the
//   transaction metrics (getConvexSize walks the whole value). It stores each
//   write as a new object and never changes a stored one, so each stored
//   version is measured once (a WeakMap), with the same result.
//
// The patches are exact text replacements in convex 1.48.0 and convex-test
// 0.0.60. If a replaced text is not found exactly as often as expected, loading
// fails with the file's name: a dependency upgrade must be looked at, never
// half-patched.
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The syscalls that may cross as values (the rest keep convex's JSON text). Keep in step with dev/directSyscalls.ts. */
const DIRECT_OPS = [
  "1.0/queryStream",
  "1.0/queryCleanup",
  "1.0/get",
  "1.0/queryStreamNext",
  "1.0/insert",
  "1.0/shallowMerge",
  "1.0/replace",
  "1.0/remove",
  "1.0/getTransactionMetrics",
];
/** Symbol.for key of the mark an instance's syscall functions carry ({ calls }) when they take values. */
const DIRECT_KEY = "convex-event-analytics/dev-engine/direct-syscalls";

const NATIVE_BASE64 = new URL("./nativeBase64.mjs", import.meta.url).href;

/** Throws, naming `file`, unless `text` occurs exactly `times` times in `source`. */
function expectExactly(file, source, text, times = 1) {
  const found = source.split(text).length - 1;
  if (found !== times)
    throw new Error(
      `dev/fastPathHooks.mjs: expected ${times} of ${JSON.stringify(text.slice(0, 60))} in ${file}, found ${found}: a dependency changed; update the engine's fast path`,
    );
}

/** Replaces `from` by `to` in `source`, which must hold it exactly `times` times. */
function replaceExactly(file, source, from, to, times = 1) {
  expectExactly(file, source, from, times);
  return source.replaceAll(from, to);
}

function patchBase64(file, source) {
  // convex's base64 functions are function declarations, so the module can rebind them; every
  // importer (convexToJson, jsonToConvex, the id and bigint codecs) sees the new ones.
  expectExactly(file, source, "export function fromByteArray(uint8) {");
  expectExactly(file, source, "export function toByteArray(b64) {");
  return `${source}
import { nativeBase64 as __nativeBase64 } from ${JSON.stringify(NATIVE_BASE64)};
({ fromByteArray, toByteArray } = __nativeBase64({ fromByteArray, toByteArray }));
`;
}

/** convex/values' value.js: the plain-value copy, its envelope, and jsonToConvex opening it. */
function patchValue(file, source) {
  expectExactly(file, source, "export function jsonToConvex(value) {");
  expectExactly(file, source, "export function patchValueToJson(value) {");
  expectExactly(file, source, 'const MIN_INT64 = BigInt("-9223372036854775808");');
  expectExactly(file, source, 'import { isSimpleObject } from "../common/index.js";');
  return `${source}
const __ENVELOPE = Symbol.for(${JSON.stringify(`${DIRECT_KEY}/value`)});
/** Thrown by the copy at a part it does not copy exactly: the caller converts as before. */
const __NOT_PLAIN = Symbol("not plain");
/** Field names that validateObjectField surely accepts (a stricter rule: any other goes to it). */
function __plainFieldName(k) {
  if (k.length === 0 || k.length > 64 || k.charCodeAt(0) === 36 || k === "__proto__") return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 32 || c >= 127) return false;
  }
  return true;
}
const __byKey = (a, b) => (a === b ? 0 : a < b ? -1 : 1);
/** An object's keys in convexToJson's order (most are in it already). */
function __sortedKeys(value) {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return keys.sort(__byKey);
  return keys;
}
/** jsonToConvex(convexToJson(value)), made by copying; throws __NOT_PLAIN at any other part. */
function __copy(value) {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "number":
      return value;
    case "bigint":
      if (value < MIN_INT64 || MAX_INT64 < value) throw __NOT_PLAIN;
      return value;
    case "object":
      break;
    default:
      throw __NOT_PLAIN;
  }
  if (value === null) return null;
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = __copy(value[i]);
    return out;
  }
  if (!isSimpleObject(value)) throw __NOT_PLAIN;
  const out = {};
  for (const k of __sortedKeys(value)) {
    const v = value[k];
    if (v === undefined) continue;
    if (!__plainFieldName(k)) throw __NOT_PLAIN;
    out[k] = __copy(v);
  }
  return out;
}
/** A value for the value path: the copy, sealed, or convexToJson's JSON (which convex-test reads as ever). */
export function __valueForSyscall(value) {
  try {
    return { [__ENVELOPE]: __copy(value) };
  } catch (e) {
    if (e !== __NOT_PLAIN) throw e;
    return convexToJson(value);
  }
}
/**
 * A patch or replacement for the value path. convex-test reads it field by field, so the object
 * stays, its keys sorted as convexToJson writes them; each field is its JSON when that is the
 * value itself, else its copy, sealed; a patch's undefined fields are { $undefined: null }.
 */
function __fieldsForSyscall(value, patch) {
  if (value === null || typeof value !== "object" || !isSimpleObject(value)) throw __NOT_PLAIN;
  const out = {};
  for (const k of __sortedKeys(value)) {
    const v = value[k];
    if (v === undefined && !patch) continue;
    if (!__plainFieldName(k)) throw __NOT_PLAIN;
    if (v === undefined) out[k] = { $undefined: null };
    else if (typeof v === "string" || typeof v === "boolean" || v === null) out[k] = v;
    else if (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0)) out[k] = v;
    // convex-test compares these two with the document's and prints them as they are given.
    else if (k === "_id" || k === "_creationTime") throw __NOT_PLAIN;
    else out[k] = { [__ENVELOPE]: __copy(v) };
  }
  return out;
}
export function __patchForSyscall(value) {
  try {
    return __fieldsForSyscall(value, true);
  } catch (e) {
    if (e !== __NOT_PLAIN) throw e;
    return patchValueToJson(value);
  }
}
export function __replacementForSyscall(value) {
  try {
    return __fieldsForSyscall(value, false);
  } catch (e) {
    if (e !== __NOT_PLAIN) throw e;
    return convexToJson(value);
  }
}
const __jsonToConvex = jsonToConvex;
jsonToConvex = function (value) {
  return typeof value === "object" && value !== null && __ENVELOPE in value
    ? value[__ENVELOPE]
    : __jsonToConvex(value);
};
`;
}

/** convex/values' index.js: the value path's helper, for convex-test. */
function patchValuesIndex(file, source) {
  expectExactly(
    file,
    source,
    'export { convexToJson, jsonToConvex, CommitTsPlaceholder } from "./value.js";',
  );
  return `${source}
export { __valueForSyscall } from "./value.js";
`;
}

/** convex/server's database_impl.js: written values take the value path when their syscall does. */
function patchDatabase(file, source) {
  let s = replaceExactly(
    file,
    source,
    `import { commitTsPlaceholder, patchValueToJson } from "../../values/value.js";`,
    `import { commitTsPlaceholder, patchValueToJson, __valueForSyscall, __patchForSyscall, __replacementForSyscall } from "../../values/value.js";
import { __takesValues } from "./syscall.js";`,
  );
  s = replaceExactly(
    file,
    s,
    `    table: tableName,
    value: convexToJson(value)
  });`,
    `    table: tableName,
    value: __takesValues("1.0/insert") ? __valueForSyscall(value) : convexToJson(value)
  });`,
  );
  s = replaceExactly(
    file,
    s,
    `    value: patchValueToJson(value),`,
    `    value: __takesValues("1.0/shallowMerge") ? __patchForSyscall(value) : patchValueToJson(value),`,
  );
  return replaceExactly(
    file,
    s,
    `  await performAsyncSyscall("1.0/replace", {
    id: convexToJson(id),
    value: convexToJson(value),`,
    `  await performAsyncSyscall("1.0/replace", {
    id: convexToJson(id),
    value: __takesValues("1.0/replace") ? __replacementForSyscall(value) : convexToJson(value),`,
  );
}

function patchSyscall(file, source) {
  let s = replaceExactly(
    file,
    source,
    `  const resultStr = Convex.syscall(op, JSON.stringify(arg));`,
    `  const __direct = __directOf(Convex.syscall, op);
  if (__direct) return __direct(op, arg);
  const resultStr = Convex.syscall(op, JSON.stringify(arg));`,
  );
  s = replaceExactly(
    file,
    s,
    `    resultStr = await Convex.asyncSyscall(op, JSON.stringify(arg));`,
    `    const __direct = __directOf(Convex.asyncSyscall, op);
    if (__direct) return await __direct(op, arg);
    resultStr = await Convex.asyncSyscall(op, JSON.stringify(arg));`,
  );
  return `${s}
const __DIRECT = Symbol.for(${JSON.stringify(DIRECT_KEY)});
const __DIRECT_OPS = new Set(${JSON.stringify(DIRECT_OPS)});
/** The syscall function itself when it takes this op as a value (its instance is marked), else null. */
function __directOf(impl, op) {
  const mark = impl[__DIRECT];
  if (mark === undefined || !__DIRECT_OPS.has(op)) return null;
  mark.calls++;
  return impl;
}
/** Whether performAsyncSyscall will send this op's argument as a value (asked just before it does). */
export function __takesValues(op) {
  return typeof Convex !== "undefined" && Convex.asyncSyscall?.[__DIRECT] !== undefined && __DIRECT_OPS.has(op);
}
`;
}

/**
 * convex-test's two syscall handlers take and give values when they are called
 * with one; and the size of each stored document, which it measures on every
 * read for the transaction metrics, is measured once per stored version.
 */
function patchConvexTest(file, source) {
  const version = JSON.parse(
    readFileSync(new URL("../package.json", pathToFileURL(file)), "utf8"),
  ).version;
  if (version !== "0.0.60")
    throw new Error(
      `dev/fastPathHooks.mjs: convex-test ${version} is installed; the engine's fast path supports 0.0.60`,
    );
  const handler = (start, end, returns) => {
    const from = source.indexOf(start);
    const to = source.indexOf(end, from);
    if (from === -1 || to === -1)
      throw new Error(`dev/fastPathHooks.mjs: ${start} not found in ${file}`);
    let body = source.slice(from, to);
    body = replaceExactly(
      file,
      body,
      "const args = JSON.parse(jsonArgs);",
      `const __value = typeof jsonArgs !== "string";
        const args = __value ? jsonArgs : JSON.parse(jsonArgs);`,
    );
    body = replaceExactly(
      file,
      body,
      "return JSON.stringify(",
      "return __reply(__value, ",
      returns,
    );
    source = source.slice(0, from) + body + source.slice(to);
  };
  // Reads on the value path: the stored document's copy, sealed (or its JSON), for jsonToConvex.
  source = replaceExactly(
    file,
    source,
    "                return JSON.stringify(convexToJson(doc));",
    "                return __value ? __valueForSyscall(doc) : JSON.stringify(convexToJson(doc));",
  );
  source = replaceExactly(
    file,
    source,
    "                return JSON.stringify(convexToJson({ value, done }));",
    "                return __value ? { value: value === null ? null : __valueForSyscall(value), done } : JSON.stringify(convexToJson({ value, done }));",
  );
  // Sizes: convex-test stores every write as a new object and never changes a stored document in
  // place, so a document's size is a function of the object; other values are measured as before.
  source = replaceExactly(
    file,
    source,
    'import { CommitTsPlaceholder, compareValues, convexToJson, getConvexSize, getDocumentSize, jsonToConvex, } from "convex/values";',
    'import { CommitTsPlaceholder, compareValues, convexToJson, getConvexSize as __getConvexSize, getDocumentSize as __getDocumentSize, jsonToConvex, __valueForSyscall, } from "convex/values";',
  );
  handler("function syscallImpl() {", "class AuthFake {", 4);
  handler("function asyncSyscallImpl() {", "function jsSyscallImpl() {", 26);
  // Handlers made by the patched functions say so, so the engine marks only those (dev/directSyscalls.ts).
  return `${source}
function __reply(value, reply) {
    return value ? reply : JSON.stringify(reply);
}
const __sizes = new WeakMap();
function __isDocument(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof ArrayBuffer);
}
function __sizeOf(doc) {
    let size = __sizes.get(doc);
    if (size === undefined) {
        size = __getConvexSize(doc);
        __sizes.set(doc, size);
    }
    return size;
}
function getConvexSize(value) {
    return __isDocument(value) ? __sizeOf(value) : __getConvexSize(value);
}
function getDocumentSize(value, options) {
    // With both system fields present, the document size is the value's size.
    return __isDocument(value) && value._id !== undefined && value._creationTime !== undefined
        ? __sizeOf(value)
        : __getDocumentSize(value, options);
}
const __TAKES_VALUES = Symbol.for(${JSON.stringify(`${DIRECT_KEY}/takes-values`)});
const __syscallImpl = syscallImpl;
const __asyncSyscallImpl = asyncSyscallImpl;
syscallImpl = () => Object.assign(__syscallImpl(), { [__TAKES_VALUES]: true });
asyncSyscallImpl = () => Object.assign(__asyncSyscallImpl(), { [__TAKES_VALUES]: true });
`;
}

const PATCHES = [
  ["/node_modules/convex/dist/esm/values/base64.js", patchBase64],
  ["/node_modules/convex/dist/esm/values/value.js", patchValue],
  ["/node_modules/convex/dist/esm/values/index.js", patchValuesIndex],
  ["/node_modules/convex/dist/esm/server/impl/database_impl.js", patchDatabase],
  ["/node_modules/convex/dist/esm/server/impl/syscall.js", patchSyscall],
  ["/node_modules/convex-test/dist/index.js", patchConvexTest],
];

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  const patch = PATCHES.find(([suffix]) => url.endsWith(suffix));
  if (!patch || result.source == null) return result;
  const source =
    typeof result.source === "string" ? result.source : Buffer.from(result.source).toString("utf8");
  return { ...result, source: patch[1](fileURLToPath(url), source) };
}
