// Native codecs for the simulator, so the scale bench fits its hour. Neither
// changes a result: the same strings, bytes and digests, so every measured
// document, byte and call is unchanged; only convex-test's wall time drops.
// - convex's values module encodes and decodes every bytes field (rollup pages,
//   packed deltas) with a JavaScript base64 loop, twice per read and per write in
//   convex-test (once on each side of a syscall); Convex's own runtime does that
//   natively. nativeBase64() swaps in Node's, the local engine's dev/nativeBase64.mjs
//   (tested against convex's own there): a fifth of the real day's time.
// - Node runs crypto.subtle.digest as a job on its thread pool, a round trip per
//   call (three hashes a request: the write key, the client's address, the
//   cookieless id). nativeSha256() answers SHA-256 from node:crypto at once.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";

const BASE64 = /[\\/]node_modules[\\/]convex[\\/]dist[\\/]esm[\\/]values[\\/]base64\.js$/;
/** The local engine's native codec (the same text, and convex's own decoder for anything not canonical). */
const NATIVE_BASE64 = fileURLToPath(new URL("../../dev/nativeBase64.mjs", import.meta.url));

/**
 * Rebinds convex's base64 functions to dev/nativeBase64.mjs, as the local
 * engine's module hooks do (dev/fastPathHooks.mjs): they are function
 * declarations, so every importer sees the new ones. Needs convex inlined.
 */
export function nativeBase64(): Plugin {
  return {
    name: "native-base64",
    enforce: "pre",
    transform(code, id) {
      if (!BASE64.test(id)) return null;
      for (const declaration of ["export function fromByteArray(", "export function toByteArray("])
        if (!code.includes(declaration))
          throw new Error(`bench/scale/nativeCodecs.ts: ${id} changed; update the patch`);
      return `${code}
import { nativeBase64 as __nativeBase64 } from ${JSON.stringify(NATIVE_BASE64)};
({ fromByteArray, toByteArray } = __nativeBase64({ fromByteArray, toByteArray }));
`;
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
