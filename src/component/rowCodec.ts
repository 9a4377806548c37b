// Compact binary encoding of rollup rows, stored in a `v.bytes()` field so a
// document's size (and a report's read) is bounded in bytes, not guessed from
// object shapes. Field names and type tags cost ~130 bytes a row in the object
// form; here a row with one visitor and small counters is ~19 bytes plus its
// key's UTF-8 (51 bytes for a 32-character path, against 174 as an object).
//
// Format, version 1 (all multi-byte fixed-width integers little-endian):
//
//   header (ENCODING_HEADER_BYTES = 9 bytes)
//     u8      version (1)
//     u32     CRC-32 (IEEE, as zlib) of every byte after this field
//     u32     row count (fixed width so the header is a constant: see rowByteLength)
//   rows, each:
//     u8      dimension, as its index in DIMENSIONS (so DIMENSIONS may only grow
//             at the end; reordering or removing one needs a new version)
//     varint  key length in UTF-8 bytes, then the UTF-8 bytes
//     zigzag  events, pageviews, entries, bounces, durationMs (in that order)
//     visitors, then persistent visitors (rows.ts), each a sketch:
//     u8      sketch tag: 0 sparse, 1 dense; for persistent visitors also 3:
//             the same set as visitors (every id persistent), nothing follows
//     sparse: varint count, then the first hash and each later hash minus the
//             one before it (>= 1, the set is sorted and unique), as varints
//     dense:  the 2^14 registers packed 6 bits each, four registers in three
//             bytes (r0 | r1 << 6 | r2 << 12 | r3 << 18, low byte first): 12,288 bytes
//   or, in counter rows (encodeCounterRows), instead of the two sketches:
//     u8      tag 2, then varint visitorCount and varint persistentCount: the
//             sketches' estimates, the sketches themselves stored elsewhere (canonical rollups keep counters and
//             sketches in separate pages, so a report reads sketches only for
//             the keys it shows)
//
// varint: unsigned LEB128 (7 bits a byte, low group first, high bit = more),
// minimal length, value <= 2^53 - 1, at most 8 bytes. zigzag: a signed integer n
// as the varint of 2n (n >= 0) or -2n - 1 (n < 0). Both are computed with
// arithmetic (bit operators only ever see parts below 2^28), so all safe integers
// (±(2^53 - 1)) survive; a zigzag value of a negative counter can exceed 2^53, so it is written
// from k = (n >= 0 ? n : -n - 1) as a first byte (2(k mod 64) + sign) and the
// varint of floor(k / 64), which is the same bytes as the textbook encoding.
//
// Decoding checks the version, the CRC, every length against the bytes left,
// varint minimality and range, dimension and tag values, UTF-8 validity, sparse
// order and register range, and that nothing trails the last row; anything else
// throws an Error starting "rowCodec:". It never returns a partial result.
//
// Edge cases the round trip does not preserve exactly (both are documented, not bugs):
// - A key with a lone (unpaired) UTF-16 surrogate is encoded as TextEncoder does,
//   with U+FFFD in its place, so it decodes to a different string.
// - A counter of -0 decodes as 0 (zigzag has one zero).
//
//
// This file is the row format; the visitor sketches inside a row are sketchCodec.ts,
// and the bytes under both (varints, zigzag, UTF-8, CRC-32, the Writer and Reader)
// are binary.ts.
import { DIMENSIONS, type Dimension } from "../shared.js";
import {
  crc32,
  fail,
  Reader,
  readU32,
  U8,
  utf8Length,
  varintLength,
  Writer,
  writeU32,
  zigzagLength,
} from "./binary.js";
import type { DeltaRow } from "./rows.js";
import { EMPTY_SKETCH } from "./sketch.js";
import {
  isEmptySketch,
  readSketch,
  sameSketch,
  sketchByteLength,
  TAG_COUNT,
  TAG_SAME,
  writeSketch,
} from "./sketchCodec.js";

// The checksum is part of the format: callers and tests take it from here, with the rest.
export { crc32 };

export const ENCODING_VERSION = 2;
/** Bytes an encoding has beyond its rows: version, CRC-32 and row count. */
export const ENCODING_HEADER_BYTES = 9;
/** The smallest possible row: dimension, empty key, five zero counters, tag and a count (counter rows). */
const MIN_ROW_BYTES = 1 + 1 + 5 + 1 + 1;

const DIMENSION_INDEX = new Map<string, number>(DIMENSIONS.map((d, i) => [d, i]));

// ---------------------------------------------------------------------------
// Row checks and lengths (shared by rowByteLength and the encoder)

