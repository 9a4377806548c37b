// The unique-visitor sketch: exact while sparse, a set union under merge, and
// within 2% (p99) of the truth once dense (invariant I6).
import { rng as prng } from "../../test/random.js";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  EMPTY_SKETCH,
  SPARSE_LIMIT,
  estimate,
  hashVisitor,
  mergeSketches,
  sketchBytes,
  sketchOf,
  type Sketch,
} from "./sketch.js";

/** A comparable, plain form of a sketch. */
const canonical = (s: Sketch) =>
  "sparse" in s ? { sparse: [...s.sparse] } : { dense: Array.from(new Uint8Array(s.dense)) };
const isSparse = (s: Sketch) => "sparse" in s;
const relativeError = (estimated: number, truth: number) => Math.abs(estimated - truth) / truth;
/** Nearest-rank percentile of an already sorted list. */
const percentile = (sorted: number[], p: number) => sorted[Math.ceil(p * sorted.length) - 1]!;
const pct = (x: number) => `${(100 * x).toFixed(3)}%`;

/** `length` (a multiple of 8) random hex digits. */
function hex(rand: () => number, length: number): string {
  let out = "";
  while (out.length < length)
    out += Math.floor(rand() * 4294967296)
      .toString(16)
      .padStart(8, "0");
  return out;
}

/**
 * The sketch of visitors `${prefix}${lo}` .. `${prefix}${hi - 1}`, built the way
 * compaction builds it: sparse sketches of at most SPARSE_LIMIT hashes merged in.
 */
function sketchOfRange(prefix: string, lo: number, hi: number): Sketch {
  let acc: Sketch = EMPTY_SKETCH;
  const chunk = new Float64Array(SPARSE_LIMIT);
  for (let start = lo; start < hi; start += SPARSE_LIMIT) {
    const end = Math.min(start + SPARSE_LIMIT, hi);
    for (let i = start; i < end; i++) chunk[i - start] = hashVisitor(`${prefix}${i}`);
    // The ids are distinct, so the chunk is a valid sparse set once sorted (a typed-array
    // sort is numeric and fast). Once the sketch is dense, merging adds hashes to registers
    // one by one and their order does not matter, so the sort is skipped to keep this fast.
    const hashes = chunk.subarray(0, end - start);
    acc = mergeSketches(acc, { sparse: Array.from(isSparse(acc) ? hashes.sort() : hashes) });
  }
  return acc;
}

