/// <reference types="vite/client" />
// The storage-agnostic bench harness: the example app (example/convex) on
// convex-test with `transactionLimits: true`, instrumented without knowing any
// table or function of the component.
//
// - Function calls: every module handed to convex-test (the app's and every
//   component's, caught at t.registerComponent) has each registered function's
//   `_handler` wrapped (convex-test calls `_handler`), and so has every route of
//   http.ts. A wrapper knows its label (component path + udfPath) and, through
//   an AsyncLocalStorage, its caller: a query or mutation with no caller, called
//   by an action / HTTP action / the bench driver, or whose caller has already
//   finished (a scheduled run) is a top-level transaction; anything else is a
//   nested call (a component call) inside its caller's transaction.
// - Per transaction: the transaction's own ctx.meta.getTransactionMetrics() at
//   its end (or when it throws), i.e. what Convex would count against its limits.
// - Per syscall (global Convex.asyncSyscall wrapped): the bytes each write adds
//   to bytesWritten (= getConvexSize of the document written, convex-test's own
//   accounting), the longest array in each written value, writes by table, the
//   documents and bytes each read returns (for Convex's 1 KiB-per-document
//   billing rounding), and functions scheduled.
// - Storage: every table of every registered component (names from the schemas
//   given to convex-test), paged, sized with getConvexSize (storage.ts).
import { indexEveryDatabase } from "../../dev/indexedStore.js";
import { nativeSha256 } from "./nativeCodecs.js";
import { AsyncLocalStorage } from "node:async_hooks";
import { getConvexSize, jsonToConvex } from "convex/values";

/** The wall clock, bound before fake timers replace performance.now(). */
export const wallClock = performance.now.bind(performance);

type ConvexTestFn = typeof import("convex-test").convexTest;

/**
 * Stock convex-test with the project's indexed store (dev/indexedStore.ts, proven
 * identical to stock in results and transaction metrics by its differential test):
 * stock scans the whole database on every query.
 */
export async function loadConvexTest(): Promise<{ convexTest: ConvexTestFn; harness: string }> {
  const { convexTest } = await import("convex-test");
  await indexEveryDatabase(convexTest);
  nativeSha256();
  return {
    convexTest,
    harness:
      "convex-test 0.0.60 with the indexed store (dev/indexedStore.ts) and native base64 and SHA-256 (bench/scale/nativeCodecs.ts), in Node's environment",
  };
}

export type Metrics = {
  documentsRead: number;
  bytesRead: number;
  documentsWritten: number;
  bytesWritten: number;
};
const zero = (): Metrics => ({
  documentsRead: 0,
  bytesRead: 0,
  documentsWritten: 0,
  bytesWritten: 0,
});
type RawMetrics = Record<keyof Metrics, { used: number }>;
const used = (m: RawMetrics): Metrics => ({
  documentsRead: m.documentsRead.used,
  bytesRead: m.bytesRead.used,
  documentsWritten: m.documentsWritten.used,
  bytesWritten: m.bytesWritten.used,
});

export type Kind = "query" | "mutation" | "action" | "httpAction" | "driver";
/** How a top-level transaction or call started. */
export type Origin = "http" | "scheduled" | "action" | "driver";

/** One top-level transaction (a query or mutation with its nested component calls). */
export type Tx = Metrics & {
  label: string;
  kind: Kind;
  origin: Origin;
  /** The driver's label (e.g. "cron analytics: retention", "report ...") when origin is "driver". */
  driver?: string;
  phase: string;
  /** Nested function calls inside it (component calls). */
  nested: number;
  largestDoc: number;
  largestDocTable: string;
  longestArray: number;
  /** Documents read/written rounded up to 1 KiB each, as Convex bills bandwidth; a delete counts 1 KiB. Reads only with readSizes. */
  billedReadBytes: number;
  billedWriteBytes: number;
  writesByTable: Record<string, number>;
  /** Wall time of the handler, for the time estimate. */
  ms: number;
  error?: string;
};

/** One function invocation of any kind, top-level or nested. */
export type Call = {
  label: string;
  kind: Kind;
  origin: Origin | "nested";
  phase: string;
  driver?: string;
};

