const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const PAD = 61; // '='
const ascii = new TextDecoder();

/**
 * Standard base64 with padding, hand-rolled: it is on the append path and
 * several times faster than `btoa` over a char-code string, with no Node
 * `Buffer` in the core.
 */
export function toBase64(bytes: Uint8Array): string {
  // Write ASCII codes into a byte buffer and decode once: no per-char
  // string concatenation.
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out[o++] = B64_CODES[n >>> 18] as number;
    out[o++] = B64_CODES[(n >>> 12) & 63] as number;
    out[o++] = B64_CODES[(n >>> 6) & 63] as number;
    out[o++] = B64_CODES[n & 63] as number;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = ((bytes[i] as number) << 16) | (rest === 2 ? (bytes[i + 1] as number) << 8 : 0);
    out[o++] = B64_CODES[n >>> 18] as number;
    out[o++] = B64_CODES[(n >>> 12) & 63] as number;
    out[o++] = rest === 2 ? (B64_CODES[(n >>> 6) & 63] as number) : PAD;
    out[o++] = PAD;
  }
  return ascii.decode(out);
}

/** Strict decoding: anything but canonical padded base64 is `null`. */
export function fromBase64(b64: string): Uint8Array<ArrayBuffer> | null {
  if (b64.length % 4 !== 0) return null;
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((b64.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < b64.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = b64.charCodeAt(i + j);
      const v = c === 61 && i + 4 === b64.length && j >= 4 - pad ? 0 : c < 128 ? (B64_INDEX[c] as number) : -1;
      if (v < 0) return null;
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
