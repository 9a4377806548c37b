// The local engine: the example app (example/convex), this component and its
// children, loaded unchanged into one in-memory convex-test instance with
// transaction limits on. Scheduled functions run on real timers, as convex-test
// runs them; crons run from `crons.export()` on the engine's clock; every
// committed transaction is announced so browsers can re-run their queries. An
// in-memory stand-in for trying and testing, not a Convex backend: see dev/README.md.
import { convexTest } from "convex-test";
import {
  makeFunctionReference,
  type GenericSchema,
  type HttpRouter,
  type SchemaDefinition,
} from "convex/server";
import type { JSONValue, Value } from "convex/values";
import { components, internal } from "../example/convex/_generated/api.js";
import { Clock, realNow } from "./clock.js";
import { jobsOf, nextRun, type CronJob } from "./crons.js";
import { useDirectSyscalls, type DirectSyscallStats } from "./directSyscalls.js";
import { installIndexedStore } from "./indexedStore.js";
import type { Doc } from "../src/component/_generated/dataModel.js";
import { SiteCursor } from "../src/component/cursor.js";
import {
  captureConvexGlobal,
  onTopLevelCommit,
  tableOfId,
  type ConvexGlobal,
} from "./internals.js";
import {
  SnapshotError,
  readSnapshot,
  restoreSnapshot,
  takeSnapshot,
  writeSnapshot,
} from "./snapshot.js";

export type FunctionKind = "query" | "mutation" | "action";
type Registered = {
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isPublic?: boolean;
};
/** convex-test's module loader of one component: by module path ("analytics", "dir/file"). */
type Loader = (modulePath: string) => Promise<Record<string, unknown>>;
/** convex-test's accessor: the typed API plus the untyped calls the engine needs. */
type Instance = ReturnType<typeof convexTest> & {
  fun(path: { componentPath: string; udfPath: string }, args: unknown): Promise<unknown>;
  runInComponent<T>(
    componentPath: string,
    handler: (ctx: { db: { query(t: string): { first(): Promise<unknown> } } }) => Promise<T>,
  ): Promise<T>;
};

export type EngineOptions = {
  /**
   * "indexed" (default): convex-test with dev/indexedStore.ts installed on every
   * component's database (same results and transaction metrics, indexed lookups
   * instead of whole-database scans), and its database syscalls crossing as
   * values (dev/directSyscalls.ts). "stock": convex-test as it ships.
   */
  store?: StoreKind;
  /** Load state from this file on start (if it exists) and save it on stop. */
  dataFile?: string;
  /** Start the engine's clock at this past moment (for replaying history); it moves forward with `clock.advance`. */
  startAt?: number;
  log?: (line: string) => void;
};

/** A call the browser may not make, or a function that does not exist: the bridge answers 404. */
export class NotCallableError extends Error {}

let clock: Clock | undefined;

export type StoreKind = "indexed" | "stock";

/** Imports a module and returns its default export. */
async function defaultExport<T>(specifier: string): Promise<T> {
  return ((await import(specifier)) as { default: T }).default;
}

// The app's modules, as test/app.setup.ts globs them (dev/globHooks.mjs gives Node import.meta.glob).
const appModules = import.meta.glob("../example/convex/**/*.ts");

export class Engine {
  /** The demo site, provisioned by the app's own setup:provision on first start. */
  siteId = "";
  store: StoreKind = "indexed";
  /** Set when database syscalls cross as values (the indexed store, with dev/registerHooks.mjs loaded). */
  directSyscalls: DirectSyscallStats | null = null;
  writeKey = "";
  private listeners = new Set<(version: number) => void>();
  private version = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private crons: { job: CronJob; next: number }[] = [];
  private cronTimer: ReturnType<typeof setInterval> | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  private constructor(
    readonly t: Instance,
    readonly global: ConvexGlobal,
    readonly clock: Clock,
    readonly router: HttpRouter,
    private readonly loaders: Map<string, Loader>,
    private readonly options: EngineOptions,
  ) {}

