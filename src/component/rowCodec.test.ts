// The binary row codec: an exact round trip, sizes known before encoding, and
// loud failures (never garbage) on unknown versions, truncation and corruption.
import { getConvexSize } from "convex/values";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { rng } from "../../test/random.js";
import { DIMENSIONS } from "../shared.js";
import type { DeltaRow } from "./rows.js";
import { ENCODING_HEADER_BYTES, ENCODING_VERSION, crc32, decodeRows, encodeRows, rowByteLength, sketchByteLength } from "./rowCodec.js";
import { hashVisitor, sketchOf, type Sketch } from "./sketch.js";

const SEED = 20261202;
const MAX = Number.MAX_SAFE_INTEGER;
const REGISTERS = 1 << 14;

const toHex = (b: ArrayBuffer) => Buffer.from(b).toString("hex");
/** A comparable, plain form (dense registers as hex, which compares far faster than 16,384 numbers). */
const canonicalSketch = (s: Sketch) => ("sparse" in s ? { sparse: [...s.sparse] } : { dense: toHex(s.dense) });
const canonical = (rows: readonly DeltaRow[]) => rows.map((r) => ({ ...r, visitors: canonicalSketch(r.visitors) }));

/** Registers 0..40 from a seed, biased low as real HyperLogLog registers are. */
function denseFromSeed(seed: number, shape: "random" | "zero" | "max" | "realistic"): Sketch {
  const r = new Uint8Array(REGISTERS);
  const rand = rng(seed);
  for (let i = 0; i < REGISTERS; i++) {
    if (shape === "max") r[i] = 40;
    else if (shape === "random") r[i] = Math.floor(rand() * 41);
    else if (shape === "realistic") r[i] = Math.min(40, 1 + Math.floor(-Math.log2(1 - rand())));
  }
  return { dense: r.buffer };
}

const arbKey = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) }, // any code point, astral included
  { weight: 1, arbitrary: fc.constantFrom("", "/", "(none)", "(other)", "😀", "é", "𝄞/ü/日本", "\u0000", "\uffff") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 2000, maxLength: 2000 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 2000, maxLength: 2000 }) },
);

const arbCounter = fc.oneof(
  fc.integer({ min: -70, max: 70 }),
  fc.integer({ min: -(2 ** 31) - 5, max: 2 ** 32 + 5 }),
  fc.maxSafeInteger(),
  fc.constantFrom(MAX, -MAX, MAX - 1, -MAX + 1, 2 ** 52, -(2 ** 52), 63, 64, -64, -65, 8191, 8192, -8192, -8193),
);

const arbSparse: fc.Arbitrary<Sketch> = fc
  .oneof(
    { weight: 4, arbitrary: fc.array(fc.maxSafeNat(), { maxLength: 60 }) },
    // large sets from a seed: fast-check arrays of thousands of numbers are slow to generate
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 2_000, max: 3_000 })).map(([seed, n]) => {
        const rand = rng(seed);
        return Array.from({ length: n }, () => Math.floor(rand() * 2 ** 21) * 2 ** 32 + Math.floor(rand() * 2 ** 32));
      }),
    },
    // clustered hashes: small deltas, and the ends of the range
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.maxSafeNat(), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 200 }))
        .map(([start, deltas]) => deltas.reduce((acc, d) => [...acc, acc[acc.length - 1]! + d], [start]).filter((h) => h <= MAX)),
    },
    { weight: 1, arbitrary: fc.subarray([0, 1, 127, 128, 2 ** 32, 2 ** 52, MAX - 1, MAX]) },
  )
  .map((hashes) => ({ sparse: [...new Set(hashes)].sort((a, b) => a - b) }));

const arbDense: fc.Arbitrary<Sketch> = fc
  .tuple(fc.integer(), fc.constantFrom("random", "zero", "max", "realistic") as fc.Arbitrary<"random" | "zero" | "max" | "realistic">)
  .map(([seed, shape]) => denseFromSeed(seed, shape));

