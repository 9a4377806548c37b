// The visitor sketches of an encoded rollup row (rowCodec.ts has the whole format):
// a tag, then sparse hashes as deltas or dense registers packed 6 bits each.
// Counter rows put TAG_COUNT where a sketch would be; TAG_SAME stands for
// persistent visitors that are the same set as the visitors.
import { AB, fail, MAX_SAFE, Reader, U8, varintLength, Writer } from "./binary.js";
import type { Sketch } from "./sketch.js";

/** A sparse sketch with no hashes (rows.ts leaves such a `persistent` out). */
export const isEmptySketch = (s: Sketch) => "sparse" in s && s.sparse.length === 0;

/** Whether two sketches hold the same set (a site whose ids are all persistent has persistent === visitors). */
export function sameSketch(a: Sketch, b: Sketch): boolean {
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

const TAG_SPARSE = 0;
const TAG_DENSE = 1;
export const TAG_COUNT = 2;
export const TAG_SAME = 3;
/** Registers in a dense sketch (2^14, as sketch.ts) and the largest value one holds (53 - 14 + 1). */
const REGISTERS = 1 << 14;
const MAX_REGISTER = 40;
const PACKED_REGISTER_BYTES = (REGISTERS / 4) * 3;

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

/** The sketch, tagged, as the format notes lay it out. */
export function writeSketch(w: Writer, s: Sketch): void {
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
export function readSketch(r: Reader): Sketch {
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