type Frame = {
  label: string;
  kind: Kind;
  parent?: Frame;
  tx?: Tx;
  ended: boolean;
  driver?: string;
  childMs?: number;
};
/** Per-transaction queue, so that each syscall's metric deltas are its own even under Promise.all. */
const locks = new WeakMap<Tx, Promise<unknown>>();

export class Recorder {
  phase = "setup";
  readonly als = new AsyncLocalStorage<Frame>();
  onTx: (tx: Tx) => void = () => {};
  onCall: (call: Call) => void = () => {};
  scheduled: Record<string, number> = {};
  /** Top-level scheduled runs started, to tell when the clock has settled. */
  scheduledStarted = 0;
  /** Wall time inside HTTP actions outside their transactions, by phase (for the time estimate). */
  httpMs: Record<string, number> = {};

  /** Runs `fn` as the bench driver (a cron, a report query, setup), so its calls are labelled by it. */
  drive<T>(label: string, fn: () => Promise<T>): Promise<T> {
    return this.als.run({ label, kind: "driver", ended: false, driver: label }, fn);
  }
}

const WRAPPED = Symbol.for("scale-bench.wrapped");
type RegisteredFn = {
  _handler: (ctx: unknown, args: unknown) => Promise<unknown>;
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isHttp?: boolean;
  [WRAPPED]?: true;
};

function kindOf(fn: RegisteredFn): Kind | null {
  if (fn.isQuery) return "query";
  if (fn.isMutation) return "mutation";
  if (fn.isAction) return "action";
  if (fn.isHttp) return "httpAction";
  return null;
}

type AnyCtx = {
  meta?: {
    getTransactionMetrics?: () => Promise<RawMetrics>;
    getRequestMetadata?: () => Promise<{ scheduledFunctionId?: string | null }>;
  };
};

function wrapFunction(rec: Recorder, fn: RegisteredFn, label: string): void {
  const kind = kindOf(fn);
  if (!kind || fn[WRAPPED] || typeof fn._handler !== "function") return;
  fn[WRAPPED] = true;
  const inner = fn._handler;
  fn._handler = async (ctx: unknown, args: unknown) => {
    const c = ctx as AnyCtx;
    let parent = rec.als.getStore();
    if (parent?.ended) parent = undefined; // a scheduled run, fired in its scheduler's async context
    const isTx = kind === "query" || kind === "mutation";
    const parentInTx = parent !== undefined && parent.tx !== undefined && !parent.ended;
    const frame: Frame = { label, kind, parent, ended: false, childMs: 0 };
    let origin: Origin =
      parent?.kind === "httpAction" ? "http" : parent?.kind === "action" ? "action" : "driver";
    // A scheduled run has no live caller (an action's runMutation inherits the action's request, so ask only then).
    if (
      (parent === undefined || parent.kind === "driver") &&
      (kind === "mutation" || kind === "action") &&
      c.meta?.getRequestMetadata
    ) {
      const meta = await c.meta.getRequestMetadata();
      if (meta.scheduledFunctionId) origin = "scheduled";
    }
    if (origin === "scheduled") rec.scheduledStarted++;
    const driver = origin === "driver" ? (parent?.driver ?? "test") : undefined;
    rec.onCall({
      label,
      kind,
      origin: parentInTx ? "nested" : origin,
      phase: rec.phase,
      ...(driver ? { driver } : {}),
    });
    let start: Metrics | null = null;
    if (isTx && !parentInTx) {
      frame.tx = {
        label,
        kind,
        origin,
        phase: rec.phase,
        nested: 0,
        ...zero(),
        largestDoc: 0,
        largestDocTable: "",
        longestArray: 0,
        billedReadBytes: 0,
        billedWriteBytes: 0,
        writesByTable: {},
        ms: 0,
        ...(driver ? { driver } : {}),
      };
    } else if (parentInTx) {
      frame.tx = parent!.tx;
      frame.tx!.nested++;
    }
    if (frame.tx && !parentInTx && c.meta?.getTransactionMetrics) start = zero();
    const began = wallClock();
    const finish = async (error?: unknown) => {
      frame.ended = true;
      const tx = frame.tx;
      if (!tx || parentInTx || !start) return;
      tx.ms = wallClock() - began;
      try {
        Object.assign(tx, used(await c.meta!.getTransactionMetrics!()));
      } catch {
        // the transaction is already gone
      }
      if (error !== undefined) tx.error = String((error as Error)?.message ?? error).slice(0, 200);
      rec.onTx(tx);
    };
    const phase = rec.phase;
    try {
      const result = await rec.als.run(frame, () => inner(ctx, args));
      await finish();
      return result;
    } catch (e) {
      await finish(e);
      throw e;
    } finally {
      if (kind === "httpAction")
        rec.httpMs[phase] = (rec.httpMs[phase] ?? 0) + wallClock() - began - frame.childMs!;
      if (frame.tx && !parentInTx && parent?.kind === "httpAction") parent.childMs! += frame.tx.ms;
    }
  };
}

