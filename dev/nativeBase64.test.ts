// @vitest-environment node
// dev/nativeBase64.mjs against convex's own base64 (the file the engine's hooks
// patch, loaded here unpatched): the same text for any bytes, and for any string
// the same bytes or the same error.
import fc from "fast-check";
import { expect, test } from "vitest";
import { nativeBase64, type Base64 } from "./nativeBase64.mjs";

const stock = (await import(
  new URL("../node_modules/convex/dist/esm/values/base64.js", import.meta.url).href
)) as Base64;
const native = nativeBase64(stock);

/** What a call gives: its bytes (and that they own their whole buffer) or its error message. */
function outcome(decode: () => Uint8Array): unknown {
  try {
    const bytes = decode();
    return { bytes: [...bytes], ownBuffer: bytes.buffer.byteLength === bytes.length };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

test("native base64 writes the same text as convex's for any bytes, views into larger buffers included", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 600 }),
      fc.nat({ max: 7 }),
      fc.nat({ max: 7 }),
      (bytes, before, after) => {
        const padded = new Uint8Array(before + bytes.length + after);
        padded.set(bytes, before);
        const view = padded.subarray(before, before + bytes.length);
        expect(native.fromByteArray(view)).toBe(stock.fromByteArray(view));
        expect(native.fromByteArray(bytes)).toBe(stock.fromByteArray(bytes));
      },
    ),
    { numRuns: 2_000, seed: 20261202 },
  );
});

test("native base64 reads every encoding back to the bytes convex reads, each in a buffer of its own", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const text = stock.fromByteArray(bytes);
      expect(outcome(() => native.toByteArray(text))).toEqual(
        outcome(() => stock.toByteArray(text)),
      );
      expect(outcome(() => native.toByteArray(text))).toEqual({
        bytes: [...bytes],
        ownBuffer: true,
      });
    }),
    { numRuns: 2_000, seed: 20261202 },
  );
});

test("native base64 gives convex's answer or error for strings that are not canonical encodings", () => {
  const chars = fc.constantFrom(..."AQgw+/=-_ *\n\u00e9".split(""), "QQ", "Qg", "==", "AAAA");
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 24 }), (parts) => {
      const text = parts.join("");
      expect(outcome(() => native.toByteArray(text))).toEqual(
        outcome(() => stock.toByteArray(text)),
      );
    }),
    { numRuns: 5_000, seed: 20261202 },
  );
});
