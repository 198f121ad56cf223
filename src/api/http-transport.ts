import crossFetch from 'cross-fetch';
import { Observable } from 'rxjs';
import type { HttpResponseLike } from '../policy/classify-response';

/** One HTTP exchange as the API client builds it. */
export interface HttpRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or undefined for a body-less request. */
  readonly body?: string;
}

/**
 * Sends one request: emits the response (status, headers and the whole body
 * as text) once and completes, or errors with whatever the network layer
 * threw (the API client classifies it). Unsubscribing aborts the exchange.
 *
 * @example
 * const transport: HttpTransport = fetchTransport(globalThis.fetch);
 */
export type HttpTransport = (request: HttpRequest) => Observable<HttpResponseLike>;

/** The `fetch` signature the transport needs (WHATWG fetch, cross-fetch, undici). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * An `HttpTransport` on `fetch` (default: `cross-fetch`). Each subscription
 * makes an `AbortController`; unsubscribing before the body is read (timeout,
 * offline, lock lost, `stop()`) aborts the request, so no socket outlives the
 * attempt. A late rejection after the abort is swallowed by the teardown.
 *
 * @example
 * const transport = fetchTransport(globalThis.fetch);
 * transport({ method: 'GET', url: 'https://api.example.com/todos', headers: {} }).subscribe(console.log);
 */
export function fetchTransport(fetchFn: FetchLike = crossFetch as unknown as FetchLike): HttpTransport {
  return (request) =>
    new Observable<HttpResponseLike>((subscriber) => {
      const controller = new AbortController();
      let settled = false;
      fetchFn(request.url, {
        method: request.method,
        headers: { ...request.headers },
        body: request.body,
        signal: controller.signal,
      })
        .then(async (res) => {
          const bodyText = await res.text();
          return { status: res.status, headers: { get: (name: string) => res.headers.get(name) }, bodyText };
        })
        .then(
          (res) => {
            settled = true;
            subscriber.next(res);
            subscriber.complete();
          },
          (err: unknown) => {
            settled = true;
            subscriber.error(err);
          },
        );
      return () => {
        if (!settled) controller.abort();
      };
    });
}
