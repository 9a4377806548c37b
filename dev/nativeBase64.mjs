// Base64 for convex/values through Node's native codec, for the local engine
// (dev/fastPathHooks.mjs installs it in place of convex's JavaScript one). Every
// v.bytes() value crosses convex-test's syscall boundary as base64 text, twice
// per read and twice per write: in JavaScript that was about 9 s of the demo's
// start. The output is the same: standard alphabet, "=" padding. Decoding uses
// the native codec only for a string that is exactly the canonical encoding of
// the bytes it decodes to; any other string (URL-safe characters, a wrong length,
// stray characters) goes to convex's own decoder, which gives its own answer or
// error. dev/nativeBase64.test.ts compares both with convex's on random input.
import { Buffer } from "node:buffer";

/**
 * `fromByteArray` and `toByteArray` with convex's signatures, falling back to
 * `stock` (convex's own functions) for anything but the plain case.
 */
export function nativeBase64(stock) {
  return {
    fromByteArray(uint8) {
      if (!(uint8 instanceof Uint8Array)) return stock.fromByteArray(uint8);
      return Buffer.from(uint8.buffer, uint8.byteOffset, uint8.byteLength).toString("base64");
    },
    toByteArray(b64) {
      if (typeof b64 !== "string") return stock.toByteArray(b64);
      const decoded = Buffer.from(b64, "base64");
      if (decoded.toString("base64") !== b64) return stock.toByteArray(b64);
      // A Uint8Array over its own ArrayBuffer of exactly this length, as convex's returns
      // (callers take `.buffer`; a small Buffer is a view into a shared pool).
      const bytes = new Uint8Array(decoded.length);
      bytes.set(decoded);
      return bytes;
    },
  };
}
