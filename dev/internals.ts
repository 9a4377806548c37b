// The few convex-test 0.0.60 internals the engine needs and its public API does
// not offer: every component's in-memory database (to save and restore it with
// ids intact) and the transaction manager (to learn when a transaction commits,
// so browsers can be told to re-run their queries). Everything here is checked
// when the engine starts, so a convex-test upgrade that changes these shapes
// fails loudly instead of corrupting a snapshot.
import { AsyncLocalStorage } from "node:async_hooks";
import type { GenericDocument } from "convex/server";

/** convex-test's DatabaseFake, as far as the engine touches it. */
export type FakeDb = {
  _documents: Record<string, GenericDocument>;
  _storage: Record<string, unknown>;
  _nextDocId: number;
  _lastCreationTime: number;
  _validate(table: string, doc: Record<string, unknown>): void;
  get(table: string, id: string): GenericDocument | null;
  patch(table: string, id: string, value: Record<string, unknown>): void;
  componentPath: string;
};

type TransactionManager = { commit(isNested: boolean): unknown; _lastCommitTs: bigint };

export type ConvexGlobal = {
  components: Record<
    string,
    { db: FakeDb; modules: (modulePath: string) => Promise<Record<string, unknown>> }
  >;
  transactionManager: TransactionManager;
  /** Scheduled functions whose timer has fired and that have not finished. */
  scheduler: { _inFlight: Set<Promise<unknown>> };
  /** The instance's syscall handlers (what `Convex.syscall` and `Convex.asyncSyscall` give inside it). */
  syscall: (op: string, args: string) => string;
  asyncSyscall: (op: string, args: string) => Promise<string>;
};

type RunsInContext = { run<T>(handler: (ctx: unknown) => Promise<T>): Promise<T> };

/**
 * convex-test keeps one state object per instance in an AsyncLocalStorage and
 * enters it on every call; catch it on the way in.
 */
export async function captureConvexGlobal(t: RunsInContext): Promise<ConvexGlobal> {
  const original = AsyncLocalStorage.prototype.run;
  let captured: ConvexGlobal | undefined;
  AsyncLocalStorage.prototype.run = function (
    this: AsyncLocalStorage<unknown>,
    store: unknown,
    ...rest: unknown[]
  ) {
    if (
      !captured &&
      typeof store === "object" &&
      store !== null &&
      "components" in store &&
      "transactionManager" in store
    ) {
      captured = store as ConvexGlobal;
    }
    return (original as (...a: unknown[]) => unknown).call(this, store, ...rest);
  } as typeof original;
  try {
    await t.run(async () => null);
  } finally {
    AsyncLocalStorage.prototype.run = original;
  }
  if (!captured)
    throw new Error(
      "convex-test's internal state was not found: this engine supports convex-test 0.0.60",
    );
  for (const [path, { db }] of Object.entries(captured.components)) {
    const ok =
      db &&
      typeof db._documents === "object" &&
      typeof db._nextDocId === "number" &&
      typeof db._validate === "function";
    if (!ok)
      throw new Error(
        `convex-test's database for component "${path}" has an unexpected shape: this engine supports convex-test 0.0.60`,
      );
  }
  if (typeof captured.transactionManager?.commit !== "function")
    throw new Error("convex-test's transaction manager has an unexpected shape");
  if (!(captured.scheduler?._inFlight instanceof Set))
    throw new Error("convex-test's scheduler has an unexpected shape");
  if (typeof captured.syscall !== "function" || typeof captured.asyncSyscall !== "function")
    throw new Error("convex-test's syscall handlers have an unexpected shape");
  return captured;
}

/** Calls `onCommit` after every top-level transaction commits (mutations, scheduled functions, crons, HTTP actions' mutations). */
export function onTopLevelCommit(global: ConvexGlobal, onCommit: () => void): void {
  const tm = global.transactionManager;
  const commit = tm.commit.bind(tm);
  tm.commit = (isNested: boolean) => {
    const result = commit(isNested);
    if (!isNested) onCommit();
    return result;
  };
}

/** The table an id belongs to, as convex-test encodes it: a decimal counter, then the table name. */
export function tableOfId(id: string): string | null {
  const match = /^([0-9]+)(.+)$/.exec(id);
  return match ? match[2]! : null;
}
