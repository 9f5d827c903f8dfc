// TextEncoder/TextDecoder exist in every runtime we target (Node >= 11,
// browsers, workers) but are not part of the ES library typings core builds
// against (core must not depend on DOM or Node typings), hence the cast.
interface Utf8Codec {
  TextEncoder: new () => { encode(s: string): Uint8Array };
  TextDecoder: new () => { decode(b: Uint8Array): string };
}
const codec = globalThis as unknown as Utf8Codec;
const encoder = new codec.TextEncoder();
const decoder = new codec.TextDecoder();

export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

export function utf8Decode(b: Uint8Array): string {
  return decoder.decode(b);
}
