import { asyncScheduler, throwError, type Observable, type SchedulerLike } from 'rxjs';
import { assertSecureBaseUrl } from '../auth/secure-base-url';
import { ValidationError } from '../errors/sync-error';
import { timerOptionMs } from '../policy/timer-option';
import { readBatchAnswer } from './batch-answer';
import type { BatchEntryResult, BatchRequest } from './batch-types';
import { classifiedExchange, type ApiResponse, type ReadAnswer } from './classified-exchange';
import { FETCH_TRANSPORT_DEFAULTS, fetchTransport, type FetchLike, type HttpRequest, type HttpTransport } from './http-transport';
import { extraHeaders } from './request-headers';

export type { ApiResponse } from './classified-exchange';

/** What the pipeline asks the API client to send for one attempt of an op. */
export interface ApiRequest {
  readonly method: string;
  /** Path below `baseUrl`, e.g. `/todos/42`. */
  readonly path: string;
  /** Wire body (JSON-serialised by the client); undefined for no body. */
  readonly body?: unknown;
  /** Bearer token; null sends no `Authorization` header. */
  readonly token: string | null;
  readonly idempotencyKey: string;
  readonly traceId: string;
  /**
   * Extra headers (e.g. W3C `traceparent`). The client's own (`Authorization`,
   * `Idempotency-Key`, `Trace-Id`, `Content-Type`, `Accept`) are dropped from
   * them in any case, even where the client sends none (no token, no body);
   * a name or value `fetch` would refuse fails the request with
   * `ValidationError('invalidOptions')`.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends requests; every failure arrives as a typed `SyncError`. */
export interface ApiClient {
  /**
   * Cold: each subscription sends once. Emits the classified answer and
   * completes, or errors with a `SyncError` (network, timeout, HTTP status
   * classes from `classifyResponse`). Unsubscribing aborts the request.
   */
  send(request: ApiRequest): Observable<ApiResponse>;
  /**
   * Cold, like `send`: one `POST` of `{ ops: [...] }` to `request.path`
   * through the same transport, timeout, redirect refusal and size cap.
   * Emits one result per entry, in the entries' order, and completes. A
   * failure of the whole request errors exactly as `send` does (`413` is a
   * `PermanentError` with status 413: split the batch); an answer that
   * cannot be matched to the entries errors with `MalformedResponseError`
   * `batchMismatch` (`docs/api_envelope.md`, "Batch").
   */
  sendBatch(request: BatchRequest): Observable<readonly BatchEntryResult[]>;
}

/** Options of `createApiClient`. */
export interface ApiClientOptions {
  /** `https://…`, or `http://` on a loopback host only (127.0.0.0/8, localhost, [::1]). */
  readonly baseUrl: string;
  /** Default: `defaultFetch()` (`globalThis.fetch`; `nodeFetch()` once `sync-engine/node` is loaded). Ignored when `transport` is given. */
  readonly fetch?: FetchLike;
  /** Replaces the fetch transport (tests: a scripted transport in virtual time); it must not follow redirects. */
  readonly transport?: HttpTransport;
  /**
   * Longest response body read, bytes; past it the request is aborted (a
   * 2xx is then a `MalformedResponseError` `tooLarge`, other statuses are
   * classified without their body). Default 1 048 576 (1 MiB). Applies to
   * the fetch transport; a custom `transport` enforces its own.
   */
  readonly maxResponseBytes?: number;
  /** Per-request timeout covering the whole exchange (headers and body), ms. Default 15 000. */
  readonly requestTimeoutMs?: number;
  /** Runs the timeout. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Clock for `Retry-After` HTTP-dates, epoch ms. Default `scheduler.now()`. */
  readonly now?: () => number;
}

/** Defaults of `ApiClientOptions`. */
export const API_CLIENT_DEFAULTS = Object.freeze({
  requestTimeoutMs: 15_000,
  maxResponseBytes: FETCH_TRANSPORT_DEFAULTS.maxResponseBytes,
});

const joinUrl = (base: string, path: string): string =>
  `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;

/**
 * The API client: builds the request (`Authorization: Bearer`,
 * `Idempotency-Key`, `Trace-Id`, `Content-Type: application/json`), sends it
 * through the transport with a timeout on the injected scheduler (the
 * timeout unsubscribes, which aborts the fetch), reads the body as text and
 * maps every outcome through `classifyResponse` / `classifyError`.
 *
 * Throws `ValidationError('invalidOptions')` at construction for a base URL
 * that would send tokens in clear text (non-loopback `http://`), or a
 * `requestTimeoutMs` a timer cannot honour (not > 0, or above 2^31 − 1 ms), or a
 * bad `maxResponseBytes`. Redirects are never followed: a 3xx fails the
 * attempt with a permanent `RedirectError`.
 *
 * @example
 * const api = createApiClient({ baseUrl: 'https://api.example.com' });
 * api.send({ method: 'POST', path: '/todos', body: { title: 'x' }, token, idempotencyKey, traceId })
 *   .subscribe({ next: (r) => r.data, error: (e: SyncError) => e.kind });
 * api.sendBatch({ path: '/batch', token, entries: [{ method: 'POST', path: '/todos', body, idempotencyKey, traceId }] })
 *   .subscribe((results) => results.map((r) => r.kind)); // ['ok'] | ['error'] | ['notApplied']
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = assertSecureBaseUrl(options.baseUrl).toString();
  const timeoutMs = timerOptionMs('requestTimeoutMs', options.requestTimeoutMs ?? API_CLIENT_DEFAULTS.requestTimeoutMs);
  const maxResponseBytes = options.maxResponseBytes ?? API_CLIENT_DEFAULTS.maxResponseBytes;
  if (!(Number.isSafeInteger(maxResponseBytes) && maxResponseBytes > 0)) {
    throw new ValidationError('invalidOptions', 'maxResponseBytes: expected a positive whole number of bytes');
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  const now = options.now ?? (() => scheduler.now());
  const transport = options.transport ?? fetchTransport(options.fetch, { maxResponseBytes });
  const exchange = <T>(build: () => HttpRequest, read?: ReadAnswer<T>): Observable<T> => {
    let httpRequest: HttpRequest;
    try {
      httpRequest = build();
    } catch (err) {
      return throwError(() => err); // a header the app supplied that fetch would refuse
    }
    return classifiedExchange(transport, httpRequest, timeoutMs, scheduler, now, read);
  };
  return {
    send: (request) => exchange<ApiResponse>(() => httpRequestFor(base, request)),
    sendBatch: (request) =>
      exchange(
        () => batchHttpRequestFor(base, request),
        (res, at) => readBatchAnswer(res, at, request.entries.length),
      ),
  };
}

/** The headers every request carries: the caller's extra headers, then ours (they cannot be overridden). */
function baseHeaders(token: string | null, extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...extraHeaders(extra), Accept: 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** The wire request of one op: base headers, its `Idempotency-Key` and `Trace-Id`, JSON body. */
function httpRequestFor(base: string, request: ApiRequest): HttpRequest {
  const headers = baseHeaders(request.token, request.headers);
  headers['Idempotency-Key'] = request.idempotencyKey;
  headers['Trace-Id'] = request.traceId;
  let body: string | undefined;
  if (request.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(request.body);
  }
  return { method: request.method, url: joinUrl(base, request.path), headers, body };
}

/**
 * The wire request of a batch: `POST` of `{ ops: [{ idempotencyKey, traceId,
 * method, path, body }] }`. No batch-level `Idempotency-Key` or `Trace-Id`:
 * each entry carries its own, and a batch may be re-formed (split, or
 * joined by other ops) between attempts while every op keeps its key.
 */
function batchHttpRequestFor(base: string, request: BatchRequest): HttpRequest {
  const headers = baseHeaders(request.token, request.headers);
  headers['Content-Type'] = 'application/json';
  const ops = request.entries.map((e) => ({ idempotencyKey: e.idempotencyKey, traceId: e.traceId, method: e.method, path: e.path, body: e.body }));
  return { method: 'POST', url: joinUrl(base, request.path), headers, body: JSON.stringify({ ops }) };
}