type CounterName = "events" | "pageviews" | "entries" | "bounces" | "durationMs";

/** n (row[name], passed in so each call site reads one fixed property) if it is a safe integer. */
type RowHead = Omit<DeltaRow, "visitors">;

function checkCounter(n: number, row: RowHead, name: CounterName): number {
  if (!Number.isSafeInteger(n)) {
    fail(
      `row ${describeRow(row)}: ${name} is ${String(n)}, not a safe integer (counters must be integers within ±(2^53 - 1))`,
    );
  }
  return n;
}

function describeRow(row: RowHead): string {
  const key =
    typeof row.key === "string" && row.key.length > 60 ? `${row.key.slice(0, 60)}…` : row.key;
  return `(${String(row.dimension)}, ${JSON.stringify(key)})`;
}

function checkKey(row: RowHead): string {
  if (typeof row.key !== "string")
    fail(`row ${describeRow(row)}: key is ${typeof row.key}, not a string`);
  return row.key;
}

function dimensionIndex(row: RowHead): number {
  const index = DIMENSION_INDEX.get(row.dimension);
  if (index === undefined)
    fail(`row ${describeRow(row)}: unknown dimension ${JSON.stringify(row.dimension)}`);
  return index;
}

/**
 * Exactly the bytes this row adds to an encoding: for any rows,
 * ENCODING_HEADER_BYTES + the sum of rowByteLength equals encodeRows(rows).byteLength,
 * so a caller can stop adding rows before a document passes its byte budget.
 * Throws on a row encodeRows would reject.
 */
export function rowByteLength(row: DeltaRow): number {
  const persistent = row.persistent ?? EMPTY_SKETCH;
  return (
    headByteLength(row) +
    sketchByteLength(row.visitors) +
    (sameSketch(persistent, row.visitors) ? 1 : sketchByteLength(persistent))
  );
}

/** rowByteLength for a counter row (encodeCounterRows). */
export function counterRowByteLength(row: CounterRow): number {
  return (
    headByteLength(row) + 1 + varintLength(row.visitorCount) + varintLength(row.persistentCount)
  );
}

function headByteLength(row: RowHead): number {
  dimensionIndex(row);
  const keyBytes = utf8Length(checkKey(row));
  let bytes = 1 + varintLength(keyBytes) + keyBytes;
  bytes += zigzagLength(checkCounter(row.events, row, "events"));
  bytes += zigzagLength(checkCounter(row.pageviews, row, "pageviews"));
  bytes += zigzagLength(checkCounter(row.entries, row, "entries"));
  bytes += zigzagLength(checkCounter(row.bounces, row, "bounces"));
  bytes += zigzagLength(checkCounter(row.durationMs, row, "durationMs"));
  return bytes;
}

// ---------------------------------------------------------------------------
// Rows

/** Encodes rows, in order, as one buffer for a `v.bytes()` field. Throws on a row it cannot represent exactly. */
export function encodeRows(rows: readonly DeltaRow[]): ArrayBuffer {
  return encode(rows, (w, row) => {
    writeSketch(w, row.visitors);
    const persistent = row.persistent ?? EMPTY_SKETCH;
    if (!sameSketch(persistent, row.visitors)) return writeSketch(w, persistent);
    w.ensure(1);
    w.bytes[w.pos++] = TAG_SAME;
  });
}

/** A row with its sketches' estimates instead of the sketches: what a report ranks keys by. */
export type CounterRow = RowHead & { visitorCount: number; persistentCount: number };

/** Encodes counter rows (tag 2 in place of each sketch). Throws on a row it cannot represent exactly. */
export function encodeCounterRows(rows: readonly CounterRow[]): ArrayBuffer {
  return encode(rows, (w, row) => {
    for (const n of [row.visitorCount, row.persistentCount])
      if (!Number.isSafeInteger(n) || n < 0)
        fail(`row ${describeRow(row)}: a visitor count is ${String(n)}, not a count`);
    w.ensure(17);
    w.bytes[w.pos++] = TAG_COUNT;
    w.varint(row.visitorCount);
    w.varint(row.persistentCount);
  });
}