const arbRow: fc.Arbitrary<DeltaRow> = fc.record({
  dimension: fc.constantFrom(...DIMENSIONS),
  key: arbKey,
  events: arbCounter,
  pageviews: arbCounter,
  entries: arbCounter,
  bounces: arbCounter,
  durationMs: arbCounter,
  visitors: fc.oneof({ weight: 6, arbitrary: arbSparse }, { weight: 1, arbitrary: arbDense }),
});
const arbRows = fc.array(arbRow, { maxLength: 12 });

/** Rewrites the CRC so a hand-corrupted buffer reaches the structural checks. */
function withFixedCrc(bytes: Uint8Array): ArrayBuffer {
  const out = Uint8Array.from(bytes);
  const crc = crc32(out, 5);
  out[1] = crc & 0xff;
  out[2] = (crc >>> 8) & 0xff;
  out[3] = (crc >>> 16) & 0xff;
  out[4] = crc >>> 24;
  return out.buffer;
}

/** A one-row buffer whose key is the given bytes (valid or not), with a correct CRC. */
function withKeyBytes(key: Uint8Array): ArrayBuffer {
  if (key.length > 127) throw new Error("test helper: short keys only");
  const row = [0, key.length, ...key, 0, 0, 0, 0, 0, 0, 0];
  return withFixedCrc(Uint8Array.from([ENCODING_VERSION, 0, 0, 0, 0, 1, 0, 0, 0, ...row]));
}

