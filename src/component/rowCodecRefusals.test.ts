// The binary row codec fails loudly, never with garbage: encodeRows refuses a row
// it cannot represent exactly, and decodeRows rejects unknown versions, truncation
// and corruption (with the CRC rewritten, each structural check on its own). The
// round trip and sizes are rowCodec.test.ts.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { DIMENSIONS } from "../shared.js";
import type { DeltaRow } from "./rows.js";
import {
  ENCODING_HEADER_BYTES,
  ENCODING_VERSION,
  decodeRows,
  encodeRows,
  rowByteLength,
} from "./rowCodec.js";
import { sketchByteLength } from "./sketchCodec.js";
import {
  REGISTERS,
  SEED,
  arbRows,
  denseFromSeed,
  plainRow,
  toHex,
  withFixedCrc,
} from "./rowCodec.testlib.js";

/** A one-row buffer whose key is the given bytes (valid or not), with a correct CRC. */
function withKeyBytes(key: Uint8Array): ArrayBuffer {
  if (key.length > 127) throw new Error("test helper: short keys only");
  const row = [0, key.length, ...key, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return withFixedCrc(Uint8Array.from([ENCODING_VERSION, 0, 0, 0, 0, 1, 0, 0, 0, ...row]));
}

describe("encodeRows refuses what it cannot represent exactly", () => {
  test.each([
    ["a fraction", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["2^53", 2 ** 53],
    ["-(2^53)", -(2 ** 53)],
  ])("a counter that is %s throws, naming the row and the counter", (_, value) => {
    const row = plainRow({ key: "/bad", bounces: value });
    expect(() => encodeRows([row])).toThrow(
      /rowCodec: row \(page, "\/bad"\): bounces is .* not a safe integer/,
    );
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
    expect(() => encodeRows([plainRow({ visitors: { dense: new ArrayBuffer(100) } })])).toThrow(
      /dense sketch has 100 bytes/,
    );
    expect(() => sketchByteLength({ dense: new ArrayBuffer(100) })).toThrow(
      /dense sketch has 100 bytes/,
    );
    const registers = new Uint8Array(REGISTERS);
    registers[777] = 41;
    expect(() => encodeRows([plainRow({ visitors: { dense: registers.buffer } })])).toThrow(
      /dense sketch register 777 is 41, above 40/,
    );
  });

  test("a key that is not a string throws", () => {
    const row = plainRow({ key: 42 as unknown as string });
    expect(() => encodeRows([row])).toThrow(
      /rowCodec: row \(page, 42\): key is number, not a string/,
    );
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
    expect(() => decodeRows(new Uint8Array(sample) as unknown as ArrayBuffer)).toThrow(
      /rowCodec: decodeRows takes an ArrayBuffer .*Uint8Array/,
    );
    expect(() => decodeRows(undefined as unknown as ArrayBuffer)).toThrow(
      /rowCodec: decodeRows takes an ArrayBuffer/,
    );
  });

  test("an unknown version throws", () => {
    for (const version of [0, 1, 3, 255]) {
      const bytes = new Uint8Array(sample.slice(0));
      bytes[0] = version;
      expect(() => decodeRows(bytes.buffer)).toThrow(
        new RegExp(`rowCodec: unknown encoding version ${version}`),
      );
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
    expect(() => decodeRows(full.slice(0, full.length - 1).buffer)).toThrow(
      /rowCodec: corrupt or truncated/,
    );
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
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(
      /rowCodec: corrupt: 1 bytes after the last of 3 rows/,
    );
  });

  // With the checksum rewritten, each structural check is reached on its own.
  const one = new Uint8Array(
    encodeRows([plainRow({ key: "ab", events: 1, durationMs: 0, visitors: { sparse: [5, 6] } })]),
  );
  const H = ENCODING_HEADER_BYTES;
  const tagAt = H + 1 + 1 + 2 + 5;
  test.each<[string, (b: Uint8Array) => Uint8Array, RegExp]>([
    [
      "a dimension index past DIMENSIONS",
      (b) => ((b[H] = DIMENSIONS.length), b),
      new RegExp(
        `rowCodec: corrupt: row 0 dimension at offset 9 is index ${DIMENSIONS.length}, past the ${DIMENSIONS.length} known`,
      ),
    ],
    [
      "an unknown sketch tag",
      (b) => ((b[tagAt] = 3), b),
      /row 0 visitors tag at offset \d+ is 3, not a known sketch tag/,
    ],
    ["a repeated sparse hash", (b) => ((b[tagAt + 3] = 0), b), /repeats the one before/],
    ["a row count larger than the bytes", (b) => ((b[5] = 200), b), /header says 200 rows/],
    [
      "a row count one too many",
      (b) => ((b[5] = 2), Uint8Array.from([...b, ...Array(8).fill(0)])),
      /truncated: row 1 visitors count at offset \d+ runs past the end/,
    ],
    [
      "a key length past the end",
      (b) => ((b[H + 1] = 120), b),
      /truncated: row 0 key at offset \d+ has 120 bytes but \d+ are left/,
    ],
    ["a sparse count past the end", (b) => ((b[tagAt + 1] = 100), b), /claims 100 hashes/],
    [
      "a non-minimal varint",
      (b) => Uint8Array.from([...b.subarray(0, H + 1), 0x82, 0x00, ...b.subarray(H + 2)]),
      /row 0 key length at offset 10 is a non-minimal varint/,
    ],
    [
      "a varint longer than 8 bytes",
      (b) =>
        Uint8Array.from([
          ...b.subarray(0, tagAt + 2),
          ...Array(8).fill(0xff),
          1,
          ...b.subarray(tagAt + 3),
        ]),
      /longer than 8 bytes/,
    ],
    [
      "a counter beyond 2^53 - 1",
      (b) =>
        Uint8Array.from([
          ...b.subarray(0, H + 4),
          0xfe,
          ...Array(6).fill(0xff),
          0x3f,
          ...b.subarray(H + 5),
        ]),
      /row 0 events at offset \d+ is outside ±\(2\^53 - 1\)/,
    ],
    [
      "a varint beyond 2^53 - 1",
      (b) =>
        Uint8Array.from([
          ...b.subarray(0, H + 1),
          ...Array(7).fill(0xff),
          0x7f,
          ...b.subarray(H + 2),
        ]),
      /row 0 key length at offset 10 is a varint above 2\^53 - 1/,
    ],
  ])("a buffer with a valid checksum but %s throws", (_, corrupt, message) => {
    const bytes = corrupt(Uint8Array.from(one));
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(message);
  });

  test("a dense register above 40 throws", () => {
    const bytes = new Uint8Array(
      encodeRows([plainRow({ key: "", durationMs: 0, visitors: denseFromSeed(3, "zero") })]),
    );
    bytes[H + 1 + 1 + 5 + 1 + 100] = 0xff;
    expect(() => decodeRows(withFixedCrc(bytes))).toThrow(/register above 40/);
  });

  test("keys are strict UTF-8: accepted exactly when TextDecoder with fatal accepts them", () => {
    const arbBytes = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      fc
        .array(
          fc.constantFrom(
            0x41,
            0x80,
            0xbf,
            0xc0,
            0xc1,
            0xc2,
            0xdf,
            0xe0,
            0xed,
            0xef,
            0xf0,
            0xf4,
            0xf5,
            0xa0,
            0x9f,
            0x90,
            0x8f,
          ),
          { maxLength: 8 },
        )
        .map((a) => Uint8Array.from(a)),
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
        if (expected === undefined)
          expect(() => decodeRows(withKeyBytes(key))).toThrow(
            /rowCodec: corrupt: row 0 key at offset \d+ is not valid UTF-8/,
          );
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
      .map(([count, body]) =>
        Uint8Array.from([ENCODING_VERSION, 0, 0, 0, 0, count, 0, 0, 0, ...body]),
      );
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
