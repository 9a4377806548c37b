// Native codecs for the simulator, so the scale bench fits its hour. Neither
// changes a result: the same strings, bytes and digests, so every measured
// document, byte and call is unchanged; only convex-test's wall time drops.
// - convex's values module encodes and decodes every bytes field (rollup pages,
//   packed deltas) with a JavaScript base64 loop, twice per read and per write in
//   convex-test (once on each side of a syscall); Convex's own runtime does that
//   natively. nativeBase64() swaps in Node's codec: a fifth of the real day's time.
// - Node runs crypto.subtle.digest as a job on its thread pool, a round trip per
//   call (three hashes a request: the write key, the client's address, the
//   cookieless id). nativeSha256() answers SHA-256 from node:crypto at once.
import { createHash } from "node:crypto";
import type { Plugin } from "vite";

const NATIVE = `
import { Buffer } from "node:buffer";
function lengths(b64) {
  if (b64.length % 4 > 0) throw new Error("Invalid string. Length must be a multiple of 4");
  let valid = b64.indexOf("=");
  if (valid === -1) valid = b64.length;
  return [valid, valid === b64.length ? 0 : 4 - (valid % 4)];
}
export function byteLength(b64) {
  const [valid, pad] = lengths(b64);
  return ((valid + pad) * 3) / 4 - pad;
}
export function toByteArray(b64) {
  lengths(b64);
  const b = Buffer.from(b64, "base64");
  // A copy: a small Buffer is a view of a shared pool, and callers take .buffer.
  return new Uint8Array(b);
}
export function fromByteArray(uint8) {
  return Buffer.from(uint8.buffer, uint8.byteOffset, uint8.byteLength).toString("base64");
}
`;

export function nativeBase64(): Plugin {
  return {
    name: "native-base64",
    enforce: "pre",
    load(id) {
      if (/[\\/]convex[\\/]dist[\\/]esm[\\/]values[\\/]base64\.js$/.test(id)) return NATIVE;
      return null;
    },
  };
}

/** Makes crypto.subtle.digest("SHA-256") answer synchronously (the same digest), for this process. */
export function nativeSha256(): void {
  const subtle = globalThis.crypto.subtle;
  const digest = subtle.digest.bind(subtle);
  subtle.digest = ((algorithm: AlgorithmIdentifier, data: BufferSource) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (name.toUpperCase() !== "SHA-256") return digest(algorithm, data);
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    const hash = createHash("sha256").update(bytes).digest();
    return Promise.resolve(new Uint8Array(hash).buffer);
  }) as SubtleCrypto["digest"];
}
