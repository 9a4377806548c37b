// Byte-level primitives under rowCodec.ts: varint and zigzag lengths and writing,
// UTF-8 lengths, writing and strict decoding, CRC-32, little-endian u32s, and the
// growable Writer and bounds-checked Reader. They live apart from the row format
// (header, row layout, sketch packing) so that format reads on its own; the varint
// and zigzag forms themselves are specified in rowCodec.ts's format notes.
//
// These are rowCodec's own primitives, not a general library: every error they
// throw starts "rowCodec:" (callers and tests match on that prefix), and Reader's
// messages name the row being read.

/**
 * Uint8Array and ArrayBuffer, unwrapped. Under vitest's edge-runtime environment
 * (which convex-test runs in) the globals are Proxies, and V8 gives every object
 * constructed through a Proxy a fresh map, so typed-array loops go megamorphic
 * and deoptimise: encoding and decoding dense sketches measured 30-40x slower.
 * The prototype's constructor is the real function (and Uint8Array itself in
 * Convex and Node); instances still pass `instanceof Uint8Array`.
 */
export const U8 = Uint8Array.prototype.constructor as Uint8ArrayConstructor;
export const AB = ArrayBuffer.prototype.constructor as ArrayBufferConstructor;

/** The largest value a varint may hold. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export function fail(message: string): never {
  throw new Error(`rowCodec: ${message}`);
}

// ---------------------------------------------------------------------------
// Lengths (shared by rowByteLength and the encoder's checks)

/** Bytes of the varint of a safe non-negative integer. */
export function varintLength(v: number): number {
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
export function zigzagLength(n: number): number {
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
export function utf8Length(s: string): number {
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
    for (let s = 1; s < 4; s++)
      t[s * 256 + n] = (t[(s - 1) * 256 + n]! >>> 8) ^ t[t[(s - 1) * 256 + n]! & 0xff]!;
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
    c =
      t[768 + (c & 0xff)]! ^
      t[512 + ((c >>> 8) & 0xff)]! ^
      t[256 + ((c >>> 16) & 0xff)]! ^
      t[c >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

// ---------------------------------------------------------------------------
// Writer

export class Writer {
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
}

// ---------------------------------------------------------------------------
// Reader

export class Reader {
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
      if (k > (negative ? MAX_SAFE - 1 : MAX_SAFE))
        this.fail("corrupt", what, "is outside ±(2^53 - 1)", start);
    }
    return negative ? -k - 1 : k;
  }
  /** The key as Writer.string wrote it: its UTF-8 length, then strict UTF-8. */
  key(): string {
    const length = this.varint("key length");
    if (length > this.left)
      this.fail("truncated", "key", `has ${length} bytes but ${this.left} are left`);
    const start = this.pos;
    this.pos += length;
    return decodeUtf8(this.bytes, start, start + length, this);
  }
}

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
      if ((y & 0xc0) !== 0x80)
        r.fail("corrupt", "key", `is not valid UTF-8 (byte 0x${y.toString(16)})`, i + k);
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
    s += String.fromCharCode.apply(
      null,
      u.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[],
    );
  }
  return s;
}
