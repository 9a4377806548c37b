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
//     u8      sketch tag: 0 sparse, 1 dense
//     sparse: varint count, then the first hash and each later hash minus the
//             one before it (>= 1, the set is sorted and unique), as varints
//     dense:  the 2^14 registers packed 6 bits each, four registers in three
//             bytes (r0 | r1 << 6 | r2 << 12 | r3 << 18, low byte first): 12,288 bytes
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
import { DIMENSIONS, type Dimension } from "../shared.js";
import type { DeltaRow } from "./rows.js";
import type { Sketch } from "./sketch.js";

export const ENCODING_VERSION = 1;
/** Bytes an encoding has beyond its rows: version, CRC-32 and row count. */
export const ENCODING_HEADER_BYTES = 9;

const TAG_SPARSE = 0;
const TAG_DENSE = 1;
/** Registers in a dense sketch (2^14, as sketch.ts) and the largest value one holds (53 - 14 + 1). */
const REGISTERS = 1 << 14;
const MAX_REGISTER = 40;
const PACKED_REGISTER_BYTES = (REGISTERS / 4) * 3;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** The smallest possible row: dimension, empty key, five zero counters, tag, empty sparse set. */
const MIN_ROW_BYTES = 1 + 1 + 5 + 1 + 1;

/**
 * Uint8Array and ArrayBuffer, unwrapped. Under vitest's edge-runtime environment
 * (which convex-test runs in) the globals are Proxies, and V8 gives every object
 * constructed through a Proxy a fresh map, so typed-array loops go megamorphic
 * and deoptimise: encoding and decoding dense sketches measured 30-40x slower.
 * The prototype's constructor is the real function (and Uint8Array itself in
 * Convex and Node); instances still pass `instanceof Uint8Array`.
 */
const U8 = Uint8Array.prototype.constructor as Uint8ArrayConstructor;
const AB = ArrayBuffer.prototype.constructor as ArrayBufferConstructor;

const DIMENSION_INDEX = new Map<string, number>(DIMENSIONS.map((d, i) => [d, i]));

function fail(message: string): never {
  throw new Error(`rowCodec: ${message}`);
}

// ---------------------------------------------------------------------------
// Lengths (shared by rowByteLength and the encoder's checks)

/** Bytes of the varint of a safe non-negative integer. */
function varintLength(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8;
}

/** Bytes of the zigzag varint of a safe integer (from k, see the format notes). */
function zigzagLength(n: number): number {
  const k = n >= 0 ? n : -n - 1;
  if (k < 0x40) return 1;
  if (k < 0x2000) return 2;
  if (k < 0x100000) return 3;
  if (k < 0x8000000) return 4;
  if (k < 0x400000000) return 5;
  if (k < 0x20000000000) return 6;
  if (k < 0x1000000000000) return 7;
  return 8;
}

/** UTF-8 bytes of a string as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: two code units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

type CounterName = "events" | "pageviews" | "entries" | "bounces" | "durationMs";

/** n (row[name], passed in so each call site reads one fixed property) if it is a safe integer. */
function checkCounter(n: number, row: DeltaRow, name: CounterName): number {
  if (!Number.isSafeInteger(n)) {
    fail(`row ${describeRow(row)}: ${name} is ${String(n)}, not a safe integer (counters must be integers within ±(2^53 - 1))`);
  }
  return n;
}

function describeRow(row: DeltaRow): string {
  const key = typeof row.key === "string" && row.key.length > 60 ? `${row.key.slice(0, 60)}…` : row.key;
  return `(${String(row.dimension)}, ${JSON.stringify(key)})`;
}

function checkKey(row: DeltaRow): string {
  if (typeof row.key !== "string") fail(`row ${describeRow(row)}: key is ${typeof row.key}, not a string`);
  return row.key;
}

function dimensionIndex(row: DeltaRow): number {
  const index = DIMENSION_INDEX.get(row.dimension);
  if (index === undefined) fail(`row ${describeRow(row)}: unknown dimension ${JSON.stringify(row.dimension)}`);
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
  if (registers.length !== REGISTERS) fail(`dense sketch has ${registers.length} bytes, not ${REGISTERS}`);
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
  dimensionIndex(row);
  const keyBytes = utf8Length(checkKey(row));
  let bytes = 1 + varintLength(keyBytes) + keyBytes;
  bytes += zigzagLength(checkCounter(row.events, row, "events"));
  bytes += zigzagLength(checkCounter(row.pageviews, row, "pageviews"));
  bytes += zigzagLength(checkCounter(row.entries, row, "entries"));
  bytes += zigzagLength(checkCounter(row.bounces, row, "bounces"));
  bytes += zigzagLength(checkCounter(row.durationMs, row, "durationMs"));
  return bytes + sketchByteLength(row.visitors);
}

