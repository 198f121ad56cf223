import { createHash } from 'node:crypto';
import type { StoredAnswer } from './http-answer';

/** What the layer says about a mutating request. */
export type IdempotencyClaim =
  /** The key already has an answer for this same request: replay it, no second effect. */
  | { readonly kind: 'replay'; readonly answer: StoredAnswer }
  /** The key was used with a different request (422). */
  | { readonly kind: 'mismatch' }
  /** A request with this key is still being processed (409 `idempotency_key_in_use`). */
  | { readonly kind: 'inUse' }
  /** New (or no key): the key is now taken; `settle` stores the answer, `release` gives the key up. */
  | { readonly kind: 'new'; settle(answer: StoredAnswer): void; release(): void };

interface Entry {
  readonly fingerprint: string;
  readonly createdAt: number;
  answer?: StoredAnswer;
}

/** Stable JSON (sorted keys) so fingerprints do not depend on key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The request a key was first used with: method, path and the canonical body (or its raw text when not JSON). */
export function requestFingerprint(method: string, path: string, body: { readonly json: unknown } | { readonly text: string }): string {
  const content = 'json' in body ? canonical(body.json) : body.text;
  return createHash('sha256').update(`${method} ${path}\n${content}`).digest('base64url');
}

/** Accept the draft's sf-string form (`"…"`) and a bare token. */
export function parseIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined || Array.isArray(raw)) return undefined;
  const v = raw.trim();
  const m = /^"([^"\\]*)"$/.exec(v);
  return m ? m[1] : v;
}

/**
 * The reference backend's Idempotency-Key layer (IETF httpapi draft): key →
 * the request's fingerprint and, once decided, the stored answer. A repeat
 * of the same request replays the answer; a different request under the key
 * is a mismatch; a repeat while the first is still processing is "in use".
 * Answers expire after `ttlMs` (checked on use, swept every 1000 claims).
 */
export class IdempotencyLayer {
  #entries = new Map<string, Entry>();
  #sweepCountdown = 1000;

  constructor(
    private readonly now: () => number,
    private readonly ttlMs: number,
  ) {}

  /** Look the key up and, when it is new, take it. Without a key, always `new` (nothing stored). */
  claim(key: string | undefined, fingerprint: string): IdempotencyClaim {
    this.#sweep();
    if (key) {
      const existing = this.#entries.get(key);
      if (existing && existing.createdAt + this.ttlMs <= this.now() && existing.answer) this.#entries.delete(key);
      const entry = this.#entries.get(key);
      if (entry) {
        if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (!entry.answer) return { kind: 'inUse' };
        return { kind: 'replay', answer: entry.answer };
      }
    }
    const entry: Entry = { fingerprint, createdAt: this.now() };
    if (key) this.#entries.set(key, entry);
    return {
      kind: 'new',
      // Domain answers (2xx and 4xx) are final for the key and replayed.
      settle: (answer) => {
        entry.answer = answer;
      },
      release: () => {
        if (key) this.#entries.delete(key);
      },
    };
  }

  /** Forget every key. */
  reset(): void {
    this.#entries = new Map();
  }

  #sweep(): void {
    this.#sweepCountdown -= 1;
    if (this.#sweepCountdown > 0) return;
    this.#sweepCountdown = 1000;
    const t = this.now();
    for (const [k, e] of this.#entries) if (e.answer && e.createdAt + this.ttlMs <= t) this.#entries.delete(k);
  }
}
