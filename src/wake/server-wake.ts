import { Observable, asyncScheduler, defer, filter, retry, share, timer, type SchedulerLike } from 'rxjs';
import { computeBackoff, resolveBackoffPolicy } from '../policy/backoff';

/**
 * A server push channel announcing that the server is ready (back from an
 * outage, a deploy, maintenance): the spec's optional real-time channel.
 * Given as `serverWake`, the engine subscribes while started and calls
 * `syncNow()` on each announcement, so a queue waiting on its own backoff
 * is sent at once. Only a hint: it carries no data, and without it the
 * engine simply waits its backoff out.
 */
export interface ServerWake {
  /**
   * Emits on each "ready" announcement. Cold: subscribing opens the
   * channel, unsubscribing closes it; a dropped channel is reconnected with
   * backoff, so it never errors.
   */
  readonly ready$: Observable<unknown>;
}

/** Options shared by `webSocketWake` and `eventSourceWake`. */
export interface ServerWakeOptions {
  /** The announcement: the SSE event name, or the WebSocket message text (or a JSON message's `type`). Default `'ready'`. */
  readonly event?: string;
  /**
   * Waits before reconnecting a dropped channel, ms: `baseMs × 2^n` up to
   * `capMs`, ±20 % jitter; back to `baseMs` once a connection opens.
   * Default 1 000 and 60 000.
   */
  readonly reconnect?: { readonly baseMs?: number; readonly capMs?: number };
  /** Timers of the reconnect waits. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** What one connection reports: `open` once connected, `ready` per announcement. It errors when the channel drops. */
export type ChannelEvent = 'open' | 'ready';

/** Defaults of `ServerWakeOptions` (durations in ms). */
export const SERVER_WAKE_DEFAULTS = Object.freeze({
  event: 'ready',
  reconnectBaseMs: 1_000,
  reconnectCapMs: 60_000,
});

/**
 * A `ServerWake` from a connection factory: each subscription to
 * `connect()` is one connection; when it drops (errors or completes) the
 * next is opened after a backoff wait on `options.scheduler` — counted over
 * consecutive failures, reset once a connection opens. One connection is
 * shared by every subscriber of `ready$`.
 *
 * ```
 * connect()   --o---r---#   (wait)   --o--r--
 * ready$      ------r------------------- r--
 * ```
 *
 * @example
 * const wake = serverWakeFrom(() => connectToMyMqttTopic(), { scheduler });
 */
export function serverWakeFrom(connect: () => Observable<ChannelEvent>, options: ServerWakeOptions = {}): ServerWake {
  const policy = resolveBackoffPolicy({
    baseMs: options.reconnect?.baseMs ?? SERVER_WAKE_DEFAULTS.reconnectBaseMs,
    capMs: options.reconnect?.capMs ?? SERVER_WAKE_DEFAULTS.reconnectCapMs,
    jitter: 'proportional',
  });
  const scheduler = options.scheduler ?? asyncScheduler;
  // The documented default of an injectable.
  const random = options.random ?? Math.random;
  const ready$ = defer(() => connectUntilDropped(connect)).pipe(
    retry({ delay: (_err, failures) => timer(computeBackoff(failures - 1, policy, random), scheduler), resetOnSuccess: true }),
    filter((e) => e === 'ready'),
    share(),
  );
  return { ready$ };
}

/** A connection that ends is a drop like an error: reconnect either way. */
function connectUntilDropped(connect: () => Observable<ChannelEvent>): Observable<ChannelEvent> {
  return new Observable<ChannelEvent>((subscriber) =>
    connect().subscribe({
      next: (e) => subscriber.next(e),
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.error(new Error('channel closed')),
    }),
  );
}

/**
 * Whether a message announces readiness: its text is `event`, or it is JSON
 * whose `type` is `event`.
 *
 * @example
 * isAnnouncement('{"type":"ready"}', 'ready'); // true
 */
export function isAnnouncement(data: unknown, event: string): boolean {
  if (typeof data !== 'string') return false;
  if (data === event) return true;
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === event;
  } catch {
    return false;
  }
}
