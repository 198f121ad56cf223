const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;
const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const PAD = 61; // '='
const ascii = new TextDecoder();

/**
 * Standard base64 with padding, hand-rolled: it is on the append path,
 * where `btoa` over a char-code string costs more (docs/performance.md),
 * and the core has no Node `Buffer`.
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
  const len = b64.length;
  if (len % 4 !== 0) return null;
  const pad = len === 0 ? 0 : b64.charCodeAt(len - 1) !== PAD ? 0 : b64.charCodeAt(len - 2) === PAD ? 2 : 1;
  const out = new Uint8Array((len / 4) * 3 - pad);
  // Every group but the last has no padding: four table lookups, one
  // validity check (a negative index anywhere makes the OR negative).
  const full = pad === 0 ? len : len - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = index(b64.charCodeAt(i));
    const b = index(b64.charCodeAt(i + 1));
    const c = index(b64.charCodeAt(i + 2));
    const d = index(b64.charCodeAt(i + 3));
    if ((a | b | c | d) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (pad > 0) {
    const a = index(b64.charCodeAt(full));
    const b = index(b64.charCodeAt(full + 1));
    const c = pad === 1 ? index(b64.charCodeAt(full + 2)) : 0;
    if ((a | b | c) < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >>> 16;
    if (pad === 1) out[o++] = (n >>> 8) & 255;
  }
  return out;
}

/**
 * base64url (RFC 4648 §5), padding optional, as JWT segments use it; `null`
 * for anything else. Same decoder as {@link fromBase64}, after mapping the
 * URL alphabet back and restoring the padding.
 *
 * @example
 * fromBase64Url('eyJleHAiOjF9'); // the bytes of '{"exp":1}'
 */
export function fromBase64Url(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) return null;
  const b64 = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const rem = b64.length % 4;
  if (rem === 1) return null;
  return fromBase64(rem === 0 ? b64 : b64 + '='.repeat(4 - rem));
}

/** The 6-bit value of a base64 character code, or -1. */
function index(code: number): number {
  return code < 128 ? (B64_INDEX[code] as number) : -1;
}
