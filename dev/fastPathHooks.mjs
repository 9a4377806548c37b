// Node module hooks (registered by dev/registerHooks.mjs) that take three costs
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
  // Sizes: convex-test stores every write as a new object and never changes a stored document in
  // place, so a document's size is a function of the object; other values are measured as before.
  source = replaceExactly(
    file,
    source,
    'import { CommitTsPlaceholder, compareValues, convexToJson, getConvexSize, getDocumentSize, jsonToConvex, } from "convex/values";',
    'import { CommitTsPlaceholder, compareValues, convexToJson, getConvexSize as __getConvexSize, getDocumentSize as __getDocumentSize, jsonToConvex, } from "convex/values";',
  );
  handler("function syscallImpl() {", "class AuthFake {", 4);
  handler("function asyncSyscallImpl() {", "function jsSyscallImpl() {", 28);
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