/** Wraps the registered functions of one component's modules (an import.meta.glob map) in place, as they load. */
export function instrumentModules(
  rec: Recorder,
  componentPath: string,
  modules: Record<string, () => Promise<unknown>>,
): Record<string, () => Promise<unknown>> {
  const generated = Object.keys(modules).find((p) => p.includes("_generated"));
  const root = generated ? generated.split("_generated", 2)[0]! : "";
  const prefix = componentPath || "app";
  return Object.fromEntries(
    Object.entries(modules).map(([path, load]) => {
      const modulePath = path.slice(root.length).replace(/\.[^.]+$/, "");
      return [
        path,
        async () => {
          const m = (await load()) as Record<string, unknown>;
          for (const [name, value] of Object.entries(m)) {
            if (
              value &&
              (typeof value === "function" || typeof value === "object") &&
              "_handler" in value
            ) {
              wrapFunction(rec, value as RegisteredFn, `${prefix}:${modulePath}:${name}`);
            }
            const router = value as {
              getRoutes?: () => [string, string, RegisteredFn][];
              isRouter?: boolean;
            };
            if (
              modulePath === "http" &&
              name === "default" &&
              typeof router?.getRoutes === "function"
            ) {
              for (const [route, method, fn] of router.getRoutes())
                wrapFunction(rec, fn, `${prefix}:http ${method} ${route}`);
            }
          }
          return m;
        },
      ];
    }),
  );
}

const METRICS_OP = "1.0/getTransactionMetrics";
const WRITE_OPS = new Set(["1.0/insert", "1.0/shallowMerge", "1.0/replace", "1.0/remove"]);
const READ_OPS = new Set(["1.0/get", "1.0/queryStreamNext", "1.0/queryPage"]);
const KIB = 1024;
export const billed = (bytes: number) => Math.max(1, Math.ceil(bytes / KIB)) * KIB;

/** The longest array anywhere in a JSON value (convexToJson form: bytes and int64 are objects, not arrays). */
export function longestArray(value: unknown): number {
  if (Array.isArray(value))
    return value.reduce((m: number, v) => Math.max(m, longestArray(v)), value.length);
  if (value && typeof value === "object")
    return Object.values(value).reduce((m: number, v) => Math.max(m, longestArray(v)), 0);
  return 0;
}

type AsyncSyscall = (op: string, json: string) => Promise<string>;
let installedFor: Recorder | null = null;
let measureReads = false;