describe("hashVisitor", () => {
  test("is deterministic and gives an integer in [0, 2^53)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (id) => {
        const h = hashVisitor(id);
        expect(h).toBe(hashVisitor(id));
        expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
      }),
    );
  });

  test("gives no collisions on 1,000,000 distinct visitor ids of three shapes", () => {
    const rand = prng(42);
    const hashes = new Float64Array(1_000_000);
    // Short sequential ids, cookieless ids (c_ + 32 hex, as the ingest route makes
    // them) and UUID-like ids. The last hex digits hold the index, so every id is
    // distinct by construction; the rest is random.
    for (let i = 0; i < 1_000_000; i++) {
      const index = i.toString(16).padStart(8, "0");
      let id: string;
      if (i < 400_000) id = String(i);
      else if (i < 700_000) id = `c_${hex(rand, 24)}${index}`;
      else {
        const h = hex(rand, 24);
        id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 24)}${index}`;
      }
      hashes[i] = hashVisitor(id);
    }
    hashes.sort();
    let collisions = 0;
    for (let k = 1; k < hashes.length; k++) if (hashes[k] === hashes[k - 1]) collisions++;
    console.log(
      `hashVisitor: ${hashes.length} distinct ids -> ${hashes.length - collisions} distinct hashes (${collisions} collisions)`,
    );
    expect(collisions).toBe(0);
  });
});

describe("sparse sketches", () => {
  test("count exactly for any set of up to SPARSE_LIMIT visitors, duplicates included", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 * SPARSE_LIMIT }), { maxLength: 2 * SPARSE_LIMIT }),
        (ids) => {
          const distinct = new Set(ids);
          fc.pre(distinct.size <= SPARSE_LIMIT);
          const sketch = sketchOf(ids.map((i) => hashVisitor(`v${i}`)));
          expect(isSparse(sketch)).toBe(true);
          expect(estimate(sketch)).toBe(distinct.size);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("merged one visitor at a time, as the worker emits them, still count exactly", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 600 }), (ids) => {
        let sketch: Sketch = EMPTY_SKETCH;
        for (const i of ids) sketch = mergeSketches(sketch, sketchOf([hashVisitor(`v${i}`)]));
        expect(estimate(sketch)).toBe(new Set(ids).size);
        expect(canonical(sketch)).toEqual(
          canonical(sketchOf(ids.map((i) => hashVisitor(`v${i}`)))),
        );
      }),
      { numRuns: 100 },
    );
  });

  test("stay sparse at exactly SPARSE_LIMIT visitors and turn dense at SPARSE_LIMIT + 1", () => {
    const hashes = Array.from({ length: SPARSE_LIMIT + 1 }, (_, i) => hashVisitor(`v${i}`));
    const atLimit = sketchOf(hashes.slice(0, SPARSE_LIMIT));
    expect(isSparse(atLimit)).toBe(true);
    expect(estimate(atLimit)).toBe(SPARSE_LIMIT);
    const over = sketchOf(hashes);
    expect(isSparse(over)).toBe(false);
    expect(relativeError(estimate(over), SPARSE_LIMIT + 1)).toBeLessThan(0.02);
    // Dense is never bigger than the sparse set it replaces.
    expect(sketchBytes(over)).toBeLessThanOrEqual(sketchBytes(atLimit));
    expect(sketchBytes(atLimit)).toBe(8 * SPARSE_LIMIT + 16);
  });

  test("merging two sparse sketches turns dense only when their union passes SPARSE_LIMIT", () => {
    const ids = (lo: number, hi: number) =>
      Array.from({ length: hi - lo }, (_, i) => hashVisitor(`v${lo + i}`));
    // 1,500 + 1,500 with 1,000 in common: a union of 2,000 stays sparse and exact.
    const overlapping = mergeSketches(sketchOf(ids(0, 1500)), sketchOf(ids(500, 2000)));
    expect(isSparse(overlapping)).toBe(true);
    expect(estimate(overlapping)).toBe(2000);
    // 1,500 + 1,500 disjoint: a union of 3,000 turns dense.
    const disjoint = mergeSketches(sketchOf(ids(0, 1500)), sketchOf(ids(1500, 3000)));
    expect(isSparse(disjoint)).toBe(false);
    expect(relativeError(estimate(disjoint), 3000)).toBeLessThan(0.02);
  });
});

describe("merge", () => {
  // Sets drawn from a shared pool of 6,000 visitors, so they overlap, and up to
  // 3,000 long, so some are dense.
  const visitorSet = fc
    .tuple(
      fc.integer({ min: 0, max: 6000 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 1, max: 7 }),
    )
    .map(([start, length, step]) =>
      sketchOf(Array.from({ length }, (_, i) => hashVisitor(`v${(start + i * step) % 6000}`))),
    );

  test("is commutative, associative and idempotent, with the empty sketch as identity", () => {
    fc.assert(
      fc.property(visitorSet, visitorSet, visitorSet, (a, b, c) => {
        expect(canonical(mergeSketches(a, b))).toEqual(canonical(mergeSketches(b, a)));
        expect(canonical(mergeSketches(mergeSketches(a, b), c))).toEqual(
          canonical(mergeSketches(a, mergeSketches(b, c))),
        );
        expect(canonical(mergeSketches(a, a))).toEqual(canonical(a));
        expect(canonical(mergeSketches(mergeSketches(a, b), b))).toEqual(
          canonical(mergeSketches(a, b)),
        );
        expect(canonical(mergeSketches(a, EMPTY_SKETCH))).toEqual(canonical(a));
        expect(canonical(mergeSketches(EMPTY_SKETCH, a))).toEqual(canonical(a));
      }),
      { numRuns: 60 },
    );
  });

  test("never modifies its arguments", () => {
    fc.assert(
      fc.property(visitorSet, visitorSet, (a, b) => {
        const before = [canonical(a), canonical(b)];
        mergeSketches(a, b);
        mergeSketches(b, a);
        expect([canonical(a), canonical(b)]).toEqual(before);
      }),
      { numRuns: 30 },
    );
  });

  test("of sketches of any split of a set equals the sketch of the whole set", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 6 }),
        (n, cuts) => {
          const hashes = Array.from({ length: n }, (_, i) => hashVisitor(`v${i}`));
          const bounds = [0, ...cuts.map((c) => Math.min(c, n)).sort((x, y) => x - y), n];
          let merged: Sketch = EMPTY_SKETCH;
          for (let i = 0; i + 1 < bounds.length; i++)
            merged = mergeSketches(merged, sketchOf(hashes.slice(bounds[i], bounds[i + 1])));
          expect(canonical(merged)).toEqual(canonical(sketchOf(hashes)));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("dense sketches", () => {
  // Seeds per n: at least 20 everywhere, more where it is cheap so that p99 means something.
  const SEEDS = [
    { n: 3_000, seeds: 100 },
    { n: 10_000, seeds: 100 },
    { n: 50_000, seeds: 50 },
    { n: 200_000, seeds: 20 },
    { n: 1_000_000, seeds: 20 },
  ];
  test.each(SEEDS)(
    "estimate $n distinct visitors within 2 percent at p99 over $seeds seeds",
    ({ n, seeds }) => {
      const errors: number[] = [];
      for (let seed = 0; seed < seeds; seed++) {
        const sketch = sketchOfRange(`s${seed}:`, 0, n);
        expect(isSparse(sketch)).toBe(false);
        errors.push(relativeError(estimate(sketch), n));
      }
      errors.sort((x, y) => x - y);
      const p99 = percentile(errors, 0.99);
      const max = errors[errors.length - 1]!;
      const rms = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
      console.log(
        `sketch n=${n} seeds=${seeds}: max ${pct(max)}, p99 ${pct(p99)}, median ${pct(percentile(errors, 0.5))}, rms ${pct(rms)}`,
      );
      expect(p99).toBeLessThanOrEqual(0.02);
    },
  );

  test("merging two dense sketches of overlapping sets estimates the union within 2%", () => {
    // [lo, hi) of A, [lo, hi) of B, union size
    const cases: [number, number, number, number, number][] = [
      [0, 60_000, 40_000, 100_000, 100_000],
      [0, 10_000, 5_000, 12_000, 12_000],
      [0, 150_000, 50_000, 250_000, 250_000],
      [0, 50_000, 0, 50_000, 50_000], // the same set twice
    ];
    const errors: number[] = [];
    for (const [aLo, aHi, bLo, bHi, union] of cases) {
      for (let seed = 0; seed < 5; seed++) {
        const a = sketchOfRange(`u${seed}:`, aLo, aHi);
        const b = sketchOfRange(`u${seed}:`, bLo, bHi);
        expect(isSparse(a) || isSparse(b)).toBe(false);
        const merged = mergeSketches(a, b);
        // The union of the sketches is the sketch of the union: no visitor is counted twice.
        if (seed === 0)
          expect(canonical(merged)).toEqual(
            canonical(sketchOfRange(`u${seed}:`, Math.min(aLo, bLo), Math.max(aHi, bHi))),
          );
        errors.push(relativeError(estimate(merged), union));
      }
    }
    console.log(
      `sketch union of overlapping dense sets: max error ${pct(Math.max(...errors))} over ${errors.length} unions`,
    );
    expect(Math.max(...errors)).toBeLessThanOrEqual(0.02);
  });
});
