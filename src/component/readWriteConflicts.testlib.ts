// Convex's OCC conflict rule over recorded read and write sets (invariant I9): a write
// conflicts with a read when it lands at a document the read fetched, in a table the
// read counted or searched, or (with either its before- or its after-image) in the part
// of an index range the read actually covered. Kept apart from the recorder
// (readWriteSets.testlib.ts, which re-exports all of this) because the rule is pure:
// it needs only the recorded sets and a schema for the index fields, no syscalls.
import type { GenericSchema, SchemaDefinition } from "convex/server";
import { compareValues, type Value } from "convex/values";
import type {
  Key,
  RangeRead,
  Read,
  SchemaLike,
  SchemaMap,
  Transaction,
  Write,
} from "./readWriteSets.testlib.js";
import type { Doc } from "./syscalls.testlib.js";

export interface Conflict {
  read: Read;
  write: Write;
  /** Which image of the written document fell in the read: the old one or the new one. */
  image: "before" | "after";
}

/** Whether any write of `writer` lands in a range or at a document that `reader` read. */
export function conflicts(reader: Transaction, writer: Transaction, schema: SchemaLike): boolean {
  return findConflicts(reader, writer, schema).length > 0;
}

/** Every (read, write) pair behind `conflicts`, for messages. */
export function findConflicts(
  reader: Transaction,
  writer: Transaction,
  schema: SchemaLike,
): Conflict[] {
  const out: Conflict[] = [];
  for (const read of reader.reads) {
    for (const write of writer.writes) {
      if (write.component !== read.component || write.table !== read.table) continue;
      if (read.kind === "table") out.push({ read, write, image: write.after ? "after" : "before" });
      else if (read.kind === "get") {
        if (read.id === write.id)
          out.push({ read, write, image: write.after ? "after" : "before" });
      } else {
        const fields = indexFields(schemaFor(schema, read.component), read.table, read.index);
        for (const image of ["before", "after"] as const) {
          const doc = write[image];
          if (doc !== null && rangeContains(read, fields, doc)) {
            out.push({ read, write, image });
            break;
          }
        }
      }
    }
  }
  return out;
}

/** Whether `doc` lies in the part of the index range that `read` actually read. */
export function rangeContains(read: RangeRead, fields: string[], doc: Doc): boolean {
  if (read.empty) return false;
  for (const b of read.bounds) {
    const c = compareValues(fieldValue(doc, b.field), b.value);
    const ok =
      b.op === "eq"
        ? c === 0
        : b.op === "gt"
          ? c > 0
          : b.op === "gte"
            ? c >= 0
            : b.op === "lt"
              ? c < 0
              : c <= 0;
    if (!ok) return false;
  }
  const key = fields.map((f) => fieldValue(doc, f));
  const sign = read.order === "asc" ? 1 : -1;
  if (read.after && sign * compareKeys(key, read.after) <= 0) return false;
  if (read.through) {
    const through = Array.isArray(read.through)
      ? read.through
      : fields.map((f) => fieldValue(read.through as Doc, f));
    if (sign * compareKeys(key, through) > 0) return false;
  }
  return true;
}

function compareKeys(a: Key, b: Key): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function fieldValue(doc: Doc, path: string): Value | undefined {
  let v: Value | undefined = doc;
  for (const part of path.split(".")) {
    v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Doc)[part] : undefined;
  }
  return v;
}

function schemaFor(
  schema: SchemaLike,
  component: string,
): SchemaDefinition<GenericSchema, boolean> {
  if ("tables" in schema && "schemaValidation" in schema) {
    return schema as SchemaDefinition<GenericSchema, boolean>;
  }
  const found = (schema as SchemaMap)[component];
  if (!found) throw new Error(`No schema given for component "${component}"`);
  return found;
}

/** An index's descriptor and fields as the schema defines them; none for an unknown table. */
export function tableIndexes(
  schema: SchemaDefinition<GenericSchema, boolean>,
  table: string,
): { indexDescriptor: string; fields: string[] }[] {
  const def = schema.tables[table] as unknown as
    { export(): { indexes: { indexDescriptor: string; fields: string[] }[] } } | undefined;
  return def?.export().indexes ?? [];
}

/** An index's key fields as Convex orders its entries: its fields, `_creationTime`, `_id`. */
export function indexFields(
  schema: SchemaDefinition<GenericSchema, boolean>,
  table: string,
  index: string,
): string[] {
  if (index === "by_id") return ["_id"];
  if (index === "by_creation_time") return ["_creationTime", "_id"];
  const found = tableIndexes(schema, table).find((i) => i.indexDescriptor === index);
  if (!found) throw new Error(`Index ${table}.${index} is not in the schema`);
  return [...found.fields, "_creationTime", "_id"];
}
