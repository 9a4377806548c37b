// The binary row codec: an exact round trip, sizes known before encoding, the
// documented bytes, and the CRC-32. What it refuses and how it fails on unknown,
// truncated or corrupt buffers is rowCodecRefusals.test.ts.
import { getConvexSize } from "convex/values";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { rng } from "../../test/random.js";
import { DIMENSIONS } from "../shared.js";
import type { DeltaRow } from "./rows.js";
import {
  ENCODING_HEADER_BYTES,
  counterRowByteLength,
  crc32,
  decodeCounterRows,
  decodeRows,
  encodeCounterRows,
  encodeRows,
  rowByteLength,
} from "./rowCodec.js";
import { sketchByteLength } from "./sketchCodec.js";
import {
  MAX,
  REGISTERS,
  SEED,
  arbCounter,
  arbKey,
  arbRow,
  arbRows,
  canonical,
  denseFromSeed,
  plainRow,
  toHex,
} from "./rowCodec.testlib.js";
import { hashVisitor, sketchOf, type Sketch } from "./sketch.js";

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

describe("encodeCounterRows and decodeCounterRows", () => {
  const counterRows = (rows: DeltaRow[]) =>
    rows.map(({ visitors, persistent, ...r }, i) => ({
      ...r,
      visitorCount: "sparse" in visitors ? visitors.sparse.length : 100_000 + i,
      persistentCount: persistent ? 7 * i : 0,
    }));

  test("round-trip, with counterRowByteLength exact, and neither decoder reads the other's rows", () => {
    fc.assert(
      fc.property(arbRows, (rows) => {
        const counters = counterRows(rows);
        const encoded = encodeCounterRows(counters);
        expect(decodeCounterRows(encoded)).toEqual(counters);
        expect(encoded.byteLength).toBe(
          counters.reduce((sum, r) => sum + counterRowByteLength(r), ENCODING_HEADER_BYTES),
        );
        if (rows.length > 0) {
          expect(() => decodeRows(encoded)).toThrow(/rowCodec: .*not a known sketch tag/);
          expect(() => decodeCounterRows(encodeRows(rows))).toThrow(
            /not a counter row's count tag/,
          );
        }
      }),
      { seed: SEED + 7, numRuns: 200 },
    );
  });

  test("a count that is not a natural number throws", () => {
    const [row] = counterRows([plainRow()]);
    for (const bad of [-1, 0.5, Number.NaN])
      expect(() => encodeCounterRows([{ ...row!, visitorCount: bad }])).toThrow(
        /visitor count is .*, not a count/,
      );
  });
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
        for (const r of rows)
          expect(rowByteLength(r)).toBe(encodeRows([r]).byteLength - ENCODING_HEADER_BYTES);
      }),
      { seed: SEED + 1, numRuns: 300 },
    );
  });

  test("sketchByteLength is the sketch's share of rowByteLength", () => {
    fc.assert(
      fc.property(arbRow, (generated) => {
        // Persistent visitors that are not the same set as either visitors below
        // (the same set would be written as one tag byte).
        const lasting = { sparse: [MAX] };
        fc.pre(!("sparse" in generated.visitors && generated.visitors.sparse[0] === MAX));
        const row = { ...generated, persistent: lasting };
        const withoutVisitors =
          rowByteLength({ ...row, visitors: { sparse: [] } }) - sketchByteLength({ sparse: [] });
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
    // version 2, CRC, 1 row; page (1), key "/a", zigzag 2 | 1 | 128 | 0 | 2^54 - 3,
    // visitors: sparse tag, 2 hashes, 5, +295; persistent visitors: sparse tag, none
    expect(hex.slice(0, 2)).toBe("02");
    expect(hex.slice(10)).toBe(
      "01000000" +
        "01" +
        "022f61" +
        "02" +
        "01" +
        "8001" +
        "00" +
        "fdffffffffffff1f" +
        "00" +
        "02" +
        "05" +
        "a702" +
        "00" +
        "00",
    );
    expect(Number.parseInt(hex.slice(2, 10).match(/../g)!.reverse().join(""), 16)).toBe(
      crc32(new Uint8Array(encodeRows([row])), 5),
    );
    // Every visitor persistent: the second set is one tag byte, "the same as visitors".
    const allPersistent = { ...row, persistent: { sparse: [5, 300] } };
    expect(toHex(encodeRows([allPersistent])).slice(10)).toBe(`${hex.slice(10, -4)}03`);
    expect(canonical(decodeRows(encodeRows([allPersistent])))).toEqual(canonical([allPersistent]));
    expect(rowByteLength(allPersistent)).toBe(rowByteLength(row) - 1);
  });

  test("counters are written as textbook zigzag varints across the whole safe range", () => {
    fc.assert(
      fc.property(arbCounter, (n) => {
        const bytes = new Uint8Array(
          encodeRows([plainRow({ key: "", events: n, visitors: { sparse: [] } })]),
        );
        const at = ENCODING_HEADER_BYTES + 2;
        const expected = referenceZigzag(n);
        expect(Array.from(bytes.subarray(at, at + expected.length))).toEqual(expected);
        expect(decodeRows(bytes.buffer)[0]!.events).toBe(n);
      }),
      { seed: SEED + 3, numRuns: 1_000 },
    );
  });

  test("keys are written as the UTF-8 TextEncoder produces, lone surrogates included", () => {
    const codeUnits = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      maxLength: 30,
    });
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

// ---------------------------------------------------------------------------
// Measurements: printed, never asserted on time.

const PATHS = [
  "/",
  "/pricing",
  "/docs/getting-started",
  "/blog/how-we-built-our-analytics",
  "/about",
  "/changelog",
  "/docs/api/reports",
];

function typicalRow(rand: () => number, i: number): DeltaRow {
  const pageviews = 1 + Math.floor(-Math.log2(1 - rand()) * 3);
  // Most rows of a minute or hour bucket see one or a few visitors; some see dozens.
  const visitorCount =
    rand() < 0.7 ? 1 : rand() < 0.8 ? 2 + Math.floor(rand() * 8) : 10 + Math.floor(rand() * 41);
  return {
    dimension: DIMENSIONS[Math.floor(rand() * DIMENSIONS.length)]!,
    key: `${PATHS[i % PATHS.length]!}${i % 3 === 0 ? `?id=${i % 997}` : ""}`,
    events: pageviews + Math.floor(rand() * 3),
    pageviews,
    entries: Math.floor(rand() * 2),
    bounces: Math.floor(rand() * 2),
    durationMs: Math.floor(rand() * 600_000),
    visitors: sketchOf(
      Array.from({ length: visitorCount }, () =>
        hashVisitor(`visitor-${Math.floor(rand() * 1e9)}`),
      ),
    ),
  };
}

describe("measurements", () => {
  test("sizes of the object form and the encoded form of typical rows are printed", () => {
    const base = {
      dimension: "page" as const,
      key: "/blog/how-we-built-our-analytics",
      events: 14,
      pageviews: 12,
      entries: 5,
      bounces: 2,
      durationMs: 183_500,
    };
    const cases: [string, Sketch][] = [
      ["1 hash", sketchOf([hashVisitor("visitor-1")])],
      ["50 hashes", sketchOf(Array.from({ length: 50 }, (_, i) => hashVisitor(`visitor-${i}`)))],
      [
        "dense (20,000 visitors)",
        sketchOf(Array.from({ length: 20_000 }, (_, i) => hashVisitor(`visitor-${i}`))),
      ],
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
      lines.push(
        `${name} | ${object} | ${perRow} | ${encoded} | ${(object / perRow).toFixed(2)}x | ${fitObjects} vs ${fitEncoded}`,
      );
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
      expect(total + pages.length * ENCODING_HEADER_BYTES).toBe(
        buffers.reduce((sum, b) => sum + b.byteLength, 0),
      );
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
    const rate = (ms: number) =>
      `${ms.toFixed(1)} ms (${Math.round(rows.length / (ms / 1000)).toLocaleString("en-US")} rows/s, ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s)`;

    const denseRows = Array.from({ length: 200 }, (_, i) => ({
      ...rows[i]!,
      visitors: denseFromSeed(i, "realistic"),
    }));
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
