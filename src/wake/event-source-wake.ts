import { Observable } from 'rxjs';
import { assertSecureBaseUrl } from '../auth/secure-base-url';
import { ValidationError } from '../errors/sync-error';
import { serverWakeFrom, SERVER_WAKE_DEFAULTS, type ChannelEvent, type ServerWake, type ServerWakeOptions } from './server-wake';

/** The part of the WHATWG `EventSource` the wake uses. */
export interface EventSourceLike {
  addEventListener(type: string, listener: () => void): void;
  close(): void;
}

/** An `EventSource` constructor (the platform's, or a test double). */
export type EventSourceConstructor = new (url: string, init?: { readonly withCredentials?: boolean }) => EventSourceLike;

/** Options of `eventSourceWake`. */
export interface EventSourceWakeOptions extends ServerWakeOptions {
  /** Default: the global `EventSource` (browsers). */
  readonly EventSource?: EventSourceConstructor;
  /** Send cookies cross-origin (`EventSource` `withCredentials`). Default false. */
  readonly withCredentials?: boolean;
}

/**
 * A `ServerWake` over Server-Sent Events: an event named `ready`
 * (`options.event`) makes the engine `syncNow()`. On an error the stream
 * is closed and reopened after this wake's own backoff wait
 * (`options.reconnect`) rather than the browser's fixed retry, also after a
 * non-200 answer (where a browser gives up). `https://` is required unless
 * the host is loopback. The reference backend serves it at `GET /events`.
 *
 * Throws `ValidationError('invalidOptions')` for an insecure URL, or where
 * the platform has no `EventSource` and none is given (Node).
 *
 * @example
 * createSyncEngine({ ...options, serverWake: eventSourceWake('https://api.example.com/events') });
 */
export function eventSourceWake(url: string, options: EventSourceWakeOptions = {}): ServerWake {
  assertSecureBaseUrl(url, 'eventSourceWake url');
  const Ctor = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  if (Ctor === undefined) {
    throw new ValidationError('invalidOptions', 'eventSourceWake: no EventSource on this platform (pass options.EventSource)');
  }
  const event = options.event ?? SERVER_WAKE_DEFAULTS.event;
  const init = { withCredentials: options.withCredentials ?? false };
  const connect = (): Observable<ChannelEvent> =>
    new Observable<ChannelEvent>((subscriber) => {
      const source = new Ctor(url, init);
      source.addEventListener('open', () => subscriber.next('open'));
      source.addEventListener(event, () => subscriber.next('ready'));
      source.addEventListener('error', () => subscriber.error(new Error('event stream failed')));
      return () => source.close();
    });
  return serverWakeFrom(connect, options);
}
