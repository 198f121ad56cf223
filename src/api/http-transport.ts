import { Observable } from 'rxjs';
import type { HttpResponseLike } from '../policy/classify-response';
import { defaultFetch } from './default-fetch';
import { readBodyCapped } from './read-body';

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
 * A transport must not follow redirects: a 3xx is handed to the engine as is.
 *
 * @example
 * const transport: HttpTransport = fetchTransport(globalThis.fetch);
 */
export type HttpTransport = (request: HttpRequest) => Observable<HttpResponseLike>;

/** The `fetch` signature the transport needs (WHATWG fetch, undici, cross-fetch). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of `fetchTransport`. */
export interface FetchTransportOptions {
  /** Longest response body read, bytes; past it the request is aborted (`bodyOverLimit`). Default 1 MiB. */
  readonly maxResponseBytes?: number;
}

/** Defaults of `FetchTransportOptions`. */
export const FETCH_TRANSPORT_DEFAULTS = Object.freeze({ maxResponseBytes: 1_048_576 });

const isRedirect = (res: Response): boolean =>
  res.type === 'opaqueredirect' || res.redirected === true || res.status === 0 || (res.status >= 300 && res.status <= 399);

/**
 * An `HttpTransport` on `fetch` (default: `defaultFetch()`, i.e. the platform's
 * registered fetch or `globalThis.fetch`). Each subscription makes an
 * `AbortController`; unsubscribing before the body is read (timeout,
 * offline, lock lost, `stop()`) aborts the request, so no socket outlives
 * the attempt. A late rejection after the abort is swallowed by the teardown.
 *
 * Redirects are never followed (`redirect: 'manual'`): a 3xx, the browser's
 * opaque redirect (status 0) or a response a custom fetch reached by
 * following one anyway is emitted without its body, for the classifier to
 * refuse. The body is read as a stream up to `maxResponseBytes`; past it the
 * request is aborted and the response emitted with `bodyOverLimit: true`.
 *
 * @example
 * const transport = fetchTransport(globalThis.fetch, { maxResponseBytes: 256 * 1024 });
 * transport({ method: 'GET', url: 'https://api.example.com/todos', headers: {} }).subscribe(console.log);
 */
export function fetchTransport(fetchFn: FetchLike = defaultFetch(), options: FetchTransportOptions = {}): HttpTransport {
  const maxResponseBytes = options.maxResponseBytes ?? FETCH_TRANSPORT_DEFAULTS.maxResponseBytes;
  return (request) =>
    new Observable<HttpResponseLike>((subscriber) => {
      const controller = new AbortController();
      let settled = false;
      fetchFn(request.url, {
        method: request.method,
        headers: { ...request.headers },
        body: request.body,
        redirect: 'manual',
        signal: controller.signal,
      })
        .then(async (res): Promise<HttpResponseLike> => {
          const head = {
            status: res.status,
            headers: { get: (name: string) => res.headers.get(name) },
            url: res.url || request.url,
            ...(res.redirected === true ? { redirected: true } : {}),
          };
          if (isRedirect(res)) {
            // Nothing in a redirect's body is used: drop the connection.
            controller.abort();
            return { ...head, bodyText: '' };
          }
          const body = await readBodyCapped(res, maxResponseBytes);
          if (!body.overLimit) return { ...head, bodyText: body.text };
          controller.abort();
          return { ...head, bodyText: '', bodyOverLimit: true };
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
