// Fixtures shared by rowCodec.test.ts (round trips, sizes, measurements) and
// rowCodecRefusals.test.ts (what encodeRows refuses and decodeRows rejects): one set
// of generators, so both files exercise the same rows.
import fc from "fast-check";
import { rng } from "../../test/random.js";
import { DIMENSIONS } from "../shared.js";
import type { DeltaRow } from "./rows.js";
import { crc32 } from "./rowCodec.js";
import { hashVisitor, type Sketch } from "./sketch.js";

export const SEED = 20261202;
export const MAX = Number.MAX_SAFE_INTEGER;
export const REGISTERS = 1 << 14;

export const toHex = (b: ArrayBuffer) => Buffer.from(b).toString("hex");
/** A comparable, plain form (dense registers as hex, which compares far faster than 16,384 numbers). */
const canonicalSketch = (s: Sketch) =>
  "sparse" in s ? { sparse: [...s.sparse] } : { dense: toHex(s.dense) };
export const canonical = (rows: readonly DeltaRow[]) =>
  rows.map((r) => ({
    ...r,
    visitors: canonicalSketch(r.visitors),
    ...(r.persistent ? { persistent: canonicalSketch(r.persistent) } : {}),
  }));

/** Registers 0..40 from a seed, biased low as real HyperLogLog registers are. */
export function denseFromSeed(
  seed: number,
  shape: "random" | "zero" | "max" | "realistic",
): Sketch {
  const r = new Uint8Array(REGISTERS);
  const rand = rng(seed);
  for (let i = 0; i < REGISTERS; i++) {
    if (shape === "max") r[i] = 40;
    else if (shape === "random") r[i] = Math.floor(rand() * 41);
    else if (shape === "realistic") r[i] = Math.min(40, 1 + Math.floor(-Math.log2(1 - rand())));
  }
  return { dense: r.buffer };
}

export const arbKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) }, // any code point, astral included
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "/",
      "(none)",
      "(other)",
      "😀",
      "é",
      "𝄞/ü/日本",
      "\u0000",
      "\uffff",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 2000, maxLength: 2000 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 2000, maxLength: 2000 }) },
);

export const arbCounter = fc.oneof(
  fc.integer({ min: -70, max: 70 }),
  fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
  fc.maxSafeInteger(),
  fc.constantFrom(
    MAX,
    -MAX,
    MAX - 1,
    -MAX + 1,
    2 ** 52,
    -(2 ** 52),
    63,
    64,
    -64,
    -65,
    8191,
    8192,
    -8192,
    -8193,
  ),
);

const arbSparse: fc.Arbitrary<Sketch> = fc
  .oneof(
    { weight: 4, arbitrary: fc.array(fc.maxSafeNat(), { maxLength: 60 }) },
    // large sets from a seed: fast-check arrays of thousands of numbers are slow to generate
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 2_000, max: 3_000 })).map(([seed, n]) => {
        const rand = rng(seed);
        return Array.from(
          { length: n },
          () => Math.floor(rand() * 2 ** 21) * 2 ** 32 + Math.floor(rand() * 2 ** 32),
        );
      }),
    },
    // clustered hashes: small deltas, and the ends of the range
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.maxSafeNat(), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 200 }))
        .map(([start, deltas]) =>
          deltas
            .reduce((acc, d) => [...acc, acc[acc.length - 1]! + d], [start])
            .filter((h) => h <= MAX),
        ),
    },
    { weight: 1, arbitrary: fc.subarray([0, 1, 127, 128, 2 ** 32, 2 ** 52, MAX - 1, MAX]) },
  )
  .map((hashes) => ({ sparse: [...new Set(hashes)].sort((a, b) => a - b) }));

const arbDense: fc.Arbitrary<Sketch> = fc
  .tuple(
    fc.integer(),
    fc.constantFrom("random", "zero", "max", "realistic") as fc.Arbitrary<
      "random" | "zero" | "max" | "realistic"
    >,
  )
  .map(([seed, shape]) => denseFromSeed(seed, shape));

const arbSketch = fc.oneof({ weight: 6, arbitrary: arbSparse }, { weight: 1, arbitrary: arbDense });
export const arbRow: fc.Arbitrary<DeltaRow> = fc
  .record({
    dimension: fc.constantFrom(...DIMENSIONS),
    key: arbKey,
    events: arbCounter,
    pageviews: arbCounter,
    entries: arbCounter,
    bounces: arbCounter,
    durationMs: arbCounter,
    visitors: arbSketch,
    persistent: fc.option(arbSketch, { freq: 2 }),
  })
  // Rows hold persistent visitors only when there are some (rows.ts).
  .map(({ persistent, ...row }) =>
    persistent && !("sparse" in persistent && persistent.sparse.length === 0)
      ? { ...row, persistent }
      : row,
  );
export const arbRows = fc.array(arbRow, { maxLength: 12 });

/** Rewrites the CRC so a hand-corrupted buffer reaches the structural checks. */
export function withFixedCrc(bytes: Uint8Array): ArrayBuffer {
  const out = Uint8Array.from(bytes);
  const crc = crc32(out, 5);
  out[1] = crc & 0xff;
  out[2] = (crc >>> 8) & 0xff;
  out[3] = (crc >>> 16) & 0xff;
  out[4] = crc >>> 24;
  return out.buffer;
}

export const plainRow = (over: Partial<DeltaRow> = {}): DeltaRow => ({
  dimension: "page",
  key: "/pricing",
  events: 3,
  pageviews: 2,
  entries: 1,
  bounces: 0,
  durationMs: 45_000,
  visitors: { sparse: [hashVisitor("v1")] },
  ...over,
});
