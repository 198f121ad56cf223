import { created, todosEndpoint } from './page-helpers';

/** One request as the server saw it: who sent it, and while when it was open. */
export interface SeenRequest {
  readonly id: string;
  readonly key: string;
  readonly tab: string;
  readonly start: number;
  /** When the answer was sent or the client went away (`Date.now()`); undefined while open. */
  end?: number;
}

/**
 * The backend of the handover tests and bench: `POST /todos` applies an op
 * once per `Idempotency-Key` (a repeat gets the same answer, no new
 * effect), answers after `delayMs`, and keeps every request with its
 * sender (`X-Tab`) and the time it was open, so "exactly one tab sends at
 * any time" can be checked on the server's side.
 *
 * @example
 * const backend = new HandoverBackend(20);
 * const server = await servePage(entry, backend.handle);
 */
export class HandoverBackend {
  readonly requests: SeenRequest[] = [];
  /** Effects applied, in order: one per new key. */
  readonly effects: string[] = [];
  readonly #applied = new Map<string, string>();

  constructor(private readonly delayMs: number) {}

  /** The `servePage` api hook: true when it answered. */
  readonly handle = todosEndpoint(({ id }, req, res) => {
    const key = String(req.headers['idempotency-key']);
    const seen: SeenRequest = { id, key, tab: String(req.headers['x-tab']), start: Date.now() };
    this.requests.push(seen);
    res.on('close', () => (seen.end ??= Date.now()));
    if (!this.#applied.has(key)) {
      this.#applied.set(key, id);
      this.effects.push(id);
    }
    return created({ id }, this.delayMs);
  });

  /** Ids whose effect was applied more than once (always empty: keys dedupe; a second key for one id would show here). */
  duplicateEffects(): string[] {
    const counts = new Map<string, number>();
    for (const id of this.effects) counts.set(id, (counts.get(id) ?? 0) + 1);
    return [...counts].filter(([, c]) => c > 1).map(([id]) => id);
  }

  /** Requests that arrived while a request of another tab was still open: two senders at once. */
  overlaps(): Array<readonly [SeenRequest, SeenRequest]> {
    const out: Array<readonly [SeenRequest, SeenRequest]> = [];
    for (const r of this.requests) {
      for (const o of this.requests) {
        if (o === r || o.tab === r.tab) continue;
        if (o.start <= r.start && (o.end === undefined || o.end > r.start)) out.push([o, r]);
      }
    }
    return out;
  }

  /** The first request of `tab`, if any. */
  firstOf(tab: string): SeenRequest | undefined {
    return this.requests.find((r) => r.tab === tab);
  }
}
