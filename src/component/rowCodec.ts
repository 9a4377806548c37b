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
// This file is the row format; the bytes under it (varints, zigzag, UTF-8, CRC-32,
// the Writer and Reader) are binary.ts.
import { DIMENSIONS, type Dimension } from "../shared.js";
import {
  AB,
  crc32,
  fail,
  MAX_SAFE,
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
import { EMPTY_SKETCH, type Sketch } from "./sketch.js";

const isEmpty = (s: Sketch) => "sparse" in s && s.sparse.length === 0;

/** Whether two sketches hold the same set (a site whose ids are all persistent has persistent === visitors). */
function sameSketch(a: Sketch, b: Sketch): boolean {
  if (a === b) return true;
  if ("sparse" in a) {
    if (!("sparse" in b) || a.sparse.length !== b.sparse.length) return false;
    return a.sparse.every((h, i) => h === b.sparse[i]);
  }
  if ("sparse" in b || a.dense.byteLength !== b.dense.byteLength) return false;
  const x = new U8(a.dense);
  const y = new U8(b.dense);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// The checksum is part of the format: callers and tests take it from here, with the rest.
export { crc32 };

export const ENCODING_VERSION = 2;
/** Bytes an encoding has beyond its rows: version, CRC-32 and row count. */
export const ENCODING_HEADER_BYTES = 9;

const TAG_SPARSE = 0;
const TAG_DENSE = 1;
const TAG_COUNT = 2;
const TAG_SAME = 3;
/** Registers in a dense sketch (2^14, as sketch.ts) and the largest value one holds (53 - 14 + 1). */
const REGISTERS = 1 << 14;
const MAX_REGISTER = 40;
const PACKED_REGISTER_BYTES = (REGISTERS / 4) * 3;
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

function checkHash(h: number, previous: number): void {
  if (!(h > previous) || !Number.isSafeInteger(h)) {
    fail(
      Number.isSafeInteger(h) && h >= 0
        ? `sparse sketch is not sorted and unique (${h} after ${previous})`
        : `sparse sketch holds ${String(h)}, not an integer in [0, 2^53)`,
    );
  }
}

function denseRegisters(s: { dense: ArrayBuffer }): Uint8Array {
  const registers = new U8(s.dense);
  if (registers.length !== REGISTERS)
    fail(`dense sketch has ${registers.length} bytes, not ${REGISTERS}`);
  return registers;
}

/** Bytes the sketch takes in an encoding (tag included). Throws on a sketch encodeRows would reject. */
export function sketchByteLength(s: Sketch): number {
  if ("dense" in s) {
    denseRegisters(s);
    return 1 + PACKED_REGISTER_BYTES;
  }
  const hashes = s.sparse;
  let bytes = 1 + varintLength(hashes.length);
  let previous = -1;
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i]!;
    checkHash(h, previous);
    bytes += varintLength(previous < 0 ? h : h - previous);
    previous = h;
  }
  return bytes;
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
// Sketches: sparse hashes as deltas, dense registers packed 6 bits each

/** The sketch, tagged, as the format notes lay it out. */
function writeSketch(w: Writer, s: Sketch): void {
  if ("dense" in s) {
    const r = denseRegisters(s);
    w.ensure(1 + PACKED_REGISTER_BYTES);
    w.bytes[w.pos] = TAG_DENSE;
    const bad = packRegisters(r, w.bytes, w.pos + 1);
    if (bad >= 0) fail(`dense sketch register ${bad} is ${r[bad]}, above ${MAX_REGISTER}`);
    w.pos += 1 + PACKED_REGISTER_BYTES;
    return;
  }
  const hashes = s.sparse;
  const n = hashes.length;
  w.ensure(1 + 8 + 8 * n);
  w.bytes[w.pos++] = TAG_SPARSE;
  w.varint(n);
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const h = hashes[i]!;
    checkHash(h, previous);
    w.varint(previous < 0 ? h : h - previous);
    previous = h;
  }
}

/** A sketch as writeSketch wrote it; throws (naming the row) on anything else. */
function readSketch(r: Reader): Sketch {
  const tag = r.byte("visitors tag");
  if (tag === TAG_SPARSE) {
    const n = r.varint("visitors count");
    // Every hash takes at least a byte: refuse a count the buffer cannot hold before allocating.
    if (n > r.left)
      r.fail("truncated", "visitors", `claims ${n} hashes but ${r.left} bytes are left`);
    const sparse: number[] = [];
    if (n === 0) return { sparse };
    let h = r.varint("visitors hash");
    sparse.push(h);
    for (let i = 1; i < n; i++) {
      const start = r.pos;
      const d = r.varint("visitors hash");
      if (d === 0) r.fail("corrupt", "visitors hash", `${i} repeats the one before`, start);
      h += d;
      if (h > MAX_SAFE) r.fail("corrupt", "visitors hash", `${i} is above 2^53 - 1`, start);
      sparse.push(h);
    }
    return { sparse };
  }
  if (tag === TAG_DENSE) {
    if (r.left < PACKED_REGISTER_BYTES) {
      r.fail(
        "truncated",
        "visitors",
        `needs ${PACKED_REGISTER_BYTES} register bytes but ${r.left} are left`,
      );
    }
    const dense = new AB(REGISTERS);
    const bad = unpackRegisters(r.bytes, r.pos, new U8(dense));
    if (bad >= 0)
      r.fail(
        "corrupt",
        "visitors",
        `has a register above ${MAX_REGISTER} (registers ${bad}..${bad + 3})`,
      );
    r.pos += PACKED_REGISTER_BYTES;
    return { dense };
  }
  return r.fail("corrupt", "visitors tag", `is ${tag}, not a known sketch tag`, r.pos - 1);
}

/** Packs 2^14 registers into b at p, 6 bits each. Returns -1, or the index of a register above 40 (nothing is valid then). */
function packRegisters(r: Uint8Array, b: Uint8Array, p: number): number {
  for (let i = 0; i < REGISTERS; i += 4) {
    const r0 = r[i]!;
    const r1 = r[i + 1]!;
    const r2 = r[i + 2]!;
    const r3 = r[i + 3]!;
    if (r0 > MAX_REGISTER || r1 > MAX_REGISTER || r2 > MAX_REGISTER || r3 > MAX_REGISTER) {
      return i + [r0, r1, r2, r3].findIndex((x) => x > MAX_REGISTER);
    }
    const w = r0 | (r1 << 6) | (r2 << 12) | (r3 << 18);
    b[p] = w & 0xff;
    b[p + 1] = (w >> 8) & 0xff;
    b[p + 2] = w >> 16;
    p += 3;
  }
  return -1;
}

/** Unpacks 2^14 registers from b at p into r. Returns -1, or the first of four registers one of which is above 40. */
function unpackRegisters(b: Uint8Array, p: number, r: Uint8Array): number {
  for (let i = 0; i < REGISTERS; i += 4) {
    const w = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
    const r0 = w & 0x3f;
    const r1 = (w >> 6) & 0x3f;
    const r2 = (w >> 12) & 0x3f;
    const r3 = w >> 18;
    if (r0 > MAX_REGISTER || r1 > MAX_REGISTER || r2 > MAX_REGISTER || r3 > MAX_REGISTER) return i;
    r[i] = r0;
    r[i + 1] = r1;
    r[i + 2] = r2;
    r[i + 3] = r3;
    p += 3;
  }
  return -1;
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
    return { ...row, visitors, ...(isEmpty(persistent) ? {} : { persistent }) };
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
