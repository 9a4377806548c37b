// Mergeable unique-visitor sketch. Sparse (the exact sorted set of 53-bit visitor
// hashes) while small, so small counts are exact; dense HyperLogLog with 2^14
// one-byte registers (0.81% standard error, within 2% at p99) once the sparse set
// would be larger than the registers. Merging is a set union, so any range and
// any row can be answered without counting a visitor seen on several days twice.
import { v, type Infer } from "convex/values";

export const vSketch = v.union(
  v.object({ sparse: v.array(v.number()) }),
  v.object({ dense: v.bytes() }),
);
export type Sketch = Infer<typeof vSketch>;

const P = 14;
const M = 1 << P;
/** Bits left after the register index: a register holds (leading zeros + 1), at most Q + 1. */
const Q = 53 - P;
/** Past this many hashes a sparse set (8 bytes a hash) costs more than the dense registers. */
export const SPARSE_LIMIT = M / 8;

export const EMPTY_SKETCH: Sketch = { sparse: [] };

/** cyrb53: a fast, well-mixed 53-bit string hash (public domain). */
export function hashVisitor(id: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  return mix53(h1, h2);
}

/** cyrb53's finaliser: two 32-bit lanes to one well-mixed 53-bit hash. */
export function mix53(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

function addToRegisters(registers: Uint8Array, hash: number): void {
  const index = Math.floor(hash / 2 ** Q);
  const rest = hash % 2 ** Q;
  const rank = rest === 0 ? Q + 1 : Q - Math.floor(Math.log2(rest));
  if (registers[index]! < rank) registers[index] = rank;
}

function registersOf(sketch: Sketch): Uint8Array {
  if ("dense" in sketch) return new Uint8Array(sketch.dense.slice(0));
  const registers = new Uint8Array(M);
  for (const h of sketch.sparse) addToRegisters(registers, h);
  return registers;
}

function unionSorted(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!;
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}

/** The union of two sketches. Neither argument is modified. */
export function mergeSketches(a: Sketch, b: Sketch): Sketch {
  if ("sparse" in a && "sparse" in b) {
    const sparse = unionSorted(a.sparse, b.sparse);
    if (sparse.length <= SPARSE_LIMIT) return { sparse };
    return { dense: registersOf({ sparse }).buffer as ArrayBuffer };
  }
  const registers = registersOf(a);
  if ("dense" in b) {
    const other = new Uint8Array(b.dense);
    for (let i = 0; i < M; i++) if (other[i]! > registers[i]!) registers[i] = other[i]!;
  } else {
    for (const h of b.sparse) addToRegisters(registers, h);
  }
  return { dense: registers.buffer as ArrayBuffer };
}

export function sketchOf(hashes: Iterable<number>): Sketch {
  return mergeSketches(EMPTY_SKETCH, { sparse: [...new Set(hashes)].sort((x, y) => x - y) });
}

/** Estimated distinct count: exact while sparse, Ertl's improved HyperLogLog estimator when dense. */
export function estimate(sketch: Sketch): number {
  if ("sparse" in sketch) return sketch.sparse.length;
  const histogram = new Array<number>(Q + 2).fill(0);
  for (const r of new Uint8Array(sketch.dense)) histogram[r]!++;
  let z = M * tau(1 - histogram[Q + 1]! / M);
  for (let k = Q; k >= 1; k--) z = 0.5 * (z + histogram[k]!);
  z += M * sigma(histogram[0]! / M);
  return Math.round((M * M) / (2 * Math.LN2) / z);
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}

/** Approximate stored size, used to keep packed documents far below Convex's 1 MiB limit. */
export function sketchBytes(sketch: Sketch): number {
  return "sparse" in sketch ? 8 * sketch.sparse.length + 16 : sketch.dense.byteLength + 16;
}
