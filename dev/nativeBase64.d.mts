// Types of dev/nativeBase64.mjs (plain JavaScript: the module hooks load it before tsx could).
export type Base64 = {
  fromByteArray(uint8: Uint8Array): string;
  toByteArray(b64: string): Uint8Array;
};
export function nativeBase64(stock: Base64): Base64;