// ---------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, as zlib and PNG), slicing by four.

const CRC_TABLES = (() => {
  const t = new Int32Array(256 * 4);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < 4; s++) t[s * 256 + n] = t[(s - 1) * 256 + n]! >>> 8 ^ t[t[(s - 1) * 256 + n]! & 0xff]!;
  }
  return t;
})();

/** CRC-32 of bytes[start, end). Exported for tests. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = start;
  for (const last = end - 4; i <= last; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// ---------------------------------------------------------------------------
// Writer

class Writer {
  bytes: Uint8Array;
  pos = 0;
  constructor(capacity: number) {
    this.bytes = new U8(Math.max(64, capacity));
  }
  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    const grown = new U8(Math.max(need, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
  }
  /**
   * An unsigned varint of a safe integer; room must have been ensured (8 bytes).
   * A value of 2^28 or more is split with exact arithmetic (% and / by 2^28) into
   * its low four groups and the rest, so the bit operations only ever see values
   * below 2^28 and never truncate a 53-bit value to 32 bits.
   */
  varint(v: number): void {
    const b = this.bytes;
    let p = this.pos;
    if (v >= 0x10000000) {
      const low = v % 0x10000000;
      v = (v - low) / 0x10000000;
      b[p++] = (low & 0x7f) | 0x80;
      b[p++] = ((low >>> 7) & 0x7f) | 0x80;
      b[p++] = ((low >>> 14) & 0x7f) | 0x80;
      b[p++] = (low >>> 21) | 0x80;
    }
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }
  /** A zigzag varint of a safe integer; room must have been ensured (8 bytes). */
  zigzag(n: number): void {
    const negative = n < 0;
    const k = negative ? -n - 1 : n;
    const low = (k % 0x40) * 2 + (negative ? 1 : 0);
    if (k < 0x40) {
      this.bytes[this.pos++] = low;
    } else {
      this.bytes[this.pos++] = low + 0x80;
      this.varint(Math.floor(k / 0x40));
    }
  }
  /** The key as its UTF-8 length then bytes, the way TextEncoder writes them. */
  string(s: string): void {
    const n = s.length;
    this.ensure(8 + 3 * n);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(n);
      const b = this.bytes;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    this.varint(utf8Length(s));
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && (next & 0xfc00) === 0xdc00) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            i++;
            b[p++] = 0xf0 | (c >> 18);
            b[p++] = 0x80 | ((c >> 12) & 0x3f);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd; // a lone surrogate, as TextEncoder replaces it
        }
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    this.pos = p;
  }
  sketch(s: Sketch): void {
    if ("dense" in s) {
      const r = denseRegisters(s);
      this.ensure(1 + PACKED_REGISTER_BYTES);
      this.bytes[this.pos] = TAG_DENSE;
      const bad = packRegisters(r, this.bytes, this.pos + 1);
      if (bad >= 0) fail(`dense sketch register ${bad} is ${r[bad]}, above ${MAX_REGISTER}`);
      this.pos += 1 + PACKED_REGISTER_BYTES;
      return;
    }
    const hashes = s.sparse;
    const n = hashes.length;
    this.ensure(1 + 8 + 8 * n);
    this.bytes[this.pos++] = TAG_SPARSE;
    this.varint(n);
    let previous = -1;
    for (let i = 0; i < n; i++) {
      const h = hashes[i]!;
      checkHash(h, previous);
      this.varint(previous < 0 ? h : h - previous);
      previous = h;
    }
  }
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

/** Encodes rows, in order, as one buffer for a `v.bytes()` field. Throws on a row it cannot represent exactly. */
export function encodeRows(rows: readonly DeltaRow[]): ArrayBuffer {
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
    w.sketch(row.visitors);
  }
  const b = w.bytes;
  b[0] = ENCODING_VERSION;
  writeU32(b, 5, rows.length);
  writeU32(b, 1, crc32(b, 5, w.pos));
  return b.buffer.slice(0, w.pos) as ArrayBuffer;
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

