import { Observable, type SchedulerLike } from 'rxjs';
import type { HttpRequest, HttpTransport } from '../../src/api/http-transport';
import type { HttpResponseLike } from '../../src/policy/classify-response';

/** One scripted answer of the fake server. */
export type ScriptStep =
  /** Answer with this status, body and headers after `afterMs` of virtual time. */
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly body: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly afterMs: number;
    }
  /** Fail like `fetch` does without a connection (`TypeError`), after `afterMs`. */
  | { readonly kind: 'networkError'; readonly afterMs: number }
  /** Never answer (until aborted). */
  | { readonly kind: 'hang' };

/** A `200 { data }` answer. */
export const ok = (data: unknown = {}, afterMs = 10, status = 200): ScriptStep => ({
  kind: 'respond',
  status,
  body: JSON.stringify({ data }),
  headers: { 'content-type': 'application/json' },
  afterMs,
});

/** An error answer with the JSON error envelope `{ error: { code, message } }`. */
export const fail = (
  status: number,
  options: { readonly code?: string; readonly details?: unknown; readonly headers?: Record<string, string>; readonly afterMs?: number } = {},
): ScriptStep => ({
  kind: 'respond',
  status,
  body: JSON.stringify({ error: { code: options.code ?? `status_${status}`, message: 'scripted', details: options.details } }),
  headers: { 'content-type': 'application/json', ...options.headers },
  afterMs: options.afterMs ?? 10,
});

/** A raw answer (any body text). */
export const raw = (status: number, body: string, afterMs = 10): ScriptStep => ({ kind: 'respond', status, body, headers: {}, afterMs });

export const networkError = (afterMs = 10): ScriptStep => ({ kind: 'networkError', afterMs });
export const hang = (): ScriptStep => ({ kind: 'hang' });

/** What the fake server saw of one request. */
export interface RecordedRequest {
  readonly request: HttpRequest;
  /** Virtual time the request was sent. */
  readonly sentAt: number;
  /** Virtual time the answer was delivered, if it was. */
  answeredAt?: number;
  /** Virtual time the client aborted it (unsubscribed), if it did. */
  abortedAt?: number;
  /** The step that was used. */
  readonly step: ScriptStep;
}

/**
 * A fake HTTP server for marble tests: answers requests from a script, in
 * order, on the injected scheduler (virtual time), and records every request
 * with its headers, send time and abort time. When the script runs out it
 * answers with `fallback` (default `ok()`).
 *
 * @example
 * const server = new ScriptedTransport(m.scheduler);
 * server.script(fail(500), fail(500), ok({ id: 1 }));
 * const api = createApiClient({ baseUrl: 'https://api.test', transport: server.transport, scheduler: m.scheduler });
 */
export class ScriptedTransport {
  readonly requests: RecordedRequest[] = [];
  readonly #steps: ScriptStep[] = [];
  readonly #scheduler: SchedulerLike;
  fallback: ScriptStep = ok();

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** Append answers to the script. */
  script(...steps: ScriptStep[]): this {
    this.#steps.push(...steps);
    return this;
  }

  /** Steps not used yet. */
  get remaining(): number {
    return this.#steps.length;
  }

  /** Requests whose header `name` has this value (e.g. by Idempotency-Key). */
  withHeader(name: string, value: string): RecordedRequest[] {
    return this.requests.filter((r) => r.request.headers[name] === value);
  }

  readonly transport: HttpTransport = (request) =>
    new Observable<HttpResponseLike>((subscriber) => {
      const step = this.#steps.shift() ?? this.fallback;
      const rec: RecordedRequest = { request, sentAt: this.#scheduler.now(), step };
      this.requests.push(rec);
      if (step.kind === 'hang') {
        return () => {
          rec.abortedAt = this.#scheduler.now();
        };
      }
      const action = this.#scheduler.schedule(() => {
        rec.answeredAt = this.#scheduler.now();
        if (step.kind === 'networkError') {
          subscriber.error(new TypeError('fetch failed'));
          return;
        }
        const headers = new Map(Object.entries(step.headers).map(([k, v]) => [k.toLowerCase(), v] as const));
        subscriber.next({ status: step.status, headers: { get: (name) => headers.get(name.toLowerCase()) ?? null }, bodyText: step.body });
        subscriber.complete();
      }, step.afterMs);
      return () => {
        if (rec.answeredAt === undefined) rec.abortedAt = this.#scheduler.now();
        action.unsubscribe();
      };
    });
}
