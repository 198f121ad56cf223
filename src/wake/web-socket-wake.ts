import { Observable } from 'rxjs';
import { assertSecureBaseUrl } from '../auth/secure-base-url';
import { ValidationError } from '../errors/sync-error';
import { isAnnouncement, serverWakeFrom, SERVER_WAKE_DEFAULTS, type ChannelEvent, type ServerWake, type ServerWakeOptions } from './server-wake';

/** The part of the WHATWG `WebSocket` the wake uses. */
export interface WebSocketLike {
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  close(): void;
}

/** A `WebSocket` constructor (the platform's, the `ws` package's, or a test double). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of `webSocketWake`. */
export interface WebSocketWakeOptions extends ServerWakeOptions {
  /** Default: the global `WebSocket` (browsers, Node ≥ 22). */
  readonly WebSocket?: WebSocketConstructor;
}

/**
 * A `ServerWake` over a WebSocket: a message whose text is `'ready'` (or a
 * JSON message `{ "type": "ready" }`; `options.event` renames it) makes the
 * engine `syncNow()`. A closed or failed socket is reopened after a backoff
 * wait (`options.reconnect`). Other messages are ignored; nothing is ever
 * sent. `wss://` is required unless the host is loopback.
 *
 * Throws `ValidationError('invalidOptions')` for an insecure URL, or where
 * the platform has no `WebSocket` and none is given (Node 20: pass the `ws`
 * package's).
 *
 * @example
 * createSyncEngine({ ...options, serverWake: webSocketWake('wss://api.example.com/events') });
 */
export function webSocketWake(url: string, options: WebSocketWakeOptions = {}): ServerWake {
  assertSecureBaseUrl(url.replace(/^ws(s?):/i, 'http$1:'), 'webSocketWake url');
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ctor === undefined) {
    throw new ValidationError('invalidOptions', 'webSocketWake: no WebSocket on this platform (pass options.WebSocket)');
  }
  const event = options.event ?? SERVER_WAKE_DEFAULTS.event;
  const connect = (): Observable<ChannelEvent> =>
    new Observable<ChannelEvent>((subscriber) => {
      const socket = new Ctor(url);
      const dropped = (): void => subscriber.error(new Error('web socket closed'));
      socket.addEventListener('open', () => subscriber.next('open'));
      socket.addEventListener('message', (e) => {
        if (isAnnouncement(e.data, event)) subscriber.next('ready');
      });
      socket.addEventListener('close', dropped);
      socket.addEventListener('error', dropped);
      return () => socket.close();
    });
  return serverWakeFrom(connect, options);
}