function encode<R extends RowHead>(
  rows: readonly R[],
  writeVisitors: (w: Writer, row: R) => void,
): ArrayBuffer {
  const w = new Writer(ENCODING_HEADER_BYTES + 40 * rows.length);
  w.pos = ENCODING_HEADER_BYTES;
  for (const row of rows) {
    const dimension = dimensionIndex(row);
    const key = checkKey(row);
    const events = checkCounter(row.events, row, "events");
    const pageviews = checkCounter(row.pageviews, row, "pageviews");
    const entries = checkCounter(row.entries, row, "entries");
    const bounces = checkCounter(row.bounces, row, "bounces");
    const durationMs = checkCounter(row.durationMs, row, "durationMs");
    w.ensure(1);
    w.bytes[w.pos++] = dimension;
    w.string(key);
    w.ensure(40);
    w.zigzag(events);
    w.zigzag(pageviews);
    w.zigzag(entries);
    w.zigzag(bounces);
    w.zigzag(durationMs);
    writeVisitors(w, row);
  }
  const b = w.bytes;
  b[0] = ENCODING_VERSION;
  writeU32(b, 5, rows.length);
  writeU32(b, 1, crc32(b, 5, w.pos));
  return b.buffer.slice(0, w.pos) as ArrayBuffer;
}

/**
 * Decodes a buffer written by encodeRows: the same rows in the same order (dense
 * sketches as fresh 16,384-byte ArrayBuffers). Throws an Error starting
 * "rowCodec:" on an unknown version or a truncated or corrupt buffer.
 */
export function decodeRows(buffer: ArrayBuffer): DeltaRow[] {
  return decode(buffer, "decodeRows", (r, row) => {
    const visitors = readSketch(r);
    const persistent =
      r.bytes[r.pos] === TAG_SAME && r.left > 0 ? (r.pos++, visitors) : readSketch(r);
    // Absent when empty, as rows.ts builds rows.
    return { ...row, visitors, ...(isEmptySketch(persistent) ? {} : { persistent }) };
  });
}

/** Decodes a buffer written by encodeCounterRows; throws as decodeRows does, and on a row with a sketch. */
export function decodeCounterRows(buffer: ArrayBuffer): CounterRow[] {
  return decode(buffer, "decodeCounterRows", (r, row) => {
    const tag = r.byte("visitors tag");
    if (tag !== TAG_COUNT)
      r.fail("corrupt", "visitors tag", `is ${tag}, not a counter row's count tag`, r.pos - 1);
    const visitorCount = r.varint("visitor count");
    return { ...row, visitorCount, persistentCount: r.varint("persistent visitor count") };
  });
}

function decode<R>(
  buffer: ArrayBuffer,
  name: string,
  readVisitors: (r: Reader, row: RowHead) => R,
): R[] {
  if (Object.prototype.toString.call(buffer) !== "[object ArrayBuffer]") {
    fail(
      `${name} takes an ArrayBuffer (a v.bytes() value), not ${Object.prototype.toString.call(buffer)}`,
    );
  }
  const bytes = new U8(buffer);
  if (bytes.length === 0) fail("truncated: empty buffer (no version byte)");
  const version = bytes[0]!;
  if (version !== ENCODING_VERSION) {
    fail(`unknown encoding version ${version} (this code reads version ${ENCODING_VERSION})`);
  }
  if (bytes.length < ENCODING_HEADER_BYTES) {
    fail(`truncated: ${bytes.length} bytes, shorter than the ${ENCODING_HEADER_BYTES}-byte header`);
  }
  const expected = readU32(bytes, 1);
  const actual = crc32(bytes, 5, bytes.length);
  if (expected !== actual) {
    fail(
      `corrupt or truncated: CRC-32 is ${hex(actual)} but the header says ${hex(expected)} (${bytes.length} bytes)`,
    );
  }
  const count = readU32(bytes, 5);
  const r = new Reader(bytes, ENCODING_HEADER_BYTES);
  if (count > r.left / MIN_ROW_BYTES)
    fail(`truncated: header says ${count} rows but only ${r.left} bytes follow`);
  const rows: R[] = [];
  for (let i = 0; i < count; i++) {
    r.row = i;
    const d = r.byte("dimension");
    const dimension: Dimension | undefined = DIMENSIONS[d];
    if (dimension === undefined)
      r.fail(
        "corrupt",
        "dimension",
        `is index ${d}, past the ${DIMENSIONS.length} known`,
        r.pos - 1,
      );
    const key = r.key();
    const events = r.zigzag("events");
    const pageviews = r.zigzag("pageviews");
    const entries = r.zigzag("entries");
    const bounces = r.zigzag("bounces");
    const durationMs = r.zigzag("durationMs");
    rows.push(readVisitors(r, { dimension, key, events, pageviews, entries, bounces, durationMs }));
  }
  if (r.left !== 0) fail(`corrupt: ${r.left} bytes after the last of ${count} rows`);
  return rows;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