/** Wraps the global Convex.asyncSyscall (after the first convexTest() call installed it). One recorder per process. */
export function instrumentSyscalls(rec: Recorder, readSizes: boolean): void {
  measureReads = readSizes;
  if (installedFor) {
    installedFor = rec;
    return;
  }
  installedFor = rec;
  const g = globalThis as unknown as {
    Convex: { syscall: unknown; asyncSyscall: AsyncSyscall; jsSyscall: unknown };
  };
  const original = g.Convex;
  const metrics = async (f: AsyncSyscall) =>
    used(jsonToConvex(JSON.parse(await f(METRICS_OP, "{}"))) as RawMetrics);
  const wrapped =
    (f: AsyncSyscall): AsyncSyscall =>
    async (op, json) => {
      const r = installedFor!;
      if (op === "1.0/schedule") {
        const name = String((JSON.parse(json) as { name?: string }).name ?? "?");
        r.scheduled[name] = (r.scheduled[name] ?? 0) + 1;
      }
      const tx = r.als.getStore()?.tx;
      if (!tx || !(WRITE_OPS.has(op) || (measureReads && READ_OPS.has(op))))
        return await f(op, json);
      const previous = locks.get(tx) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      locks.set(
        tx,
        previous.then(() => mine),
      );
      await previous;
      let before: Metrics, after: Metrics, result: string;
      try {
        before = await metrics(f);
        result = await f(op, json);
        after = await metrics(f);
      } finally {
        release();
      }
      const read = after.bytesRead - before.bytesRead;
      const docsRead = after.documentsRead - before.documentsRead;
      if (docsRead === 1) tx.billedReadBytes += billed(read);
      else if (docsRead > 1) {
        const page = (JSON.parse(result) as { page: unknown[] }).page;
        for (const doc of page)
          tx.billedReadBytes += billed(getConvexSize(jsonToConvex(doc as never)));
      }
      if (WRITE_OPS.has(op)) {
        const args = JSON.parse(json) as { table?: string; value?: unknown };
        const table = args.table ?? "?";
        const size = after.bytesWritten - before.bytesWritten;
        tx.writesByTable[table] = (tx.writesByTable[table] ?? 0) + 1;
        tx.billedWriteBytes += billed(size);
        if (size > tx.largestDoc) {
          tx.largestDoc = size;
          tx.largestDocTable = table;
        }
        if (args.value !== undefined)
          tx.longestArray = Math.max(tx.longestArray, longestArray(args.value));
      }
      return result;
    };
  g.Convex = {
    get syscall() {
      return original.syscall;
    },
    get jsSyscall() {
      return original.jsSyscall;
    },
    get asyncSyscall() {
      return wrapped(original.asyncSyscall);
    },
  } as typeof g.Convex;
}

type Registrar = {
  registerComponent: (
    path: string,
    schema: unknown,
    modules: Record<string, () => Promise<unknown>>,
  ) => void;
};

/** The instance's components and their table names, learned at registration. */
export type Components = [path: string, tables: string[]][];

/**
 * A convex-test instance of the example app with every component the package's
 * own `register` (src/test.ts) installs, instrumented. `register` is called with
 * a proxy whose registerComponent wraps the modules and notes the schema.
 */
export function initInstrumentedApp(options: {
  convexTest: ConvexTestFn;
  rec: Recorder;
  schema: { tables: Record<string, unknown> };
  modules: Record<string, () => Promise<unknown>>;
  register: (t: never) => void;
  /** Size every document read (billing rounding); off by default. */
  readSizes?: boolean;
}) {
  const { convexTest, rec } = options;
  const t = convexTest({
    schema: options.schema as never,
    modules: instrumentModules(rec, "", options.modules) as never,
    transactionLimits: true,
  });
  // BENCH_SYSCALLS=0: transactions and calls only (no per-document sizes, arrays or billing rounding), to time the overhead.
  // Sizing every read (for the 1 KiB-per-document billing rounding of reads) doubles the run time: only where billed.
  if (process.env.BENCH_SYSCALLS !== "0")
    instrumentSyscalls(rec, options.readSizes ?? process.env.BENCH_READ_SIZES === "1");
  const components: Components = [["", Object.keys(options.schema.tables)]];
  const reg = t as unknown as Registrar;
  const proxy = new Proxy(t, {
    get(target, prop, receiver) {
      if (prop === "registerComponent") {
        return (
          path: string,
          schema: { tables: Record<string, unknown> },
          modules: Record<string, () => Promise<unknown>>,
        ) => {
          components.push([path, Object.keys(schema.tables)]);
          reg.registerComponent(path, schema, instrumentModules(rec, path, modules));
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  options.register(proxy as never);
  return { t, components };
}
export type App = ReturnType<typeof initInstrumentedApp>["t"];
type Untyped = (ref: unknown, args: unknown) => Promise<unknown>;
/** Calls a function by reference without the generated types (the bench names functions by path). */
export const call = (
  t: App,
  kind: "query" | "mutation" | "action",
  ref: unknown,
  args: unknown,
): Promise<unknown> => (t[kind] as unknown as Untyped)(ref, args);
