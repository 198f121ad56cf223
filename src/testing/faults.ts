import { mulberry32 } from './prng';

/**
 * One injected fault, applied to one request. Transport and overload
 * faults (reset, hang, 5xx, 429, token expiry) answer before the
 * idempotency layer: nothing is applied and the key is not taken. Domain
 * answers (`conflict`, `badRequest`) go through it. The rest let the request
 * commit first.
 */
export type Fault =
  /** Wait `ms` before handling the request normally. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Destroy the socket before processing (client sees a reset). No effect. */
  | { readonly kind: 'reset' }
  /**
   * Hold the request for `ms` (default: until the server closes).
   * `commit: false` (default): then destroy the socket, no effect.
   * `commit: true`: take the idempotency key first, apply after `ms`, store
   * the answer, and write it to whatever is left of the socket — repeats of
   * the key meanwhile get 409 `idempotency_key_in_use`.
   */
  | { readonly kind: 'hang'; readonly ms?: number; readonly commit?: boolean }
  /** Answer 500/502/503/504 (optionally with Retry-After, or an HTML body as a proxy would). No effect. */
  | {
      readonly kind: 'status';
      readonly status: 500 | 502 | 503 | 504;
      readonly retryAfter?: RetryAfter;
      readonly html?: boolean;
    }
  /** Answer 429 with `Retry-After` (delay-seconds or an HTTP-date). No effect. */
  | { readonly kind: 'rateLimit'; readonly retryAfter: RetryAfter }
  /**
   * Answer a 409 domain conflict (`error.code`, default `version_conflict`). No effect.
   * A domain answer: decided at the idempotency layer — a key that already
   * has an answer replays it instead, and the injected answer is stored for
   * the key (its repeats get the same 409).
   */
  | { readonly kind: 'conflict'; readonly code?: string }
  /** Answer 400 `bad_request`. No effect. A domain answer, like `conflict`. */
  | { readonly kind: 'badRequest' }
  /** Expire every token issued so far and answer 401 `token_expired`. No effect. */
  | { readonly kind: 'expireToken' }
  /** Apply and store the answer, then destroy the socket: the client never hears. */
  | { readonly kind: 'commitThenDrop' }
  /** Apply, then answer 200 with a non-JSON body (the stored answer stays the real one). */
  | { readonly kind: 'nonJson' }
  /** Apply, then answer 200 `{ "data": 42 }`, which fails any object codec. */
  | { readonly kind: 'malformed' };

export type FaultKind = Fault['kind'];

/**
 * A `Retry-After` value: delay-seconds, or `{ dateInMs }` = now + ms sent
 * as an IMF-fixdate (rounded up to the next whole second).
 */
export type RetryAfter = number | { readonly dateInMs: number };

/** What a fault rule sees of a request (never headers or body). */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
  /** 1-based count of non-auth requests the server has seen, this one included. */
  readonly seq: number;
  readonly idempotencyKey?: string;
  /**
   * Set for a batch request and for each of its entries: `size` entries,
   * and `entry`, the 0-based index of this entry (absent for the batch
   * request itself). Each entry the server processes draws its own fault
   * after the batch request drew one (entries answered 424 draw none).
   */
  readonly batch?: { readonly size: number; readonly entry?: number };
}

/** Options of a seeded-random fault schedule. */
export interface RandomFaultOptions {
  readonly seed: number;
  /** Probability per request of each kind (sum ≤ 1), e.g. `{ reset: 0.05, status: 0.1 }`. */
  readonly rates: Partial<Record<FaultKind, number>>;
  /** Range for `latency` (ms, inclusive). Default [5, 50]. */
  readonly latencyMs?: readonly [number, number];
  /** `hang` duration (ms). Default 1500. */
  readonly hangMs?: number;
  /** Retry-After seconds for `rateLimit`. Default 1. */
  readonly retryAfterSeconds?: number;
  /** Only requests this predicate accepts get faults. Default: mutating methods. */
  readonly match?: (req: RequestInfo) => boolean;
}

export type FaultRule = (req: RequestInfo) => Fault | null | undefined;

const isMutating = (req: RequestInfo): boolean => req.method !== 'GET' && req.method !== 'HEAD';