  static async start(options: EngineOptions = {}): Promise<Engine> {
    const log = options.log ?? (() => {});
    if (clock && options.startAt !== undefined)
      throw new Error(
        "the engine's clock is already running: startAt must be given to the first engine of the process",
      );
    clock ??= new Clock(options.startAt).install();
    const schema = await defaultExport<SchemaDefinition<GenericSchema, boolean>>(
      "../example/convex/schema.js",
    );
    const t = convexTest({ schema, modules: appModules, transactionLimits: true }) as Instance;
    // The component and its children, registered exactly as host apps' tests register them.
    const { register } = await import("../src/test.js");
    register(t);
    const global = await captureConvexGlobal(t);
    const loaders = new Map<string, Loader>(
      Object.entries(global.components).map(([path, c]) => [path, c.modules]),
    );
    const router = (await loaders.get("")!("http")).default as HttpRouter;
    const engine = new Engine(t, global, clock, router, loaders, options);
    engine.store = options.store ?? "indexed";

    let restored = false;
    if (options.dataFile) {
      let snapshot;
      try {
        snapshot = readSnapshot(options.dataFile);
        if (snapshot) restoreSnapshot(global, snapshot);
      } catch (e) {
        if (e instanceof SnapshotError)
          throw new SnapshotError(
            `Cannot load --data ${options.dataFile}: ${e.message}. The file was left untouched; move it away to start empty.`,
          );
        throw e;
      }
      if (snapshot) {
        restored = true;
        engine.writeKey =
          typeof snapshot.engine.writeKey === "string" ? snapshot.engine.writeKey : "";
        log(`Loaded ${options.dataFile} (saved ${snapshot.savedAt}).`);
      } else {
        log(`No ${options.dataFile} yet: starting empty; it is written when the engine stops.`);
      }
    }
    // After a restore: the store builds its maps from the restored documents (and would rebuild them after another).
    if (engine.store === "indexed") {
      for (const { db } of Object.values(global.components)) installIndexedStore(db);
      engine.directSyscalls = useDirectSyscalls(global);
    }
    onTopLevelCommit(global, () => engine.invalidate());
    if (restored) engine.rearmScheduledFunctions();
    await engine.provisionSite();
    await engine.loadCrons();
    return engine;
  }

  /** The "default" site of the example app, created by its own setup mutation; its write key is kept across restarts. */
  private async provisionSite(): Promise<void> {
    const created = await this.t.mutation(internal.setup.provision, {});
    if (created) {
      this.siteId = created.siteId;
      this.writeKey = created.writeKey;
      return;
    }
    const site = await this.t.query(components.analytics.sites.getSiteBySlug, { slug: "default" });
    if (!site) throw new Error('setup:provision created no "default" site');
    this.siteId = site._id;
    // Keys are stored only as hashes; a snapshot without the engine's copy gets a fresh key.
    if (!this.writeKey)
      this.writeKey = (
        await this.t.mutation(components.analytics.sites.rotateWriteKey, { siteId: site._id })
      ).writeKey;
  }

  /**
   * Runs a public function of the app, as a browser's Convex client would:
   * internal functions and component functions are not reachable (invariant I5).
   */
  async call(kind: FunctionKind, name: string, args: Record<string, Value>): Promise<Value> {
    const [modulePath, exportName = "default"] = name.split(":");
    if (
      !modulePath ||
      /(^|\/)_generated(\/|$)/.test(modulePath) ||
      modulePath === "http" ||
      modulePath === "crons"
    )
      throw new NotCallableError(`No public ${kind} named "${name}"`);
    const fn = (await this.loadModule("", modulePath))?.[exportName] as Registered | undefined;
    const isKind =
      kind === "query" ? fn?.isQuery : kind === "mutation" ? fn?.isMutation : fn?.isAction;
    if (!fn || !fn.isPublic || !isKind)
      throw new NotCallableError(`No public ${kind} named "${name}"`);
    if (kind === "query")
      return (await this.t.query(makeFunctionReference<"query">(name), args)) as Value;
    if (kind === "mutation")
      return (await this.t.mutation(makeFunctionReference<"mutation">(name), args)) as Value;
    return (await this.t.action(makeFunctionReference<"action">(name), args)) as Value;
  }

