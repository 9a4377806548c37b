// Saving and restoring the engine's whole state: every document of the app and
// of every component (system tables included), with their ids, so references
// between documents (sessions -> sites, BTree nodes -> children) survive a
// restart. A file that cannot be read back exactly is an error, never a reset.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { convexToJson, jsonToConvex, type JSONValue } from "convex/values";
import type { GenericDocument } from "convex/server";
import { tableOfId, type ConvexGlobal } from "./internals.js";

export const SNAPSHOT_FORMAT = "convex-event-analytics/dev-engine-snapshot";
export const SNAPSHOT_VERSION = 1;

type ComponentState = { nextDocId: number; lastCreationTime: number; documents: JSONValue[] };
export type Snapshot = {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  savedAt: string;
  lastCommitTs: string;
  /** What the engine itself must remember, e.g. the demo site's write key (stored only as a hash in the component). */
  engine: Record<string, JSONValue>;
  components: Record<string, ComponentState>;
};

export class SnapshotError extends Error {}

/** A consistent copy of every committed document: commits are synchronous, so one synchronous pass sees no half-commit. */
export function takeSnapshot(global: ConvexGlobal, engine: Record<string, JSONValue>): Snapshot {
  const components: Record<string, ComponentState> = {};
  for (const [path, { db }] of Object.entries(global.components)) {
    if (Object.keys(db._storage).length > 0)
      throw new SnapshotError(
        `component "${path}" uses file storage, which snapshots do not support`,
      );
    components[path] = {
      nextDocId: db._nextDocId,
      lastCreationTime: db._lastCreationTime,
      documents: Object.values(db._documents).map((doc) => convexToJson(doc as never)),
    };
  }
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    savedAt: new Date().toISOString(),
    lastCommitTs: global.transactionManager._lastCommitTs.toString(),
    engine,
    components,
  };
}

/** Writes atomically (temp file, then rename), so a crash mid-write never leaves half a file. */
export function writeSnapshot(file: string, snapshot: Snapshot): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(snapshot));
  renameSync(tmp, file);
}

/** Reads and checks a snapshot file; null when the file does not exist yet. Throws SnapshotError with the reason otherwise. */
export function readSnapshot(file: string): Snapshot | null {
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new SnapshotError(`it is not valid JSON (${(e as Error).message})`);
  }
  const s = parsed as Partial<Snapshot>;
  if (typeof s !== "object" || s === null || s.format !== SNAPSHOT_FORMAT)
    throw new SnapshotError(`it is not an engine snapshot (no "format": "${SNAPSHOT_FORMAT}")`);
  if (s.version !== SNAPSHOT_VERSION)
    throw new SnapshotError(
      `it has version ${String(s.version)}; this engine reads version ${SNAPSHOT_VERSION}`,
    );
  if (typeof s.components !== "object" || s.components === null)
    throw new SnapshotError(`it has no "components"`);
  if (typeof s.lastCommitTs !== "string" || !/^\d+$/.test(s.lastCommitTs))
    throw new SnapshotError(`"lastCommitTs" is missing or not an integer`);
  return { ...s, engine: s.engine ?? {} } as Snapshot;
}

/**
 * Loads a snapshot into a freshly created instance. Every document is checked
 * against its table's schema first, and nothing is changed unless all pass.
 */
export function restoreSnapshot(global: ConvexGlobal, snapshot: Snapshot): void {
  const have = Object.keys(global.components).sort();
  const want = Object.keys(snapshot.components).sort();
  if (have.join("|") !== want.join("|")) {
    throw new SnapshotError(
      `it holds components [${want.map((p) => JSON.stringify(p)).join(", ")}] but the app has [${have.map((p) => JSON.stringify(p)).join(", ")}]`,
    );
  }
  const loaded = new Map<
    string,
    { documents: Record<string, GenericDocument>; state: ComponentState }
  >();
  for (const [path, state] of Object.entries(snapshot.components)) {
    const where = path === "" ? "the app" : `component "${path}"`;
    if (
      !Number.isInteger(state?.nextDocId) ||
      typeof state.lastCreationTime !== "number" ||
      !Array.isArray(state.documents)
    ) {
      throw new SnapshotError(`${where} has a malformed header`);
    }
    const { db } = global.components[path]!;
    const documents: Record<string, GenericDocument> = {};
    for (const [i, json] of state.documents.entries()) {
      let doc: GenericDocument;
      try {
        doc = jsonToConvex(json) as GenericDocument;
      } catch (e) {
        throw new SnapshotError(`${where}, document #${i}: ${(e as Error).message}`);
      }
      const id = doc?._id;
      const table = typeof id === "string" ? tableOfId(id) : null;
      if (!table || typeof doc._creationTime !== "number")
        throw new SnapshotError(`${where}, document #${i} has no valid _id/_creationTime`);
      if (documents[id as string])
        throw new SnapshotError(`${where} has two documents with _id ${String(id)}`);
      // New ids count up from nextDocId; an id at or past it would be handed out again.
      if (Number.parseInt(id as string, 10) >= state.nextDocId)
        throw new SnapshotError(
          `${where}: _id ${String(id)} is not below nextDocId ${state.nextDocId}`,
        );
      if (!table.startsWith("_")) {
        const { _id, _creationTime, ...fields } = doc;
        try {
          db._validate(table, fields);
        } catch (e) {
          throw new SnapshotError(
            `${where}, ${table} document ${String(_id)} does not match the schema: ${(e as Error).message}`,
          );
        }
      }
      documents[id as string] = doc;
    }
    loaded.set(path, { documents, state });
  }
  for (const [path, { documents, state }] of loaded) {
    const { db } = global.components[path]!;
    db._documents = documents;
    db._nextDocId = state.nextDocId;
    db._lastCreationTime = state.lastCreationTime;
    // dev/indexedStore.ts notices the new _documents object and rebuilds its maps from it.
  }
  const ts = BigInt(snapshot.lastCommitTs);
  if (ts > global.transactionManager._lastCommitTs) global.transactionManager._lastCommitTs = ts;
}
