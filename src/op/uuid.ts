import { sha1 } from '../crypto/sha1';

/**
 * UUIDs (RFC 9562) as the engine makes and checks them: v4 (random), v7
 * (Unix ms + monotonic counter) and v5 (name-based, SHA-1), byte for byte
 * what the `uuid` package makes, on `crypto.getRandomValues` (present in
 * every browser, secure context or not, and Node ≥ 19). Kept here so the
 * browser bundle carries only these few functions.
 */

// Any version 1–8 in the standard layout, plus the nil and max UUIDs (`uuid`'s `validate`).
const UUID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/** 16 fresh random bytes. */
const random16 = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(16));

/**
 * True for a well-formed UUID of any version (and the nil and max UUIDs).
 *
 * @example
 * isUuid('019ac309-f100-7a47-8c2e-5b0d1f3e9a11'); // true
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/**
 * The 16 bytes of a UUID as lower-case `8-4-4-4-12` hex.
 *
 * @example
 * formatUuid(new Uint8Array(16)); // '00000000-0000-0000-0000-000000000000'
 */
export function formatUuid(b: Uint8Array): string {
  const h = (from: number, to: number): string => {
    let s = '';
    for (let i = from; i < to; i += 1) s += HEX[b[i]!];
    return s;
  };
  return `${h(0, 4)}-${h(4, 6)}-${h(6, 8)}-${h(8, 10)}-${h(10, 16)}`;
}

/**
 * The 16 bytes of a well-formed UUID (throws a `TypeError` otherwise).
 *
 * @example
 * parseUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8')[0]; // 0x6b
 */
export function parseUuid(uuid: string): Uint8Array {
  if (!isUuid(uuid)) throw new TypeError('Invalid UUID');
  const hex = uuid.replace(/-/g, '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/** Set the version nibble and the RFC 9562 variant bits, in place. */
function stamp(b: Uint8Array, version: number): Uint8Array {
  b[6] = (b[6]! & 0x0f) | (version << 4);
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}

/**
 * A UUID v4: random, or made of the first 16 bytes of `random` (their
 * version and variant bits overwritten).
 *
 * @example
 * uuidV4(); // '3b241101-e2bb-4255-8caf-4136c566a962'
 */
export function uuidV4(random: Uint8Array = random16()): string {
  return formatUuid(stamp(random.slice(0, 16), 4));
}

/**
 * A name-based UUID v5: SHA-1 of the namespace's bytes then the name's
 * UTF-8, stamped version 5. The same inputs always give the same UUID.
 *
 * @example
 * uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'); // '2ed6657d-e927-568b-95e1-2665a8aea6a2'
 */
export function uuidV5(name: string, namespace: string): string {
  const ns = parseUuid(namespace);
  const utf8 = new TextEncoder().encode(name);
  const bytes = new Uint8Array(16 + utf8.length);
  bytes.set(ns);
  bytes.set(utf8, 16);
  return formatUuid(stamp(sha1(bytes).slice(0, 16), 5));
}

/** Last v7 timestamp and counter of this JS realm (`uuid`'s v7 state). */
const v7State = { msecs: -Infinity, seq: 0 };

/**
 * A UUID v7: 48 bits of Unix time in ms, then a 31-bit counter seeded at
 * random each new millisecond and incremented within one (and when the
 * clock steps back, so ids made in this realm always sort in creation
 * order), then random bits. `nowMs` is the wall clock by definition of v7.
 *
 * @example
 * uuidV7(Date.now()); // '019ac309-f100-7a47-8c2e-5b0d1f3e9a11'
 */
export function uuidV7(nowMs: number, random: Uint8Array = random16()): string {
  const r = random;
  if (nowMs > v7State.msecs) {
    v7State.seq = (r[6]! << 23) | (r[7]! << 16) | (r[8]! << 8) | r[9]!;
    v7State.msecs = nowMs;
  } else {
    v7State.seq = (v7State.seq + 1) | 0;
    if (v7State.seq === 0) v7State.msecs += 1;
  }
  const { msecs, seq } = v7State;
  const b = new Uint8Array(16);
  b[0] = (msecs / 0x10000000000) & 0xff;
  b[1] = (msecs / 0x100000000) & 0xff;
  b[2] = (msecs / 0x1000000) & 0xff;
  b[3] = (msecs / 0x10000) & 0xff;
  b[4] = (msecs / 0x100) & 0xff;
  b[5] = msecs & 0xff;
  b[6] = 0x70 | ((seq >>> 28) & 0x0f);
  b[7] = (seq >>> 20) & 0xff;
  b[8] = 0x80 | ((seq >>> 14) & 0x3f);
  b[9] = (seq >>> 6) & 0xff;
  b[10] = ((seq << 2) & 0xff) | (r[10]! & 0x03);
  b.set(r.subarray(11, 16), 11);
  return formatUuid(b);
}
