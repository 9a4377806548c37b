// Fault injection for tests, through the syscall hooks of syscalls.testlib.ts: nothing in
// the product knows about it, so it costs production nothing. A fault names a point in a
// function's work by the database or runner call there (the 2nd insert into rollupDeltas
// of worker:drainSite, the write of its cursor, a canonical day page of compaction's
// step, the 3rd mutation an action runs) and throws there, before the call (it never
// happens) or after it (it happened, and the function dies right after).
//
// Usage:
//
//   const fault = injectFault({ fn: "worker:drainSite", op: "insert", table: "rollupDeltas", nth: 2, when: "after" }, { times: 2 });
//   ... run things: the first two transactions of drainSite that reach that point throw ...
//   expect(fault.fired()).toBe(2);
//   fault.remove();
//
// Points inside a transaction count their calls per top-level transaction, so `nth` is
// the nth such call of one run. An action is not a transaction, and convex-test runs an
// action's runQuery/runMutation directly, not as syscalls: `injectRunnerFault` counts the
// calls an action makes into the functions it runs (each call's transaction, and its own
// scheduling), and after the given number it dies: every later call fails before it does
// anything, as if the action's process had gone, until the fault is removed.
import { jsonToConvex } from "convex/values";
import {
  functionMetadata,
  getUntracked,
  installSyscallHook,
  observeTransactions,
  removeSyscallHook,
  tableOfId,
  type Doc,
} from "./syscalls.testlib.js";

export type FaultOp = "read" | "insert" | "patch" | "delete" | "write" | "schedule";

export type FaultPoint = {
  /**
   * The function making the call, as `file:name` ("worker:drainSite"), matched at the end
   * of its path; a child component's calls are named by its path ("hourlyTotals/").
   */
  fn: string;
  op: FaultOp;
  table?: string;
  /**
   * Only the calls on a document this accepts: the value inserted, the stored document
   * (patch, delete, get), or for an index read the fields its range fixes (`eq`).
   */
  where?: (doc: Doc) => boolean;
  /** The nth matching call (1-based) of each transaction, or every one. */
  nth?: number | "every";
  when: "before" | "after";
};

export class InjectedFault extends Error {}

export type Fault = {
  /** How many times it has thrown. */
  fired(): number;
  remove(): void;
};

const HOOK = "faultInjection";
const WRITE_OPS: Record<string, FaultOp> = {
  "1.0/insert": "insert",
  "1.0/shallowMerge": "patch",
  "1.0/replace": "patch",
  "1.0/remove": "delete",
};

/** The running function's path, `file:name`, prefixed by its component's path if any. */
async function currentFunction(): Promise<string | null> {
  const meta = await functionMetadata();
  if (meta === null) return null;
  return meta.componentPath ? `${meta.componentPath}/${meta.name}` : meta.name;
}

