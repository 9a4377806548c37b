// `npm run demo`: the example app on the local engine, with the example page,
// synthetic traffic and live updates. No Convex account, no network.
//
//   tsx --tsconfig dev/tsconfig.json dev/demo.ts [--port 3210] [--host 127.0.0.1]
//     [--seed | --no-seed] [--seed-days 30] [--seed-per-day 360] [--seed-random 1]
//     [--no-live] [--data file.json] [--no-build] [--store indexed|stock] [--test-hooks]
// (`npm run demo -- --help` lists them.)
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import "./registerHooks.mjs";
import { realNow } from "./clock.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Seconds since this process started (node and tsx included), for the start-up line. */
const sinceStart = () => performance.now() / 1000;
/** Where the start-up time went, printed before "ready". */
const phases: string[] = [`node and tsx ${sinceStart().toFixed(1)} s`];
const { values: flags } = parseArgs({
  options: {
    port: { type: "string", default: "3210" },
    host: { type: "string", default: "127.0.0.1" },
    seed: { type: "boolean", default: false },
    "no-seed": { type: "boolean", default: false },
    "seed-days": { type: "string", default: "30" },
    "seed-per-day": { type: "string", default: "360" },
    "seed-random": { type: "string", default: "1" },
    "no-live": { type: "boolean", default: false },
    data: { type: "string" },
    "no-build": { type: "boolean", default: false },
    store: { type: "string", default: "indexed" },
    "test-hooks": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(readHelp());
  process.exit(0);
}

function readHelp(): string {
  return `npm run demo -- [options]
  --port N          listen on N (default 3210; 0 picks a free port)
  --host H          listen on H (default 127.0.0.1)
  --seed            generate 30 days of synthetic traffic, then live traffic (on in npm run demo)
  --no-seed         start empty
  --seed-days N     days of history (default 30)
  --seed-per-day N  sessions per day, before weekly rhythm and trend (default 360)
  --seed-random N   random seed of the generator (default 1)
  --no-live         no live traffic after seeding
  --data FILE       load state from FILE on start, save it there on exit
  --no-build        do not (re)build the example page
  --store S         indexed (default) | stock: convex-test's database with or without dev/indexedStore.ts (see dev/README.md)
  --test-hooks      serve /_engine/ingest: a log of ingest requests and a switch that makes the route fail (for tests)`;
}

const int = (name: string, value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, got "${value}"`);
    process.exit(2);
  }
  return n;
};
const port = int("port", flags.port);
const seed = flags.seed && !flags["no-seed"];
const tty = process.stdout.isTTY;
const log = (line: string) => console.log(line);

/** Newest modification time of the page's sources, to rebuild only when they changed. */
function newest(paths: string[]): number {
  let t = 0;
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    else t = Math.max(t, s.mtimeMs);
  };
  paths.forEach(walk);
  return t;
}

/** Stands for the write key in the page built for the engine; the engine fills it in when it serves index.html. */
const KEY_MARK = "__ENGINE_WRITE_KEY__";

/** Builds the example page for the engine unless a build for it is newer than its sources; true if it built. */
async function buildPage(outDir: string): Promise<boolean> {
  const index = join(outDir, "index.html");
  const sources = newest([
    join(ROOT, "example", "src"),
    join(ROOT, "example", "public"),
    join(ROOT, "example", "index.html"),
    join(ROOT, "example", "vite.config.ts"),
    join(ROOT, "dev", "client.ts"),
    join(ROOT, "dev", "convexReact.ts"),
    join(ROOT, "src", "react"),
    join(ROOT, "src", "shared.ts"),
    join(ROOT, "src", "shared"),
  ]);
  const forEngine = existsSync(index) && readFileSync(index, "utf8").includes(KEY_MARK);
  if (forEngine && statSync(index).mtimeMs >= sources) return false;
  log("Building the example page (vite)...");
  // In a process of its own: vite's JavaScript (loading it, the bundler's plugins) then runs on
  // the other core instead of taking turns with the seed on this process's main thread.
  const vite = join(
    dirname(createRequire(import.meta.url).resolve("vite/package.json")),
    "bin",
    "vite.js",
  );
  const args = [
    vite,
    "build",
    "--config",
    join(ROOT, "example", "vite.config.ts"),
    "--logLevel",
    "warn",
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // Set here, these win over a .env.local written by `npx convex dev`: the page must talk to this engine.
    env: {
      ...process.env,
      VITE_CONVEX_URL: "",
      VITE_CONVEX_SITE_URL: "",
      VITE_ANALYTICS_KEY: KEY_MARK,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (code !== 0) throw new Error(`the page build (vite build) exited with ${code}`);
  return true;
}

function progressBar(done: number, total: number, at: number): void {
  const width = 28;
  const filled = Math.round((done / total) * width);
  const line = `Seeding [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}%  ${done}/${total} sessions  (${new Date(at).toISOString().slice(0, 10)})`;
  if (tty) process.stdout.write(`\r${line}`);
  else if (done === total || done % Math.max(1, Math.ceil(total / 10)) === 0) log(line);
}

/**
 * CPU seconds of the main thread alone (Linux: /proc), or null. On a busy machine
 * the wall time grows with the wait for a core; this is the part it cannot shrink
 * below, the rest (GC helpers, the page build) running on other cores.
 */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  // The example's facades require a signed-in user; the demo has no auth provider.
  process.env.ANALYTICS_DEV_OPEN = "1";
  const outDir = join(ROOT, "example", "dist");
  // The page builds while the engine starts and seeds: vite's bundler works on its own threads,
  // so on a machine with two cores it costs the start little.
  const building = flags["no-build"]
    ? Promise.resolve()
    : (async () => {
        const t = sinceStart();
        if (await buildPage(outDir))
          phases.push(`page build ${(sinceStart() - t).toFixed(1)} s alongside`);
      })();
  // Until it is awaited below, a failed build must not be an unhandled rejection.
  building.catch(() => {});

  const engineAt = sinceStart();
  const { Engine } = await import("./engine.js");
  const { startServer } = await import("./server.js");
  const { historyStart, seedHistory, trickle } = await import("./seed.js");
  const days = int("seed-days", flags["seed-days"]);
  const random = int("seed-random", flags["seed-random"]);
  // History goes only into an empty engine: a saved state already has its own past.
  const replay = seed && !(flags.data && existsSync(flags.data));
  if (seed && !replay)
    log(`${flags.data} exists: not replaying history into it; live traffic only.`);
  const store = flags.store;
  if (store !== "indexed" && store !== "stock")
    throw new Error(`--store must be indexed or stock, got "${store}"`);
  const engine = await Engine.start({
    dataFile: flags.data,
    log,
    startAt: replay ? historyStart(days) : undefined,
    store,
  });
  const { server, url } = await startServer({
    engine,
    host: flags.host,
    port,
    staticDir: outDir,
    htmlVars: { [KEY_MARK]: engine.writeKey },
    log,
    testHooks: flags["test-hooks"],
  });

  let stopLive: (() => void) | undefined;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log("Forced exit: state not saved.");
      process.exit(130);
    }
    stopping = true;
    log(`\n${signal}: stopping...`);
    stopLive?.();
    server.close();
    server.closeAllConnections();
    try {
      const saved = await engine.stop();
      if (saved) log(`Saved ${saved}.`);
      process.exit(0);
    } catch (e) {
      console.error(`Could not save: ${(e as Error).message}`);
      process.exit(1);
    }
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(signal, () => void shutdown(signal));

  if (replay && engine.store === "stock") {
    log(
      "Seeding on stock convex-test, whose every query scans the whole database: expect about two minutes (the default --store indexed gives the same results faster).",
    );
  }
  phases.push(`engine ${(sinceStart() - engineAt).toFixed(1)} s`);
  if (replay) {
    const t0 = realNow();
    let lastTickDay = Math.floor(Date.now() / 86_400_000);
    const totals = await seedHistory({
      baseUrl: url,
      // Handed to the app's router as the server hands it requests (same route, headers and request
      // metadata), without a socket and its keep-alive race in between.
      send: (path, init, client) => engine.fetch(path, init, client),
      writeKey: engine.writeKey,
      days,
      perDay: int("seed-per-day", flags["seed-per-day"]),
      random,
      advanceClock: (at) => engine.clock.advance(at),
      // The worker's loop runs on its own timer (every 5 s); a run in progress finishes before the next
      // batch. Crons that fell due run once per simulated day, as a cron that missed runs runs once on
      // Convex: it moves when rollups are compacted, not what they count.
      afterBatch: async () => {
        const day = Math.floor(Date.now() / 86_400_000);
        if (day === lastTickDay) return void (await engine.finishRunning());
        lastTickDay = day;
        await engine.tick();
      },
      onProgress: progressBar,
    });
    if (tty) process.stdout.write("\n");
    engine.clock.reset();
    await engine.tick();
    log(
      `Seeded ${totals.sessions} sessions, ${totals.pageviews} pageviews and ${totals.customEvents} custom events from ${totals.visitors} visitors over ${days} days, in ${((realNow() - t0) / 1000).toFixed(1)} s.`,
    );
    phases.push(`history ${((realNow() - t0) / 1000).toFixed(1)} s`);
  }
  await building;
  engine.startCrons();
  for (const f of engine.cronLoadErrors)
    log(
      `WARNING: ${f.componentPath === "" ? "example/convex" : `component "${f.componentPath}"`}: crons.ts failed to load, its crons will not run: ${f.error}`,
    );
  if (seed && !flags["no-live"])
    stopLive = trickle({
      baseUrl: url,
      writeKey: engine.writeKey,
      random,
      everyMs: [2_000, 6_000],
      log,
    });

  log("");
  log(
    `Local engine for example/convex (in memory${flags.data ? `, saved to ${flags.data} on exit` : ""}; ${engine.store === "indexed" ? `convex-test with the indexed store${engine.directSyscalls ? " and direct syscalls" : ""}` : "stock convex-test"}). Not a Convex deployment: see dev/README.md.`,
  );
  log(
    `ANALYTICS_DEV_OPEN=1 is set in this process: the analytics facades skip their sign-in check.`,
  );
  log(`  Example site:  ${url}/`);
  log(`  Dashboard:     ${url}/dashboard`);
  log(`  Ingest route:  POST ${url}/analytics/ingest   (write key ${engine.writeKey})`);
  if (flags["test-hooks"])
    log(
      `  Test hooks:    GET|POST ${url}/_engine/ingest   (ingest log; { fault: { status, retryAfter?, times? } | null })`,
    );
  log(
    `  Crons:         ${engine.cronJobs.length ? engine.cronJobs.map((j) => j.id).join(", ") : "none"}`,
  );
  const { user, system } = process.cpuUsage();
  const main = mainThreadCpuSeconds();
  log(
    `Start-up: ${phases.join(", ")}; ${((user + system) / 1e6).toFixed(1)} s of CPU${main === null ? "" : `, ${main.toFixed(1)} s of it on the main thread`}.`,
  );
  log(`ready in ${sinceStart().toFixed(1)}s: ${url}  (Ctrl-C to stop)`);
}

/** Set once a signal asks to stop: the shutdown then owns the exit (and the save). */
let stopping = false;

main().catch((e: unknown) => {
  // Stopping mid-seed makes the seeder's requests fail; the shutdown in progress decides the exit.
  if (stopping) return;
  const { message, cause } = e as Error;
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ECONNRESET, ...) is its cause.
  console.error(`\n${message}${cause instanceof Error ? ` (${cause.message})` : ""}`);
  process.exit(1);
});
