// Test-only plumbing shared by convexLimits.testlib.ts and readWriteSets.testlib.ts.
//
// Why syscalls: every ctx.db call of every component reaches convex-test as a syscall on
// the global `Convex` object (`1.0/insert`, `1.0/shallowMerge`, `1.0/get`, `1.0/queryStream`,
// ...), with JSON arguments. convex-test installs that object once per module copy (stock
// dist/index.js or the fast dist/index.fast.js) as a permanent proxy that forwards to the
// running test's own syscall implementation. Wrapping that one object therefore sees every
// read and write of every component of every convex-test instance in the file, without
// touching convex-test or the product.
//
// How: `globalThis.Convex` becomes an accessor. Whatever convex-test has assigned (or assigns
// later, since its first `convexTest()` call may come after us) is kept as the inner object,
// and readers get a wrapper that runs the registered hooks around it. Hooks are keyed by
// name, so installing twice replaces rather than stacks. All state hangs off one global
// symbol, so two copies of this module in one file would still share it.
//
// Two extras need convex-test's TransactionMetricsTracker, which is exported from its own
// module (dist/transactionMetrics.js, shared by the stock and the fast copy):
// - Untracked reads. A hook that needs the stored document (the merged result of a patch,
//   the index keys a write removes) reads it with `1.0/get`. That would add a document read
//   and an index range to the transaction's metrics, which tests assert on. While
//   `getUntracked` runs, trackRead/trackIndexRange do nothing. convex-test's `1.0/get` does
//   all its work synchronously before its first await, so the suppression covers exactly
//   that read and nothing of any other transaction.
// - Transaction boundaries. convex-test creates one tracker per top-level transaction and
//   calls startTransaction/commit/rollback on it for every nesting level, in lockstep with
//   its databases; observers see those calls.
import { TransactionMetricsTracker } from "convex-test/dist/transactionMetrics.js";
import { jsonToConvex, type Value } from "convex/values";

export type AsyncSyscall = (op: string, jsonArgs: string) => Promise<string>;
export type SyncSyscall = (op: string, jsonArgs: string) => string;
export type Doc = Record<string, Value>;

export interface SyscallHook {
  /** Runs instead of the async syscall; call `next` to run it (and the hooks after this one). */
  async?: (op: string, jsonArgs: string, next: AsyncSyscall) => Promise<string>;
  sync?: (op: string, jsonArgs: string, next: SyncSyscall) => string;
}

/** Transaction lifecycle: `depth` is 1 for a top-level transaction, 2+ for nested calls. */
export interface TransactionObserver {
  begin?(depth: number): void;
  commit?(depth: number): void;
  rollback?(depth: number): void;
}

interface ConvexGlobal {
  syscall?: SyncSyscall;
  asyncSyscall?: AsyncSyscall;
  jsSyscall?: unknown;
}

interface State {
  inner: ConvexGlobal | undefined;
  hooks: Map<string, SyscallHook>;
  observers: Map<string, TransactionObserver>;
  suppressTracking: number;
}

const STATE = Symbol.for("convex-event-analytics.testlib.syscalls");

function state(): State {
  const g = globalThis as unknown as Record<symbol, State | undefined>;
  const s: State = g[STATE] ?? {
    inner: undefined,
    hooks: new Map(),
    observers: new Map(),
    suppressTracking: 0,
  };
  g[STATE] = s;
  // Both are no-ops when already done; checked on every call in case a fresh copy of
  // convex-test's modules was loaded into the same global (vitest without isolation).
  installGlobal(s);
  patchTracker(s);
  return s;
}

const ACCESSOR = Symbol.for("convex-event-analytics.testlib.convexAccessor");