  /** A module of a component (the app is ""), or null when there is no such module. */
  private async loadModule(
    componentPath: string,
    modulePath: string,
  ): Promise<Record<string, unknown> | null> {
    try {
      return await this.loaders.get(componentPath)!(modulePath);
    } catch (e) {
      // convex-test's loader reports a module missing from the glob this way.
      if ((e as Error).message === `Could not find module for: "${modulePath}"`) return null;
      throw e;
    }
  }

  /** Whether the app's http.ts routes this request. */
  routes(path: string, method: string): boolean {
    return this.router.lookup(path, method as never) !== null;
  }

  /**
   * Hands a request to the app's http.ts router, as the deployment's .convex.site
   * origin would, with the client's address and user agent as Convex's request
   * metadata (what ctx.meta.getRequestMetadata() returns there).
   */
  async fetch(
    pathWithQuery: string,
    init: RequestInit,
    client: { ip: string | null; userAgent: string | null } = { ip: null, userAgent: null },
  ): Promise<Response> {
    return await this.t.withRequestMetadata(client).fetch(pathWithQuery, init);
  }

  /** Called with a new version number after transactions commit (coalesced over 50 ms). */
  subscribe(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get currentVersion(): number {
    return this.version;
  }

  private invalidate(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.version++;
      for (const l of this.listeners) l(this.version);
    }, 50);
  }

  /** Failures to load a crons module, reported by startCrons. */
  cronLoadErrors: { componentPath: string; error: string }[] = [];

  /** The app's crons and every component's own crons (a `crons` module's default export). */
  get cronJobs(): CronJob[] {
    return this.crons.map((c) => c.job);
  }

  private async loadCrons(): Promise<void> {
    for (const componentPath of this.loaders.keys()) {
      let crons: { export(): string } | undefined;
      try {
        crons = (await this.loadModule(componentPath, "crons"))?.default as
          { export(): string } | undefined;
      } catch (e) {
        this.cronLoadErrors.push({ componentPath, error: (e as Error).message });
        continue;
      }
      if (crons && typeof crons.export === "function") {
        for (const job of jobsOf(crons, componentPath))
          this.crons.push({ job, next: nextRun(job.schedule, Date.now()) });
      }
    }
  }

  /** Runs crons on the real clock from now on (while the seeder replays history, it calls tick() itself). */
  startCrons(): void {
    this.cronTimer ??= setInterval(() => void this.tick(), 1_000);
    this.cronTimer.unref();
  }

  /**
   * Runs every cron that is due on the engine's clock (once, however many runs
   * were missed, as Convex does), then lets the work they and earlier calls
   * scheduled for now run to completion.
   */
  async tick(): Promise<void> {
    this.ticking ??= (async () => {
      for (const entry of this.crons) {
        if (this.stopped || entry.next > Date.now()) continue;
        try {
          await this.t.fun(
            { componentPath: entry.job.componentPath, udfPath: entry.job.udfPath },
            entry.job.args,
          );
        } catch (e) {
          this.options.log?.(`cron "${entry.job.id}" failed: ${(e as Error).message}`);
        }
        entry.next = nextRun(entry.job.schedule, Date.now());
      }
      await this.settle();
    })().finally(() => (this.ticking = null));
    return await this.ticking;
  }

  /**
   * A restored snapshot's pending scheduled functions have no timers: arm them
   * again, running each the way convex-test runs a scheduled function.
   */
  private rearmScheduledFunctions(): void {
    for (const [componentPath, { db }] of Object.entries(this.global.components)) {
      for (const job of Object.values(db._documents)) {
        if (tableOfId(job._id as string) !== "_scheduled_functions") continue;
        const state = (job.state as { kind: string }).kind;
        if (state !== "pending" && state !== "inProgress") continue;
        const delay = Math.max(0, (job.scheduledTime as number) - Date.now());
        setTimeout(
          () =>
            void this.runScheduled(
              componentPath,
              job._id as string,
              job.name as string,
              (job.args as unknown[])[0],
            ),
          delay,
        );
      }
    }
  }

  private async runScheduled(
    componentPath: string,
    jobId: string,
    udfPath: string,
    args: unknown,
  ): Promise<void> {
    const { db } = this.global.components[componentPath]!;
    const setState = (state: Record<string, unknown>) =>
      this.t.runInComponent(componentPath, async () => {
        db.patch("_scheduled_functions", jobId, state);
        return null;
      });
    const job = db.get("_scheduled_functions", jobId);
    if (!job || !["pending", "inProgress"].includes((job.state as { kind: string }).kind)) return;
    await setState({ state: { kind: "inProgress" } });
    try {
      await this.t.fun({ componentPath, udfPath }, args);
      await setState({ state: { kind: "success" } });
    } catch (e) {
      this.options.log?.(`scheduled ${udfPath} failed: ${(e as Error).message}`);
      await setState({ state: { kind: "failed" }, completedTime: Date.now() });
    }
  }

  /**
   * Waits until no scheduled function is running or due now (functions scheduled
   * with runAfter(0) fire on the next timer turn; what they schedule, too).
   */
  async settle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = realNow() + timeoutMs;
    const scheduler = this.global.scheduler;
    while (realNow() < deadline) {
      await new Promise((r) => setTimeout(r, 1));
      if (scheduler._inFlight.size === 0) return true;
      await Promise.race([
        this.t.finishInProgressScheduledFunctions(),
        new Promise((r) => setTimeout(r, Math.max(1, deadline - realNow())).unref()),
      ]);
    }
    return false;
  }

  /** Waits for the scheduled functions already running (not for those whose timer has yet to fire). */
  async finishRunning(): Promise<void> {
    await this.t.finishInProgressScheduledFunctions();
  }

  /** Counts the committed documents of a component's table. */
  count(componentPath: string, table: string): number {
    return Object.keys(this.global.components[componentPath]!.db._documents).filter(
      (id) => tableOfId(id) === table,
    ).length;
  }

  /** Batches no worker run has processed yet: past their site's cursor, or waiting for a retry. */
  private queuedBatches(): number {
    const docs = Object.values(this.global.components.analytics!.db._documents);
    const cursors = new Map(
      docs
        .filter((d) => tableOfId(d._id as string) === "siteCursors")
        .map((d) => [d.siteId, d as unknown as Doc<"siteCursors">]),
    );
    return docs.filter((d) => {
      if (tableOfId(d._id as string) !== "batches") return false;
      const batch = d as unknown as Doc<"batches">;
      const cursor = SiteCursor.of(batch.siteId, cursors.get(batch.siteId) ?? null);
      return !cursor.hasCounted(batch);
    }).length;
  }

  /** What is still queued: batches waiting for the worker, delta shards waiting for compaction, scheduled functions running. */
  status(): { queuedBatches: number; rollupDeltas: number; running: number; version: number } {
    return {
      queuedBatches: this.queuedBatches(),
      rollupDeltas: this.count("analytics", "rollupDeltas"),
      running: this.global.scheduler._inFlight.size,
      version: this.version,
    };
  }

  /** Saves the state now (when --data was given). */
  save(): string | null {
    if (!this.options.dataFile) return null;
    const engineState: Record<string, JSONValue> = { writeKey: this.writeKey, siteId: this.siteId };
    writeSnapshot(this.options.dataFile, takeSnapshot(this.global, engineState));
    return this.options.dataFile;
  }

  /** Stops crons, lets running functions finish, and saves. */
  async stop(): Promise<string | null> {
    if (this.stopped) return null;
    this.stopped = true;
    if (this.cronTimer) clearInterval(this.cronTimer);
    await this.ticking;
    await this.settle(10_000);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    return this.save();
  }
}
