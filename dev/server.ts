// The engine's one HTTP server:
//   POST /bridge/query|mutation|action   call a public function of the app
//   GET  /bridge/events                  Server-Sent Events: "invalidate" after commits
//   GET  /_engine/status                 queue lengths, for tests and tools waiting on the worker
//   the app's http.ts routes             e.g. POST/OPTIONS /analytics/ingest, as on .convex.site
//   everything else (GET)                the built example page (example/dist), SPA fallback
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";
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
};

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
async function bridgeCall(engine: Engine, kind: FunctionKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let path: string;
  let args: Record<string, Value>;
  try {
    const body = JSON.parse((await readBody(req, MAX_BRIDGE_BODY)).toString("utf8")) as { path?: unknown; args?: JSONValue };
    if (typeof body.path !== "string") throw new Error("path must be a string");
    path = body.path;
    args = (body.args === undefined ? {} : jsonToConvex(body.args)) as Record<string, Value>;
  } catch (e) {
    return sendJson(res, 400, { status: "error", errorMessage: `Bad bridge request: ${(e as Error).message}` });
  }
  try {
    const value = await engine.call(kind, path, args);
    sendJson(res, 200, { status: "success", value: convexToJson(value) });
  } catch (e) {
    if (e instanceof NotCallableError) return sendJson(res, 404, { status: "error", errorMessage: e.message });
    const data = (e as { data?: Value }).data;
    sendJson(res, 200, { status: "error", errorMessage: (e as Error).message, ...(data !== undefined ? { errorData: convexToJson(data) } : {}) });
  }
}

function events(engine: Engine, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
  // The current version first, so a reconnecting client refetches what it missed.
  res.write(`retry: 1000\nevent: invalidate\ndata: ${JSON.stringify({ version: engine.currentVersion })}\n\n`);
  const unsubscribe = engine.subscribe((version) => res.write(`event: invalidate\ndata: ${JSON.stringify({ version })}\n\n`));
  const heartbeat = setInterval(() => res.write(": ping\n\n"), 15_000);
  req.on("close", () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}

async function appRoute(engine: Engine, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  // As the deployment's edge would: the client address, for the cookieless visitor hash (never stored).
  if (!headers.has("x-forwarded-for") && req.socket.remoteAddress) headers.set("x-forwarded-for", req.socket.remoteAddress);
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : new Uint8Array(await readBody(req));
  const response = await engine.fetch(url.pathname + url.search, { method, headers, body });
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => (out[name] = value));
  res.writeHead(response.status, out);
  res.end(method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
}

function staticFile(options: ServerOptions, url: URL, res: ServerResponse): void {
  const index = join(options.staticDir, "index.html");
  if (!existsSync(index)) {
    res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("The example page is not built: run `npm run build:example` (npm run demo does it for you).\n");
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
    for (const [name, value] of Object.entries(options.htmlVars)) body = body.replaceAll(name, value);
  }
  const immutable = rel.startsWith("/assets/");
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache" });
  res.end(body);
}

export async function startServer(options: ServerOptions): Promise<{ server: Server; url: string }> {
  const { engine } = options;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const handle = async () => {
      const bridge = /^\/bridge\/(query|mutation|action)$/.exec(url.pathname);
      if (bridge && method === "POST") return await bridgeCall(engine, bridge[1] as FunctionKind, req, res);
      if (url.pathname === "/bridge/events" && method === "GET") return events(engine, req, res);
      if (url.pathname === "/_engine/status" && method === "GET") return sendJson(res, 200, engine.status());
      if (engine.routes(url.pathname, method)) return await appRoute(engine, url, req, res);
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
      reject(e.code === "EADDRINUSE" ? new Error(`${options.host}:${options.port} is already in use: pick another port with --port N (0 picks a free one)`) : e),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return { server, url: `http://${options.host}:${port}` };
}
