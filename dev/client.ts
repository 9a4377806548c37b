// A client for the local engine's bridge that ConvexProvider accepts: it
// implements what convex/react's useQuery, useMutation, useAction and
// useConvexConnectionState call on a ConvexReactClient (watchQuery with
// onUpdate/localQueryResult/journal, mutation, action, connectionState,
// subscribeToConnectionState). Queries are re-run when the engine announces a
// commit over Server-Sent Events, so pages update live. Used only by the example
// page and tests; a real deployment uses ConvexReactClient.
import { getFunctionName, type FunctionReference } from "convex/server";
import { ConvexError, convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";

type Args = Record<string, Value>;
type Result = { ok: true; value: Value } | { ok: false; error: Error };
type Entry = {
  name: string;
  args: Args;
  listeners: Set<() => void>;
  result?: Result;
  /** The JSON of the last result, to notify only on change. */
  json?: string;
  inflight: boolean;
  again: boolean;
};

export type ConnectionState = {
  hasInflightRequests: boolean;
  isWebSocketConnected: boolean;
  timeOfOldestInflightRequest: Date | null;
  hasEverConnected: boolean;
  connectionCount: number;
  connectionRetries: number;
  inflightMutations: number;
  inflightActions: number;
};

type Reply =
  | { status: "success"; value: JSONValue }
  | { status: "error"; errorMessage: string; errorData?: JSONValue };

export class LocalEngineClient {
  private readonly queries = new Map<string, Entry>();
  private readonly stateListeners = new Set<() => void>();
  private inflight = { mutations: 0, actions: 0, queries: 0, oldest: null as Date | null };
  private connected = false;
  private everConnected = false;
  private connections = 0;
  private retries = 0;
  private closed = false;
  private readonly abort = new AbortController();

  /** @param url - the engine's origin, e.g. "http://127.0.0.1:3210" (the page's own origin by default). */
  constructor(readonly url: string = globalThis.location.origin) {
    void this.listen();
  }

  /** What useQuery calls: a watch whose onUpdate subscribes and whose localQueryResult reads the cache. */
  watchQuery(query: FunctionReference<"query">, args: Args = {}) {
    const name = getFunctionName(query);
    const key = `${name}:${JSON.stringify(convexToJson(args))}`;
    return {
      onUpdate: (callback: () => void) => {
        let entry = this.queries.get(key);
        if (!entry) {
          entry = { name, args, listeners: new Set(), inflight: false, again: false };
          this.queries.set(key, entry);
          void this.refetch(entry);
        }
        entry.listeners.add(callback);
        return () => {
          entry.listeners.delete(callback);
          if (entry.listeners.size === 0) this.queries.delete(key);
        };
      },
      localQueryResult: (): Value | undefined => {
        const result = this.queries.get(key)?.result;
        if (!result) return undefined;
        if (!result.ok) throw result.error;
        return result.value;
      },
      localQueryLogs: () => undefined,
      journal: () => undefined,
    };
  }

  watchPaginatedQuery(): never {
    throw new Error("usePaginatedQuery is not supported by the local engine client");
  }

  /** Like ConvexReactClient.prewarmQuery: subscribe for a few seconds. */
  prewarmQuery({ query, args }: { query: FunctionReference<"query">; args?: Args }): void {
    const stop = this.watchQuery(query, args ?? {}).onUpdate(() => {});
    setTimeout(stop, 5_000);
  }

  /** A one-shot query. */
  async query(query: FunctionReference<"query">, args: Args = {}): Promise<Value> {
    return await this.call("query", getFunctionName(query), args);
  }

  /** Resolves after the queries this client watches reflect the mutation, as with Convex. */
  async mutation(mutation: FunctionReference<"mutation">, args: Args = {}): Promise<Value> {
    const value = await this.tracked("mutations", () =>
      this.call("mutation", getFunctionName(mutation), args),
    );
    await Promise.all([...this.queries.values()].map((e) => this.refetch(e)));
    return value;
  }

  async action(action: FunctionReference<"action">, args: Args = {}): Promise<Value> {
    return await this.tracked("actions", () => this.call("action", getFunctionName(action), args));
  }

  connectionState(): ConnectionState {
    const { mutations, actions, queries, oldest } = this.inflight;
    return {
      hasInflightRequests: mutations + actions + queries > 0,
      isWebSocketConnected: this.connected,
      timeOfOldestInflightRequest: oldest,
      hasEverConnected: this.everConnected,
      connectionCount: this.connections,
      connectionRetries: this.retries,
      inflightMutations: mutations,
      inflightActions: actions,
    };
  }

  subscribeToConnectionState(callback: () => void): () => void {
    this.stateListeners.add(callback);
    return () => this.stateListeners.delete(callback);
  }

  /** The local engine has no auth provider: its facades run with ANALYTICS_DEV_OPEN=1. */
  setAuth(): void {}
  clearAuth(): void {}

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
  }

  private notifyState(): void {
    for (const l of this.stateListeners) l();
  }

  private async tracked<T>(
    kind: "mutations" | "actions" | "queries",
    run: () => Promise<T>,
  ): Promise<T> {
    this.inflight[kind]++;
    this.inflight.oldest ??= new Date();
    this.notifyState();
    try {
      return await run();
    } finally {
      this.inflight[kind]--;
      if (this.inflight.mutations + this.inflight.actions + this.inflight.queries === 0)
        this.inflight.oldest = null;
      this.notifyState();
    }
  }

  private async call(
    kind: "query" | "mutation" | "action",
    path: string,
    args: Args,
  ): Promise<Value> {
    const res = await fetch(`${this.url}/bridge/${kind}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path, args: convexToJson(args) }),
    });
    const reply = (await res.json()) as Reply;
    if (reply.status === "success") return jsonToConvex(reply.value);
    if (reply.errorData !== undefined) {
      const error = new ConvexError(jsonToConvex(reply.errorData));
      error.message = reply.errorMessage;
      throw error;
    }
    throw new Error(reply.errorMessage);
  }

  /** Re-runs one watched query; a call that arrives while it runs makes it run once more after. */
  private async refetch(entry: Entry): Promise<void> {
    if (entry.inflight) {
      entry.again = true;
      return;
    }
    entry.inflight = true;
    try {
      do {
        entry.again = false;
        let result: Result;
        try {
          result = {
            ok: true,
            value: await this.tracked("queries", () => this.call("query", entry.name, entry.args)),
          };
        } catch (error) {
          result = { ok: false, error: error as Error };
        }
        const json = result.ok
          ? JSON.stringify(convexToJson(result.value))
          : `error:${result.error.message}`;
        if (json !== entry.json) {
          entry.json = json;
          entry.result = result;
          for (const l of entry.listeners) l();
        }
      } while (entry.again && !this.closed);
    } finally {
      entry.inflight = false;
    }
  }

  /** Server-Sent Events over fetch (works in browsers and in Node), reconnecting after a second. */
  private async listen(): Promise<void> {
    while (!this.closed) {
      try {
        const res = await fetch(`${this.url}/bridge/events`, {
          signal: this.abort.signal,
          headers: { Accept: "text/event-stream" },
        });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        this.connected = true;
        this.everConnected = true;
        this.connections++;
        this.notifyState();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) !== -1) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (/^event: invalidate$/m.test(message))
              for (const entry of this.queries.values()) void this.refetch(entry);
          }
        }
      } catch {
        if (this.closed) return;
        this.retries++;
      }
      this.connected = false;
      this.notifyState();
      if (!this.closed) await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
