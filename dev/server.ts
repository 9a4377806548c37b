// The engine's one HTTP server:
//   POST /bridge/query|mutation|action   call a public function of the app
//   GET  /bridge/events                  Server-Sent Events: "invalidate" after commits
//   GET  /_engine/status                 queue lengths, for tests and tools waiting on the worker
//   GET|POST /_engine/ingest             with --test-hooks only: the log of ingest requests, and a
//                                        switch that makes the ingest route fail (503, 429, dropped)
//   the app's http.ts routes             e.g. POST/OPTIONS /analytics/ingest, as on .convex.site
//   everything else (GET)                the built example page (example/dist), SPA fallback
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";
import { realNow } from "./clock.js";
import { NotCallableError, type Engine, type FunctionKind } from "./engine.js";

export type ServerOptions = {
  engine: Engine;
  host: string;
  port: number;
  /** The built example page; when missing, "/" explains how to build it. */
  staticDir: string;
  /** Literal strings replaced in index.html, e.g. the write key the page's analytics script tag uses. */
  htmlVars: Record<string, string>;
  log?: (line: string) => void;
  /** Serve /_engine/ingest (the ingest log and the failure switch), for the browser tests. */
  testHooks?: boolean;
};

/**
 * What the ingest route answers instead of running, while set: `status` 0
 * drops the connection (a network error, as from a server that is down);
 * `retryAfter` (seconds) adds a Retry-After header; `times` ends it after that
 * many requests (forever when absent).
 */
export type IngestFault = { status: number; retryAfter?: number; times?: number };

/** One POST to the ingest route, as the test hooks log it. */
export type IngestLogEntry = {
  /** Real time the request arrived (ms). */
  at: number;
  batchId: string | null;
  events: number;
  /** The status sent, 0 for a dropped connection. */
  status: number;
  /** Set when the route ran: whether it found the batchId already ingested. */
  duplicate?: boolean;
  userAgent: string | null;
  /** The route's answer, when it ran: events stored (0 for a bot, which is counted and dropped). */
  accepted?: number;
  /** "no-cors" for navigator.sendBeacon with a text/plain body, "cors"/"same-origin" for fetch. */
  mode: string | null;
  /** Whether the switch answered instead of the route. */
  faulted: boolean;
};

/** The test hooks' state: one per server. */
class IngestHooks {
  fault: IngestFault | null = null;
  readonly log: IngestLogEntry[] = [];

  /** Takes one use of the switch: the fault to answer with, or null to run the route. */
  take(): IngestFault | null {
    const fault = this.fault;
    if (fault?.times !== undefined && --fault.times <= 0) this.fault = null;
    return fault;
  }

  record(entry: IngestLogEntry): void {
    this.log.push(entry);
    if (this.log.length > 10_000) this.log.shift();
  }
}

/** The batch id and event count of an ingest body, as far as it parses. */
function describeBody(body: Uint8Array | undefined): { batchId: string | null; events: number } {
  try {
    const parsed = JSON.parse(Buffer.from(body ?? []).toString("utf8")) as {
      batchId?: unknown;
      events?: unknown;
    };
    return {
      batchId: typeof parsed.batchId === "string" ? parsed.batchId : null,
      events: Array.isArray(parsed.events) ? parsed.events.length : 0,
    };
  } catch {
    return { batchId: null, events: 0 };
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host"]);
const MAX_BRIDGE_BODY = 8 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error("body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
}

/** Same response shape as Convex's HTTP API (/api/query etc.): { status, value } or { status, errorMessage, errorData }. */
async function bridgeCall(
  engine: Engine,
  kind: FunctionKind,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let path: string;
  let args: Record<string, Value>;
  try {
    const body = JSON.parse((await readBody(req, MAX_BRIDGE_BODY)).toString("utf8")) as {
      path?: unknown;
      args?: JSONValue;
    };
    if (typeof body.path !== "string") throw new Error("path must be a string");
    path = body.path;
    args = (body.args === undefined ? {} : jsonToConvex(body.args)) as Record<string, Value>;
  } catch (e) {
    return sendJson(res, 400, {
      status: "error",
      errorMessage: `Bad bridge request: ${(e as Error).message}`,
    });
  }
  try {
    const value = await engine.call(kind, path, args);
    sendJson(res, 200, { status: "success", value: convexToJson(value) });
  } catch (e) {
    if (e instanceof NotCallableError)
      return sendJson(res, 404, { status: "error", errorMessage: e.message });
    const data = (e as { data?: Value }).data;
    sendJson(res, 200, {
      status: "error",
      errorMessage: (e as Error).message,
      ...(data !== undefined ? { errorData: convexToJson(data) } : {}),
    });
  }
}

function events(engine: Engine, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
  });
  // The current version first, so a reconnecting client refetches what it missed.
  res.write(
    `retry: 1000\nevent: invalidate\ndata: ${JSON.stringify({ version: engine.currentVersion })}\n\n`,
  );
  const unsubscribe = engine.subscribe((version) =>
    res.write(`event: invalidate\ndata: ${JSON.stringify({ version })}\n\n`),
  );
  const heartbeat = setInterval(() => res.write(": ping\n\n"), 15_000);
  req.on("close", () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

async function appRoute(
  engine: Engine,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  hooks: IngestHooks | null,
): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? "GET";
  const body =
    method === "GET" || method === "HEAD" ? undefined : new Uint8Array(await readBody(req));
  const ingest = hooks && method === "POST" && url.pathname.endsWith("/ingest");
  const entry = ingest
    ? {
        at: realNow(),
        ...describeBody(body),
        mode: req.headers["sec-fetch-mode"]?.toString() ?? null,
        userAgent: req.headers["user-agent"] ?? null,
      }
    : null;
  const fault = ingest ? hooks.take() : null;
  if (hooks && entry && fault) {
    hooks.record({ ...entry, status: fault.status, faulted: true });
    if (fault.status === 0) return void req.socket.destroy();
    // With the real route's CORS headers, so a cross-origin tracker can read Retry-After.
    res.writeHead(fault.status, {
      "Content-Type": "application/json",
      "Access-Control-Allow-Origin": "*",
      "Access-Control-Expose-Headers": "Retry-After",
      ...(fault.retryAfter !== undefined ? { "Retry-After": String(fault.retryAfter) } : {}),
    });
    return void res.end(
      JSON.stringify({
        error: { code: "unavailable", message: "failing on purpose (/_engine/ingest)" },
      }),
    );
  }
  // As the deployment would: the client's address and user agent as request metadata, for the
  // cookieless visitor hash (never stored). This local stand-in for Convex's edge takes the address
  // from X-Forwarded-For when one is sent (the seeder plays many visitors from one socket).
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  const client = {
    ip: forwarded || (req.socket.remoteAddress ?? null),
    userAgent: req.headers["user-agent"] ?? null,
  };
  const response = await engine.fetch(url.pathname + url.search, { method, headers, body }, client);
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => (out[name] = value));
  const bytes = Buffer.from(await response.arrayBuffer());
  if (hooks && entry) {
    let answer: { duplicate?: boolean; accepted?: number } = {};
    try {
      answer = JSON.parse(bytes.toString("utf8")) as typeof answer;
    } catch {
      // not JSON: nothing to note
    }
    hooks.record({
      ...entry,
      status: response.status,
      faulted: false,
      ...(typeof answer.duplicate === "boolean" ? { duplicate: answer.duplicate } : {}),
      ...(typeof answer.accepted === "number" ? { accepted: answer.accepted } : {}),
    });
  }
  res.writeHead(response.status, out);
  res.end(method === "HEAD" ? undefined : bytes);
}

