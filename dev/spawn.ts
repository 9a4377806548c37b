// Starts `dev/demo.ts` as its own process, as `npm run demo` does, for the
// integration and browser tests: a free port, the URL and write key it prints,
// and a clean stop (SIGTERM, which saves --data).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export type RunningEngine = {
  url: string;
  writeKey: string;
  process: ChildProcess;
  output: () => string;
  /** SIGTERM, then the exit code and everything printed. */
  stop: () => Promise<{ code: number | null; output: string }>;
};

/** Runs the engine CLI with `args` (plus --port 0); resolves when it prints "ready", rejects if it exits first. */
export async function startEngine(args: string[], timeoutMs = 90_000): Promise<RunningEngine> {
  const child = spawn(
    process.execPath,
    // The young generation's size as `npm run demo` sets it (package.json).
    ["--max-semi-space-size=64", "--import", "tsx", "dev/demo.ts", "--port", "0", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: "dev/tsconfig.json", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`engine not ready after ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const m = /^ready in [\d.]+s: (http:\/\/\S+)/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        Object.assign(new Error(`engine exited with ${code} before it was ready:\n${output}`), {
          code,
          output,
        }),
      );
    });
  });
  const writeKey = /write key (pk_\S+)\)/.exec(output)?.[1] ?? "";
  return {
    url: ready[1]!,
    writeKey,
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return { code: await exited, output };
    },
  };
}

/** Runs the engine CLI and waits for it to exit (for start-up failures). */
export async function runEngineToExit(
  args: string[],
): Promise<{ code: number | null; output: string }> {
  try {
    const engine = await startEngine(args);
    return await engine.stop();
  } catch (e) {
    const { code, output } = e as { code?: number | null; output?: string };
    if (output === undefined) throw e;
    return { code: code ?? null, output };
  }
}

/** Polls the engine until no batch waits for the worker and nothing scheduled is running. */
export async function waitForWorker(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await (await fetch(`${url}/_engine/status`)).json()) as {
      queuedBatches: number;
      running: number;
    };
    if (s.queuedBatches === 0 && s.running === 0) return;
    if (Date.now() > deadline) throw new Error(`the worker did not catch up: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The browser tests browse as a desktop Chrome: headless Chromium says
 * "HeadlessChrome" in its user agent, which the ingest route's bot filter drops
 * (counted, not stored). It is set on the command line because Playwright's
 * per-context override does not reach a beacon sent while a page navigates away.
 */
export const USER_AGENT =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
/** Debian's chromium, headless, with no background networking. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  `--user-agent=${USER_AGENT}`,
];

/** Runs a query through a running engine's bridge, as the page's client does; throws its error. */
export const queryThroughBridge = <T>(url: string, path: string, args: Record<string, unknown>) =>
  throughBridge<T>(url, "query", path, args);

/** Runs a mutation through a running engine's bridge (its facades are open: ANALYTICS_DEV_OPEN). */
export const mutationThroughBridge = <T>(
  url: string,
  path: string,
  args: Record<string, unknown>,
) => throughBridge<T>(url, "mutation", path, args);

async function throughBridge<T>(
  url: string,
  kind: "query" | "mutation",
  path: string,
  args: Record<string, unknown>,
): Promise<T> {
  const res = await fetch(`${url}/bridge/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ path, args }),
  });
  const reply = (await res.json()) as { status: string; value?: T; errorMessage?: string };
  if (reply.status !== "success") throw new Error(`${path}: ${reply.errorMessage}`);
  return reply.value as T;
}