/**
 * The fault control of a reference backend. Precedence per request: `down`,
 * then the script (one entry per request, `null` = no fault), then the
 * rule, then the random schedule.
 *
 * @example
 * backend.faults.script([{ kind: 'status', status: 503 }, null, { kind: 'commitThenDrop' }]);
 * backend.faults.random({ seed: 7, rates: { reset: 0.05, rateLimit: 0.05 } });
 */
export class FaultController {
  #script: (Fault | null)[] = [];
  #rule: FaultRule | undefined;
  #random: { next: () => number; opts: RandomFaultOptions } | undefined;
  #down = false;
  readonly #injected = new Map<FaultKind | 'down', number>();
  readonly #recovered = new Set<() => void>();

  /** Queue faults for the next requests, in order (`null` lets one pass). */
  script(faults: readonly (Fault | null)[]): this {
    this.#script.push(...faults);
    return this;
  }

  /** Faults still queued by `script`. */
  get scripted(): number {
    return this.#script.length;
  }

  /** A function deciding a fault per request (replaces the previous rule). */
  rule(rule: FaultRule | undefined): this {
    this.#rule = rule;
    return this;
  }

  /** A seeded-random schedule (replaces the previous one): same seed, same faults. */
  random(opts: RandomFaultOptions | undefined): this {
    this.#random = opts ? { next: mulberry32(opts.seed), opts } : undefined;
    return this;
  }

  /**
   * While down, every request's connection is reset (the server is
   * unreachable). Coming back up (`down(false)` or `clear()` after
   * `down(true)`) is announced: the backend sends `ready` on `GET /events`.
   */
  down(isDown: boolean): this {
    const wasDown = this.#down;
    this.#down = isDown;
    if (wasDown && !isDown) for (const listener of [...this.#recovered]) listener();
    return this;
  }

  /** Call `listener` each time the server comes back up from `down`. Returns an unsubscribe. */
  onRecovered(listener: () => void): () => void {
    this.#recovered.add(listener);
    return () => {
      this.#recovered.delete(listener);
    };
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Drop the script, the rule, the random schedule and `down`. */
  clear(): this {
    this.#script = [];
    this.#rule = undefined;
    this.#random = undefined;
    return this.down(false);
  }

  /** How many faults of each kind were injected so far. */
  injected(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#injected);
  }

  /**
   * @internal The fault for this request, counted as injected. A fault
   * `accepts` refuses (one with no meaning for this request) is used up but
   * neither injected nor counted.
   */
  next(req: RequestInfo, accepts: (fault: Fault) => boolean = () => true): Fault | 'down' | null {
    const picked = this.#pick(req);
    const pick = picked !== null && picked !== 'down' && !accepts(picked) ? null : picked;
    if (pick !== null) {
      const kind = pick === 'down' ? 'down' : pick.kind;
      this.#injected.set(kind, (this.#injected.get(kind) ?? 0) + 1);
    }
    return pick;
  }

  #pick(req: RequestInfo): Fault | 'down' | null {
    if (this.#down) return 'down';
    if (this.#script.length > 0) return this.#script.shift() ?? null;
    const fromRule = this.#rule?.(req);
    if (fromRule) return fromRule;
    if (this.#random) {
      const { next, opts } = this.#random;
      if (!(opts.match ?? isMutating)(req)) return null;
      // Draw a fixed number of values per request, so a schedule does not
      // shift when rates change for one kind.
      const r = next();
      const r2 = next();
      let acc = 0;
      for (const [kind, rate] of Object.entries(opts.rates) as [FaultKind, number][]) {
        acc += rate;
        if (r < acc) return randomFault(kind, opts, r2);
      }
    }
    return null;
  }
}

function randomFault(kind: FaultKind, opts: RandomFaultOptions, r: number): Fault {
  switch (kind) {
    case 'latency': {
      const [lo, hi] = opts.latencyMs ?? [5, 50];
      return { kind, ms: Math.round(lo + r * (hi - lo)) };
    }
    case 'hang':
      return { kind, ms: opts.hangMs ?? 1500, commit: r < 0.5 };
    case 'status':
      return { kind, status: ([500, 502, 503, 504] as const)[Math.floor(r * 4)] ?? 500 };
    case 'rateLimit': {
      const s = opts.retryAfterSeconds ?? 1;
      return { kind, retryAfter: r < 0.5 ? s : { dateInMs: s * 1000 } };
    }
    case 'conflict':
      return { kind };
    default:
      return { kind } as Fault;
  }
}