/** Injects one fault (replacing any other): it throws at `point` on the first `times` transactions (or action runs) that reach it. */
export function injectFault(point: FaultPoint, { times = 1 }: { times?: number } = {}): Fault {
  const nth = point.nth ?? 1;
  let fired = 0;
  let seen = 0; // matching calls in the current transaction
  const streams = new Map<number, { table: string; eq: Doc }>(); // queryId -> what it reads
  const label = `${point.fn} ${point.op}${point.table ? ` ${point.table}` : ""} #${nth} (${point.when})`;
  const fail = (): never => {
    fired++;
    throw new InjectedFault(`injected fault: ${label}`);
  };

  const fnMatches = async () => {
    const path = await currentFunction();
    if (path === null) return false;
    return point.fn.endsWith("/") ? path.startsWith(point.fn) : path.endsWith(point.fn);
  };

  observeTransactions(HOOK, {
    begin(depth) {
      if (depth === 1) seen = 0;
    },
  });
  installSyscallHook(HOOK, {
    sync(op, jsonArgs, next) {
      const result = next(op, jsonArgs);
      if (op === "1.0/queryStream") {
        const { source } = (JSON.parse(jsonArgs) as { query: { source: StreamSource } }).query;
        const table = source.tableName ?? source.indexName?.split(".")[0] ?? "";
        const eq = Object.fromEntries(
          (source.range ?? [])
            .filter((r) => r.type === "Eq")
            .map((r) => [r.fieldPath, jsonToConvex(r.value as never)]),
        );
        streams.set((JSON.parse(result) as { queryId: number }).queryId, { table, eq });
      }
      return result;
    },
    async async(op, jsonArgs, next) {
      if (fired >= times) return next(op, jsonArgs);
      const args = JSON.parse(jsonArgs) as Record<string, unknown>;
      const call = await matchingCall(op, args);
      if (call === null || !(await fnMatches())) return next(op, jsonArgs);
      if (point.where && !point.where(await call.doc())) return next(op, jsonArgs);
      if (++seen !== nth && nth !== "every") return next(op, jsonArgs);
      if (point.when === "before") return fail();
      await next(op, jsonArgs);
      return fail();
    },
  });

  /** The call's table and document, when it is a call `point` names; null otherwise. */
  async function matchingCall(
    op: string,
    args: Record<string, unknown>,
  ): Promise<{ doc: () => Promise<Doc> } | null> {
    const id = typeof args.id === "string" ? (jsonToConvex(args.id) as string) : undefined;
    let kind: FaultOp | undefined;
    let table: string | undefined;
    let doc: () => Promise<Doc> = async () => ({});
    if (op in WRITE_OPS) {
      kind = WRITE_OPS[op];
      table = tableOfId(id ?? "", args.table as string | undefined);
      doc =
        op === "1.0/insert"
          ? async () => jsonToConvex(args.value as never) as Doc
          : async () => (await getUntracked(table, id!)) ?? {};
    } else if (op === "1.0/get") {
      kind = "read";
      table = tableOfId(id ?? "", args.table as string | undefined);
      doc = async () => (await getUntracked(table, id!)) ?? {};
    } else if (op === "1.0/queryStreamNext") {
      kind = "read";
      const stream = streams.get(args.queryId as number);
      table = stream?.table;
      doc = async () => stream?.eq ?? {};
    } else if (op === "1.0/schedule") {
      kind = "schedule";
    }
    if (kind === undefined) return null;
    const opMatches = point.op === kind || (point.op === "write" && kind in WRITE_KINDS);
    if (!opMatches || (point.table !== undefined && point.table !== table)) return null;
    return { doc };
  }

  return handle(() => fired);
}

function handle(fired: () => number): Fault {
  return {
    fired,
    remove() {
      removeSyscallHook(HOOK);
      observeTransactions(HOOK, null);
    },
  };
}

export type RunnerFault = {
  /** The action, `file:name`. */
  action: string;
  /** The functions it runs (runQuery, runMutation), `file:name`; its own scheduling counts too. */
  callees: readonly string[];
  /** The calls that complete before it dies. */
  after: number;
};

/** Injects one fault (replacing any other): the action dies after `after` calls (fired() becomes 1). */
export function injectRunnerFault({ action, callees, after }: RunnerFault): Fault {
  let calls = 0;
  let inCall = false; // a callee's transaction is running and was counted
  let dead = false;
  observeTransactions(HOOK, {
    begin(depth) {
      if (depth === 1) inCall = false;
    },
  });
  installSyscallHook(HOOK, {
    async async(op, jsonArgs, next) {
      const path = await currentFunction();
      if (path === null) return next(op, jsonArgs);
      const ownSchedule = op === "1.0/actions/schedule" && path.endsWith(action);
      const callee = !ownSchedule && callees.some((c) => path.endsWith(c));
      if (!ownSchedule && !callee) return next(op, jsonArgs);
      if (ownSchedule || !inCall) calls++;
      if (callee) inCall = true;
      if (calls <= after) return next(op, jsonArgs);
      dead = true;
      throw new InjectedFault(`injected fault: ${action} died after ${after} calls`);
    },
  });
  return handle(() => (dead ? 1 : 0));
}

const WRITE_KINDS = { insert: true, patch: true, delete: true };
type StreamSource = {
  tableName?: string;
  indexName?: string;
  range?: { type: string; fieldPath: string; value: unknown }[];
};