// ---------------------------------------------------------------------------
// Reader

class Reader {
  pos: number;
  /** The row being read, for messages: field names are constants so nothing is built unless it fails. */
  row = 0;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
  fail(problem: "truncated" | "corrupt", what: string, detail: string, offset = this.pos): never {
    return fail(`${problem}: row ${this.row} ${what} at offset ${offset} ${detail}`);
  }
  byte(what: string): number {
    if (this.pos >= this.bytes.length) this.fail("truncated", what, "is past the end");
    return this.bytes[this.pos++]!;
  }
  /** An unsigned varint; bit operations only on the low four groups (< 2^28), the rest by multiplication. */
  varint(what: string): number {
    const b = this.bytes;
    const end = b.length;
    const start = this.pos;
    let p = start;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) this.fail("truncated", what, "runs past the end", start);
      const x = b[p++]!;
      if (x < 0x80) {
        if (x === 0 && shift > 0) this.fail("corrupt", what, "is a non-minimal varint", start);
        this.pos = p;
        return value | (x << shift);
      }
      value |= (x & 0x7f) << shift;
    }
    let scale = 0x10000000;
    for (let i = 4; i < 8; i++) {
      if (p >= end) this.fail("truncated", what, "runs past the end", start);
      const x = b[p++]!;
      if (x < 0x80) {
        if (x === 0) this.fail("corrupt", what, "is a non-minimal varint", start);
        value += x * scale;
        if (value > MAX_SAFE) this.fail("corrupt", what, "is a varint above 2^53 - 1", start);
        this.pos = p;
        return value;
      }
      value += (x & 0x7f) * scale;
      scale *= 0x80;
    }
    return this.fail("corrupt", what, "is a varint longer than 8 bytes", start);
  }
  zigzag(what: string): number {
    const start = this.pos;
    const first = this.byte(what);
    const negative = (first & 1) === 1;
    let k = (first & 0x7f) >>> 1;
    if (first >= 0x80) {
      const rest = this.varint(what);
      if (rest === 0) this.fail("corrupt", what, "is a non-minimal varint", start);
      k += rest * 0x40;
      if (k > (negative ? MAX_SAFE - 1 : MAX_SAFE)) this.fail("corrupt", what, "is outside ±(2^53 - 1)", start);
    }
    return negative ? -k - 1 : k;
  }
  key(): string {
    const length = this.varint("key length");
    if (length > this.left) this.fail("truncated", "key", `has ${length} bytes but ${this.left} are left`);
    const start = this.pos;
    this.pos += length;
    return decodeUtf8(this.bytes, start, start + length, this);
  }
  sketch(): Sketch {
    const tag = this.byte("visitors tag");
    if (tag === TAG_SPARSE) {
      const n = this.varint("visitors count");
      // Every hash takes at least a byte: refuse a count the buffer cannot hold before allocating.
      if (n > this.left) this.fail("truncated", "visitors", `claims ${n} hashes but ${this.left} bytes are left`);
      const sparse: number[] = [];
      if (n === 0) return { sparse };
      let h = this.varint("visitors hash");
      sparse.push(h);
      for (let i = 1; i < n; i++) {
        const start = this.pos;
        const d = this.varint("visitors hash");
        if (d === 0) this.fail("corrupt", "visitors hash", `${i} repeats the one before`, start);
        h += d;
        if (h > MAX_SAFE) this.fail("corrupt", "visitors hash", `${i} is above 2^53 - 1`, start);
        sparse.push(h);
      }
      return { sparse };
    }
    if (tag === TAG_DENSE) {
      if (this.left < PACKED_REGISTER_BYTES) {
        this.fail("truncated", "visitors", `needs ${PACKED_REGISTER_BYTES} register bytes but ${this.left} are left`);
      }
      const dense = new AB(REGISTERS);
      const bad = unpackRegisters(this.bytes, this.pos, new U8(dense));
      if (bad >= 0) this.fail("corrupt", "visitors", `has a register above ${MAX_REGISTER} (registers ${bad}..${bad + 3})`);
      this.pos += PACKED_REGISTER_BYTES;
      return { dense };
    }
    return this.fail("corrupt", "visitors tag", `is ${tag}, not a known sketch tag`, this.pos - 1);
  }
}