/** GET: { fault, log }; POST { fault: IngestFault | null }: sets or clears the switch. */
async function ingestHooks(
  hooks: IngestHooks,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method === "POST") {
    const { fault } = JSON.parse((await readBody(req, 64 * 1024)).toString("utf8")) as {
      fault?: IngestFault | null;
    };
    if (fault !== null && (typeof fault !== "object" || !Number.isInteger(fault.status)))
      return sendJson(res, 400, { error: "fault must be null or { status, retryAfter?, times? }" });
    hooks.fault = fault;
  }
  sendJson(res, 200, { fault: hooks.fault, log: hooks.log });
}

function staticFile(options: ServerOptions, url: URL, res: ServerResponse): void {
  const index = join(options.staticDir, "index.html");
  if (!existsSync(index)) {
    res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(
      "The example page is not built: run `npm run build:example` (npm run demo does it for you).\n",
    );
    return;
  }
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(options.staticDir, rel);
  const isFile = file.startsWith(options.staticDir) && existsSync(file) && statSync(file).isFile();
  if (!isFile) {
    // Paths with an extension are missing assets; anything else is a client-side route.
    if (extname(rel)) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("Not found\n");
      return;
    }
    file = index;
  }
  let body: Buffer | string = readFileSync(file);
  if (file === index) {
    body = body.toString("utf8");
    for (const [name, value] of Object.entries(options.htmlVars))
      body = body.replaceAll(name, value);
  }
  const immutable = rel.startsWith("/assets/");
  res.writeHead(200, {
    "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
    "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
  });
  res.end(body);
}

export async function startServer(
  options: ServerOptions,
): Promise<{ server: Server; url: string }> {
  const { engine } = options;
  const hooks = options.testHooks ? new IngestHooks() : null;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const handle = async () => {
      const bridge = /^\/bridge\/(query|mutation|action)$/.exec(url.pathname);
      if (bridge && method === "POST")
        return await bridgeCall(engine, bridge[1] as FunctionKind, req, res);
      if (url.pathname === "/bridge/events" && method === "GET") return events(engine, req, res);
      if (url.pathname === "/_engine/status" && method === "GET")
        return sendJson(res, 200, engine.status());
      if (hooks && url.pathname === "/_engine/ingest" && (method === "GET" || method === "POST"))
        return await ingestHooks(hooks, req, res);
      if (engine.routes(url.pathname, method)) return await appRoute(engine, url, req, res, hooks);
      if (method === "GET" || method === "HEAD") return staticFile(options, url, res);
      sendJson(res, 404, { error: `No route for ${method} ${url.pathname}` });
    };
    handle().catch((e: unknown) => {
      options.log?.(`${method} ${url.pathname} failed: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { error: "engine error" });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new Error(
              `${options.host}:${options.port} is already in use: pick another port with --port N (0 picks a free one)`,
            )
          : e,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  // The engine runs functions on this event loop, so a long worker or compaction
  // step can hold it for seconds. With Node's default 5 s keep-alive, an idle
  // socket's timer then fires just as a client reuses the socket, and the
  // request dies with ECONNRESET (seen when seeding on a loaded machine).
  server.keepAliveTimeout = 120_000;
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { server, url: `http://${options.host}:${port}` };
}