/** Textbook zigzag LEB128 with BigInt, as an independent reference for the counters. */
function referenceZigzag(n: number): number[] {
  let z = n >= 0 ? BigInt(n) * 2n : -BigInt(n) * 2n - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

const plainRow = (over: Partial<DeltaRow> = {}): DeltaRow => ({
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

describe("encodeRows and decodeRows", () => {
  test("decoding an encoding gives back the same rows in the same order", () => {
    fc.assert(
      fc.property(arbRows, (rows) => {
        const decoded = decodeRows(encodeRows(rows));
        expect(canonical(decoded)).toEqual(canonical(rows));
        for (const r of decoded) {
          if ("dense" in r.visitors) {
            expect(r.visitors.dense).toBeInstanceOf(ArrayBuffer);
            expect(r.visitors.dense.byteLength).toBe(REGISTERS);
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test("the sum of rowByteLength plus the header is exactly the encoded length", () => {
    fc.assert(
      fc.property(arbRows, (rows) => {
        const predicted = rows.reduce((sum, r) => sum + rowByteLength(r), ENCODING_HEADER_BYTES);
        expect(encodeRows(rows).byteLength).toBe(predicted);
        for (const r of rows) expect(rowByteLength(r)).toBe(encodeRows([r]).byteLength - ENCODING_HEADER_BYTES);
      }),
      { seed: SEED + 1, numRuns: 300 },
    );
  });

  test("sketchByteLength is the sketch's share of rowByteLength", () => {
    fc.assert(
      fc.property(arbRow, (row) => {
        const withoutVisitors = rowByteLength({ ...row, visitors: { sparse: [] } }) - sketchByteLength({ sparse: [] });
        expect(rowByteLength(row)).toBe(withoutVisitors + sketchByteLength(row.visitors));
      }),
      { seed: SEED + 2, numRuns: 200 },
    );
    expect(sketchByteLength({ sparse: [] })).toBe(2);
    expect(sketchByteLength(denseFromSeed(1, "random"))).toBe(1 + 12_288);
  });

  test("no rows encode to the header alone and decode to no rows", () => {
    const empty = encodeRows([]);
    expect(empty.byteLength).toBe(ENCODING_HEADER_BYTES);
    expect(decodeRows(empty)).toEqual([]);
  });

  test("a small row encodes to exactly the documented bytes", () => {
    const row: DeltaRow = {
      dimension: "page",
      key: "/a",
      events: 1,
      pageviews: -1,
      entries: 64,
      bounces: 0,
      durationMs: -MAX,
      visitors: { sparse: [5, 300] },
    };
    const hex = toHex(encodeRows([row]));
    // version 1, CRC, 1 row; page (1), key "/a", zigzag 2 | 1 | 128 | 0 | 2^54 - 3, sparse tag, 2 hashes, 5, +295
    expect(hex.slice(0, 2)).toBe("01");
    expect(hex.slice(10)).toBe("01000000" + "01" + "022f61" + "02" + "01" + "8001" + "00" + "fdffffffffffff1f" + "00" + "02" + "05" + "a702");
    expect(Number.parseInt(hex.slice(2, 10).match(/../g)!.reverse().join(""), 16)).toBe(crc32(new Uint8Array(encodeRows([row])), 5));
  });

  test("counters are written as textbook zigzag varints across the whole safe range", () => {
    fc.assert(
      fc.property(arbCounter, (n) => {
        const bytes = new Uint8Array(encodeRows([plainRow({ key: "", events: n, visitors: { sparse: [] } })]));
        const at = ENCODING_HEADER_BYTES + 2;
        const expected = referenceZigzag(n);
        expect(Array.from(bytes.subarray(at, at + expected.length))).toEqual(expected);
        expect(decodeRows(bytes.buffer)[0]!.events).toBe(n);
      }),
      { seed: SEED + 3, numRuns: 1_000 },
    );
  });

  test("keys are written as the UTF-8 TextEncoder produces, lone surrogates included", () => {
    const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(codeUnits, arbKey), (key) => {
        const utf8 = new TextEncoder().encode(key);
        const bytes = new Uint8Array(encodeRows([plainRow({ key })]));
        const lengthBytes = utf8.length < 128 ? 1 : utf8.length < 16_384 ? 2 : 3;
        const at = ENCODING_HEADER_BYTES + 1 + lengthBytes;
        expect(Array.from(bytes.subarray(at, at + utf8.length))).toEqual(Array.from(utf8));
        // A lone surrogate comes back as U+FFFD, exactly as a TextEncoder/TextDecoder round trip gives.
        expect(decodeRows(bytes.buffer)[0]!.key).toBe(new TextDecoder().decode(utf8));
      }),
      { seed: SEED + 4, numRuns: 1_000 },
    );
  });

  test("a lone surrogate in a key does not throw and decodes as U+FFFD", () => {
    const [row] = decodeRows(encodeRows([plainRow({ key: "a\ud800b\udc00" })]));
    expect(row!.key).toBe("a\ufffdb\ufffd");
  });

  test("a counter of -0 decodes as 0", () => {
    const [row] = decodeRows(encodeRows([plainRow({ events: -0 })]));
    expect(Object.is(row!.events, 0)).toBe(true);
  });
});

describe("crc32", () => {
  /** Bit by bit, as the standard defines it. */
  function referenceCrc32(bytes: Uint8Array): number {
    let c = 0xffffffff;
    for (const byte of bytes) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  }

  test("matches the standard check value and a bit-by-bit reference at every length and offset", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.nat(8), fc.nat(8), (bytes, a, b) => {
        const start = Math.min(a, bytes.length);
        const end = Math.max(start, bytes.length - b);
        expect(crc32(bytes, start, end)).toBe(referenceCrc32(bytes.subarray(start, end)));
      }),
      { seed: SEED + 8, numRuns: 1_000 },
    );
  });
});

describe("encodeRows refuses what it cannot represent exactly", () => {
  test.each([
    ["a fraction", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^53", 2 ** 53],
    ["-(2^53)", -(2 ** 53)],
  ])("a counter that is %s throws, naming the row and the counter", (_, value) => {
    const row = plainRow({ key: "/bad", bounces: value });
    expect(() => encodeRows([row])).toThrow(/rowCodec: row \(page, "\/bad"\): bounces is .* not a safe integer/);
    expect(() => rowByteLength(row)).toThrow(/not a safe integer/);
  });

  test.each([
    ["unsorted", [5, 3]],
    ["with a duplicate", [3, 3]],
    ["with a negative hash", [-1, 3]],
    ["with a fraction", [0.5]],
    ["with 2^53", [2 ** 53]],
  ])("a sparse sketch %s throws", (_, sparse) => {
    const row = plainRow({ visitors: { sparse } });
    expect(() => encodeRows([row])).toThrow(/rowCodec: sparse sketch/);
    expect(() => rowByteLength(row)).toThrow(/rowCodec: sparse sketch/);
  });

  test("a dense sketch of the wrong size or with a register above 40 throws", () => {
    expect(() => encodeRows([plainRow({ visitors: { dense: new ArrayBuffer(100) } })])).toThrow(/dense sketch has 100 bytes/);
    expect(() => sketchByteLength({ dense: new ArrayBuffer(100) })).toThrow(/dense sketch has 100 bytes/);
    const registers = new Uint8Array(REGISTERS);
    registers[777] = 41;
    expect(() => encodeRows([plainRow({ visitors: { dense: registers.buffer } })])).toThrow(/dense sketch register 777 is 41, above 40/);
  });

  test("a key that is not a string throws", () => {
    const row = plainRow({ key: 42 as unknown as string });
    expect(() => encodeRows([row])).toThrow(/rowCodec: row \(page, 42\): key is number, not a string/);
    expect(() => rowByteLength(row)).toThrow(/key is number, not a string/);
  });

  test("an unknown dimension throws", () => {
    const row = plainRow({ dimension: "nope" as DeltaRow["dimension"] });
    expect(() => encodeRows([row])).toThrow(/unknown dimension "nope"/);
    expect(() => rowByteLength(row)).toThrow(/unknown dimension "nope"/);
  });
});

describe("decodeRows refuses unknown, truncated and corrupt buffers", () => {
  const sample = encodeRows([
    plainRow(),
    plainRow({ dimension: "country", key: "日本", events: -4, visitors: { sparse: [1, 2, 3] } }),
    plainRow({ dimension: "total", key: "", visitors: denseFromSeed(7, "realistic") }),
  ]);

  test("something other than an ArrayBuffer throws", () => {
    expect(() => decodeRows(new Uint8Array(sample) as unknown as ArrayBuffer)).toThrow(/rowCodec: decodeRows takes an ArrayBuffer .*Uint8Array/);
    expect(() => decodeRows(undefined as unknown as ArrayBuffer)).toThrow(/rowCodec: decodeRows takes an ArrayBuffer/);
  });

  test("an unknown version throws", () => {
    for (const version of [0, 2, 255]) {
      const bytes = new Uint8Array(sample.slice(0));
      bytes[0] = version;
      expect(() => decodeRows(bytes.buffer)).toThrow(new RegExp(`rowCodec: unknown encoding version ${version}`));
    }
  });

  test("an empty buffer and every strict prefix of an encoding throw", () => {
    expect(() => decodeRows(new ArrayBuffer(0))).toThrow(/rowCodec: truncated/);
    // Every prefix of the sparse rows, and every 97th into the dense one (a CRC of 12 KB each).
    const full = new Uint8Array(sample);
    const denseStart = full.length - sketchByteLength(denseFromSeed(7, "realistic"));
    for (let n = 1; n < full.length; n += n < denseStart ? 1 : 97) {
      expect(() => decodeRows(full.slice(0, n).buffer)).toThrow(/rowCodec: (truncated|corrupt)/);
    }
    expect(() => decodeRows(full.slice(0, full.length - 1).buffer)).toThrow(/rowCodec: corrupt or truncated/);
  });

  test("any change to a single byte of an encoding throws", () => {
    fc.assert(
      fc.property(arbRows, fc.nat(), fc.integer({ min: 1, max: 255 }), (rows, at, xor) => {
        const bytes = new Uint8Array(encodeRows(rows));
        bytes[at % bytes.length] ^= xor;
        expect(() => decodeRows(bytes.buffer)).toThrow(/rowCodec: /);
      }),
      { seed: SEED + 5, numRuns: 300 },
    );
  });

  test("appended bytes throw", () => {
    const bytes = new Uint8Array(sample.byteLength + 1);
    bytes.set(new Uint8Array(sample));
    expect(() => decodeRows(bytes.buffer)).toThrow(/rowCodec: corrupt or truncated: CRC-32/);
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(/rowCodec: corrupt: 1 bytes after the last of 3 rows/);
  });

  // With the checksum rewritten, each structural check is reached on its own.
  const one = new Uint8Array(encodeRows([plainRow({ key: "ab", events: 1, durationMs: 0, visitors: { sparse: [5, 6] } })]));
  const H = ENCODING_HEADER_BYTES;
  const tagAt = H + 1 + 1 + 2 + 5;
  test.each<[string, (b: Uint8Array) => Uint8Array, RegExp]>([
    ["a dimension index past DIMENSIONS", (b) => ((b[H] = DIMENSIONS.length), b), /rowCodec: corrupt: row 0 dimension at offset 9 is index 19, past the 19 known/],
    ["an unknown sketch tag", (b) => ((b[tagAt] = 2), b), /row 0 visitors tag at offset \d+ is 2, not a known sketch tag/],
    ["a repeated sparse hash", (b) => ((b[tagAt + 3] = 0), b), /repeats the one before/],
    ["a row count larger than the bytes", (b) => ((b[5] = 200), b), /header says 200 rows/],
    [
      "a row count one too many",
      (b) => ((b[5] = 2), Uint8Array.from([...b, ...Array(8).fill(0)])),
      /truncated: row 1 visitors count at offset \d+ runs past the end/,
    ],
    ["a key length past the end", (b) => ((b[H + 1] = 120), b), /truncated: row 0 key at offset \d+ has 120 bytes but \d+ are left/],
    ["a sparse count past the end", (b) => ((b[tagAt + 1] = 100), b), /claims 100 hashes/],
    [
      "a non-minimal varint",
      (b) => Uint8Array.from([...b.subarray(0, H + 1), 0x82, 0x00, ...b.subarray(H + 2)]),
      /row 0 key length at offset 10 is a non-minimal varint/,
    ],
    [
      "a varint longer than 8 bytes",
      (b) => Uint8Array.from([...b.subarray(0, tagAt + 2), ...Array(8).fill(0xff), 1, ...b.subarray(tagAt + 3)]),
      /longer than 8 bytes/,
    ],
    [
      "a counter beyond 2^53 - 1",
      (b) => Uint8Array.from([...b.subarray(0, H + 4), 0xfe, ...Array(6).fill(0xff), 0x3f, ...b.subarray(H + 5)]),
      /row 0 events at offset \d+ is outside ±\(2\^53 - 1\)/,
    ],
    [
      "a varint beyond 2^53 - 1",
      (b) => Uint8Array.from([...b.subarray(0, H + 1), ...Array(7).fill(0xff), 0x7f, ...b.subarray(H + 2)]),
      /row 0 key length at offset 10 is a varint above 2\^53 - 1/,
    ],
  ])("a buffer with a valid checksum but %s throws", (_, corrupt, message) => {
    const bytes = corrupt(Uint8Array.from(one));
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(message);
  });

  test("a dense register above 40 throws", () => {
    const bytes = new Uint8Array(encodeRows([plainRow({ key: "", durationMs: 0, visitors: denseFromSeed(3, "zero") })]));
    bytes[H + 1 + 1 + 5 + 1 + 100] = 0xff;
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(/register above 40/);
  });

  test("keys are strict UTF-8: accepted exactly when TextDecoder with fatal accepts them", () => {
    const arbBytes = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc.array(fc.constantFrom(0x41, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xa0, 0x9f, 0x90, 0x8f), { maxLength: 8 }).map((a) => Uint8Array.from(a)),
      fc.string({ unit: "binary", maxLength: 8 }).map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(
      fc.property(arbBytes, (key) => {
        let expected: string | undefined;
        try {
          expected = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(key);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(() => decodeRows(withKeyBytes(key))).toThrow(/rowCodec: corrupt: row 0 key at offset \d+ is not valid UTF-8/);
        else expect(decodeRows(withKeyBytes(key))[0]!.key).toBe(expected);
      }),
      { seed: SEED + 6, numRuns: 3_000 },
    );
  });

  test("any buffer it accepts is the canonical encoding of what it returns", () => {
    // Random bytes after a valid header, or a real encoding with a byte changed, the CRC fixed up
    // either way: decoding throws or returns rows that re-encode to exactly the same bytes.
    const randomBody = fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 60 }))
      .map(([count, body]) => Uint8Array.from([ENCODING_VERSION, 0, 0, 0, 0, count, 0, 0, 0, ...body]));
    const mutated = fc.tuple(arbRows, fc.nat(), fc.nat({ max: 255 })).map(([rows, at, value]) => {
      const bytes = new Uint8Array(encodeRows(rows));
      const i = ENCODING_HEADER_BYTES + (at % Math.max(1, bytes.length - ENCODING_HEADER_BYTES));
      if (i < bytes.length) bytes[i] = value;
      return bytes;
    });
    fc.assert(
      fc.property(fc.oneof(randomBody, mutated), (bytes) => {
        const buffer = withFixedCrc(bytes);
        let rows: DeltaRow[];
        try {
          rows = decodeRows(buffer);
        } catch (e) {
          expect((e as Error).message).toMatch(/^rowCodec: /);
          return;
        }
        expect(toHex(encodeRows(rows))).toBe(toHex(buffer));
      }),
      { seed: SEED + 7, numRuns: 1_000 },
    );
  });
});

// ---------------------------------------------------------------------------
// Measurements: printed, never asserted on time.

const PATHS = ["/", "/pricing", "/docs/getting-started", "/blog/how-we-built-our-analytics", "/about", "/changelog", "/docs/api/reports"];

function typicalRow(rand: () => number, i: number): DeltaRow {
  const pageviews = 1 + Math.floor(-Math.log2(1 - rand()) * 3);
  // Most rows of a minute or hour bucket see one or a few visitors; some see dozens.
  const visitorCount = rand() < 0.7 ? 1 : rand() < 0.8 ? 2 + Math.floor(rand() * 8) : 10 + Math.floor(rand() * 41);
  return {
    dimension: DIMENSIONS[Math.floor(rand() * DIMENSIONS.length)]!,
    key: `${PATHS[i % PATHS.length]!}${i % 3 === 0 ? `?id=${i % 997}` : ""}`,
    events: pageviews + Math.floor(rand() * 3),
    pageviews,
    entries: Math.floor(rand() * 2),
    bounces: Math.floor(rand() * 2),
    durationMs: Math.floor(rand() * 600_000),
    visitors: sketchOf(Array.from({ length: visitorCount }, () => hashVisitor(`visitor-${Math.floor(rand() * 1e9)}`))),
  };
}

describe("measurements", () => {
  test("sizes of the object form and the encoded form of typical rows are printed", () => {
    const base = { dimension: "page" as const, key: "/blog/how-we-built-our-analytics", events: 14, pageviews: 12, entries: 5, bounces: 2, durationMs: 183_500 };
    const cases: [string, Sketch][] = [
      ["1 hash", sketchOf([hashVisitor("visitor-1")])],
      ["50 hashes", sketchOf(Array.from({ length: 50 }, (_, i) => hashVisitor(`visitor-${i}`)))],
      ["dense (20,000 visitors)", sketchOf(Array.from({ length: 20_000 }, (_, i) => hashVisitor(`visitor-${i}`)))],
    ];
    const budget = 512 * 1024;
    const lines = [
      "row (page, 32-char ASCII key, small counters) | getConvexSize(row object) | rowByteLength | getConvexSize(encodeRows([row])) | ratio | rows per 512 KiB, objects vs encoded",
    ];
    for (const [name, visitors] of cases) {
      const row: DeltaRow = { ...base, visitors };
      expect("dense" in visitors).toBe(name.startsWith("dense"));
      const object = getConvexSize(row);
      const encoded = getConvexSize(encodeRows([row]));
      const perRow = rowByteLength(row);
      // Decoded rows are Convex values of the same size (dense registers as a real ArrayBuffer).
      expect(getConvexSize(decodeRows(encodeRows([row]))[0])).toBe(object);
      // In an array each object costs its own size; the array and the bytes value cost 2.
      expect(getConvexSize([row, row])).toBe(2 + 2 * object);
      const many = Array.from({ length: 100 }, () => row);
      expect(getConvexSize(encodeRows(many))).toBe(2 + ENCODING_HEADER_BYTES + 100 * perRow);
      const fitObjects = Math.floor((budget - 2) / object);
      const fitEncoded = Math.floor((budget - 2 - ENCODING_HEADER_BYTES) / perRow);
      lines.push(`${name} | ${object} | ${perRow} | ${encoded} | ${(object / perRow).toFixed(2)}x | ${fitObjects} vs ${fitEncoded}`);
    }
    console.log(`rowCodec sizes\n${lines.join("\n")}`);
  });

  test("encode and decode of 100,000 typical rows are timed and printed", () => {
    const rand = rng(SEED);
    const rows = Array.from({ length: 100_000 }, (_, i) => typicalRow(rand, i));
    const pages: DeltaRow[][] = [];
    for (let i = 0; i < rows.length; i += 4_000) pages.push(rows.slice(i, i + 4_000));
    const time = (f: () => void) => {
      const start = performance.now();
      f();
      return performance.now() - start;
    };
    let buffers: ArrayBuffer[] = [];
    let decoded: DeltaRow[][] = [];
    // Warm up once, then measure the best of three.
    let encodeMs = Infinity;
    let decodeMs = Infinity;
    let sizeMs = Infinity;
    for (let round = 0; round < 3; round++) {
      const e = time(() => (buffers = pages.map(encodeRows)));
      const d = time(() => (decoded = buffers.map(decodeRows)));
      let total = 0;
      const s = time(() => {
        for (const r of rows) total += rowByteLength(r);
      });
      expect(total + pages.length * ENCODING_HEADER_BYTES).toBe(buffers.reduce((sum, b) => sum + b.byteLength, 0));
      if (round > 0) {
        encodeMs = Math.min(encodeMs, e);
        decodeMs = Math.min(decodeMs, d);
        sizeMs = Math.min(sizeMs, s);
      }
    }
    // The round trip itself is tested above; here re-encoding what came back must give the same bytes.
    expect(decoded.flat().length).toBe(rows.length);
    decoded.forEach((page, i) => expect(toHex(encodeRows(page)) === toHex(buffers[i]!)).toBe(true));
    const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
    const rate = (ms: number) => `${ms.toFixed(1)} ms (${Math.round(rows.length / (ms / 1000)).toLocaleString("en-US")} rows/s, ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s)`;

    const denseRows = Array.from({ length: 200 }, (_, i) => ({ ...rows[i]!, visitors: denseFromSeed(i, "realistic") }));
    let denseBuffer = new ArrayBuffer(0);
    let denseEncodeMs = Infinity;
    let denseDecodeMs = Infinity;
    for (let round = 0; round < 4; round++) {
      const e = time(() => (denseBuffer = encodeRows(denseRows)));
      const d = time(() => decodeRows(denseBuffer));
      if (round > 0) {
        denseEncodeMs = Math.min(denseEncodeMs, e);
        denseDecodeMs = Math.min(denseDecodeMs, d);
      }
    }
    console.log(
      [
        `rowCodec throughput, 100,000 typical rows in ${pages.length} documents of 4,000 (${(bytes / rows.length).toFixed(1)} bytes a row, ${(bytes / 1e6).toFixed(2)} MB):`,
        `  encode        ${rate(encodeMs)}`,
        `  decode        ${rate(decodeMs)}`,
        `  rowByteLength ${rate(sizeMs)}`,
        `  200 dense rows (${(denseBuffer.byteLength / 1e6).toFixed(2)} MB): encode ${denseEncodeMs.toFixed(1)} ms, decode ${denseDecodeMs.toFixed(1)} ms`,
      ].join("\n"),
    );
  });
});