function installGlobal(s: State): void {
  const current = Object.getOwnPropertyDescriptor(globalThis, "Convex");
  if ((current?.get as { [ACCESSOR]?: boolean } | undefined)?.[ACCESSOR]) return;
  s.inner = (globalThis as unknown as { Convex?: ConvexGlobal }).Convex;
  const asyncSyscall: AsyncSyscall = (op, jsonArgs) => {
    let next: AsyncSyscall = (o, a) => inner(s).asyncSyscall!(o, a);
    for (const hook of [...s.hooks.values()].reverse()) {
      const after = next;
      if (hook.async) next = (o, a) => hook.async!(o, a, after);
    }
    return next(op, jsonArgs);
  };
  const syscall: SyncSyscall = (op, jsonArgs) => {
    let next: SyncSyscall = (o, a) => inner(s).syscall!(o, a);
    for (const hook of [...s.hooks.values()].reverse()) {
      const after = next;
      if (hook.sync) next = (o, a) => hook.sync!(o, a, after);
    }
    return next(op, jsonArgs);
  };
  // Each getter reads the inner one first: convex-test's throws "No active convexTest
  // context" outside a test call, and convex's runtime checks for undefined.
  const wrapper: ConvexGlobal = {
    get syscall() {
      return s.inner?.syscall === undefined ? undefined : syscall;
    },
    get asyncSyscall() {
      return s.inner?.asyncSyscall === undefined ? undefined : asyncSyscall;
    },
    get jsSyscall() {
      return s.inner?.jsSyscall;
    },
  };
  const get = Object.assign(() => (s.inner === undefined ? undefined : wrapper), {
    [ACCESSOR]: true,
  });
  Object.defineProperty(globalThis, "Convex", {
    configurable: true,
    enumerable: true,
    get,
    set: (value: ConvexGlobal | undefined) => {
      s.inner = value;
    },
  });
}

function inner(s: State): ConvexGlobal {
  if (s.inner === undefined) throw new Error("convex-test has not installed its syscalls yet");
  return s.inner;
}

type TrackerMethods = Record<string, (this: { _layers: unknown[] }, ...args: unknown[]) => unknown>;
const PATCHED = Symbol.for("convex-event-analytics.testlib.trackerPatched");

function patchTracker(s: State): void {
  const proto = TransactionMetricsTracker.prototype as unknown as TrackerMethods &
    Record<symbol, boolean>;
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  for (const name of ["trackRead", "trackIndexRange"]) {
    const original = proto[name];
    proto[name] = function (...args) {
      if (s.suppressTracking > 0) return undefined;
      return original.apply(this, args);
    };
  }
  const notify = (event: keyof TransactionObserver, depth: number) => {
    for (const observer of s.observers.values()) observer[event]?.(depth);
  };
  const { startTransaction, commit, rollback } = proto;
  proto.startTransaction = function (...args) {
    const result = startTransaction.apply(this, args);
    notify("begin", this._layers.length);
    return result;
  };
  proto.commit = function (...args) {
    const depth = this._layers.length;
    const result = commit.apply(this, args);
    notify("commit", depth);
    return result;
  };
  proto.rollback = function (...args) {
    const depth = this._layers.length;
    const result = rollback.apply(this, args);
    notify("rollback", depth);
    return result;
  };
}

/** Registers (or replaces) the hook called `name`. Hooks run in first-registration order. */
export function installSyscallHook(name: string, hook: SyscallHook): void {
  state().hooks.set(name, hook);
}

export function removeSyscallHook(name: string): void {
  state().hooks.delete(name);
}

export function observeTransactions(name: string, observer: TransactionObserver | null): void {
  if (observer) state().observers.set(name, observer);
  else state().observers.delete(name);
}

/**
 * The stored document as the running transaction sees it (its own pending writes included),
 * read without counting toward its bytes, documents or index ranges read.
 */
export async function getUntracked(table: string | undefined, id: string): Promise<Doc | null> {
  const s = state();
  const args = JSON.stringify({ id, table, isSystem: table?.startsWith("_") ?? false });
  let pending: Promise<string>;
  s.suppressTracking++;
  try {
    pending = inner(s).asyncSyscall!("1.0/get", args);
  } finally {
    s.suppressTracking--;
  }
  return jsonToConvex(JSON.parse(await pending)) as Doc | null;
}

/** The running function's path and component, or null outside a function (e.g. t.run). */
export async function functionMetadata(): Promise<{ name: string; componentPath: string } | null> {
  try {
    const json = await inner(state()).asyncSyscall!("1.0/getFunctionMetadata", "{}");
    return JSON.parse(json) as { name: string; componentPath: string };
  } catch {
    return null;
  }
}

/** convex-test's ids are `<digits><table>`; its db calls may omit the table. */
export function tableOfId(id: string, table?: string): string {
  return table ?? id.replace(/^[0-9]+/, "");
}