/**
 * Decodes a buffer written by encodeRows: the same rows in the same order (dense
 * sketches as fresh 16,384-byte ArrayBuffers). Throws an Error starting
 * "rowCodec:" on an unknown version or a truncated or corrupt buffer.
 */
export function decodeRows(buffer: ArrayBuffer): DeltaRow[] {
  if (Object.prototype.toString.call(buffer) !== "[object ArrayBuffer]") {
    fail(`decodeRows takes an ArrayBuffer (a v.bytes() value), not ${Object.prototype.toString.call(buffer)}`);
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
    fail(`corrupt or truncated: CRC-32 is ${hex(actual)} but the header says ${hex(expected)} (${bytes.length} bytes)`);
  }
  const count = readU32(bytes, 5);
  const r = new Reader(bytes, ENCODING_HEADER_BYTES);
  if (count > r.left / MIN_ROW_BYTES) fail(`truncated: header says ${count} rows but only ${r.left} bytes follow`);
  const rows: DeltaRow[] = [];
  for (let i = 0; i < count; i++) {
    r.row = i;
    const d = r.byte("dimension");
    const dimension: Dimension | undefined = DIMENSIONS[d];
    if (dimension === undefined) r.fail("corrupt", "dimension", `is index ${d}, past the ${DIMENSIONS.length} known`, r.pos - 1);
    const key = r.key();
    const events = r.zigzag("events");
    const pageviews = r.zigzag("pageviews");
    const entries = r.zigzag("entries");
    const bounces = r.zigzag("bounces");
    const durationMs = r.zigzag("durationMs");
    const visitors = r.sketch();
    rows.push({ dimension, key, events, pageviews, entries, bounces, durationMs, visitors });
  }
  if (r.left !== 0) fail(`corrupt: ${r.left} bytes after the last of ${count} rows`);
  return rows;
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

// ---------------------------------------------------------------------------
// UTF-8 decoding, strict (as TextDecoder with fatal: true), written out so it does
// not depend on the runtime's TextDecoder options and is fast for short keys.

const CHUNK = 4096;
const asciiDecoder = typeof TextDecoder === "function" ? new TextDecoder() : undefined;
let units = new Uint16Array(256);

function decodeUtf8(b: Uint8Array, start: number, end: number, r: Reader): string {
  // ASCII fast path: most keys are paths, hostnames and codes.
  let i = start;
  while (i < end && b[i]! < 0x80) i++;
  if (i === end) {
    // All ASCII, so any decoder gives the same string; TextDecoder is the fastest here.
    if (asciiDecoder) return asciiDecoder.decode(b.subarray(start, end));
    return fromUnits(b, start, end);
  }
  if (units.length < end - start) units = new Uint16Array(Math.max(end - start, units.length * 2));
  const u = units;
  let n = 0;
  for (let j = start; j < i; j++) u[n++] = b[j]!;
  while (i < end) {
    const x = b[i]!;
    if (x < 0x80) {
      u[n++] = x;
      i++;
      continue;
    }
    let cp: number;
    let need: number;
    let min: number;
    if (x >= 0xc2 && x <= 0xdf) {
      cp = x & 0x1f;
      need = 1;
      min = 0x80;
    } else if (x >= 0xe0 && x <= 0xef) {
      cp = x & 0x0f;
      need = 2;
      min = 0x800;
    } else if (x >= 0xf0 && x <= 0xf4) {
      cp = x & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      return r.fail("corrupt", "key", `is not valid UTF-8 (byte 0x${x.toString(16)})`, i);
    }
    if (i + need >= end) r.fail("corrupt", "key", "is not valid UTF-8 (a sequence is cut off)", i);
    for (let k = 1; k <= need; k++) {
      const y = b[i + k]!;
      if ((y & 0xc0) !== 0x80) r.fail("corrupt", "key", `is not valid UTF-8 (byte 0x${y.toString(16)})`, i + k);
      cp = cp * 64 + (y & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      r.fail("corrupt", "key", `is not valid UTF-8 (code point 0x${cp.toString(16)})`, i);
    }
    i += need + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u[n++] = 0xd800 + (cp >> 10);
      u[n++] = 0xdc00 + (cp & 0x3ff);
    } else {
      u[n++] = cp;
    }
  }
  return fromUnits(u, 0, n);
}

function fromUnits(u: Uint8Array | Uint16Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += CHUNK) {
    s += String.fromCharCode.apply(null, u.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[]);
  }
  return s;
}
