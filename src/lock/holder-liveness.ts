import { Observable, interval, type SchedulerLike } from 'rxjs';
import type { BroadcastChannelConstructor, BroadcastChannelLike } from '../wake/broadcast-channel-like';

/** The part of the WHATWG `BroadcastChannel` the liveness probe uses. */
export type LivenessChannelLike = BroadcastChannelLike;

/** A `BroadcastChannel` constructor (the platform's, or a test double). */
export type LivenessChannelConstructor = BroadcastChannelConstructor;

/** Probes in a row left unanswered before the holder counts as unresponsive. */
export const UNANSWERED_PROBES = 3;

const PING = Object.freeze({ protocol: 'sync-engine/lock-liveness/1', kind: 'ping' });
const PONG = Object.freeze({ protocol: 'sync-engine/lock-liveness/1', kind: 'pong' });

const isKind = (data: unknown, kind: 'ping' | 'pong'): boolean =>
  typeof data === 'object' && data !== null && (data as { protocol?: unknown }).protocol === PING.protocol && (data as { kind?: unknown }).kind === kind;

/** Whether the holder of a Web Lock can still run, as the tabs waiting for it find out. */
export interface HolderLiveness {
  /**
   * Answer the waiting tabs' probes until the returned function is called.
   * Each answer goes out from a task on `scheduler` (a timer in browsers):
   * a page whose timers are frozen — Chromium's freeze without a `freeze`
   * event (DevTools' `Page.setWebLifecycleState`), a page paused in a
   * debugger — does not answer, although it may still run network and
   * message tasks.
   */
  serve(): () => void;
  /**
   * While subscribed: probe every `probeMs`; emit once, then complete, when
   * `UNANSWERED_PROBES` probes in a row went unanswered by any holder.
   * Counted in probes, not in elapsed time: a wall clock that steps, or
   * this page being throttled or frozen itself, does not make a live
   * holder look dead.
   */
  readonly silence$: Observable<void>;
}

/**
 * Liveness of the holder of the Web Lock `name`, over a `BroadcastChannel`
 * of its own (`<name>:liveness`; same origin only, nothing but a ping and a
 * pong travels). The Web Locks lock uses it to tell a holder that can no
 * longer run — and so will never release — from one that is merely busy.
 *
 * ```
 * probe (waiter)   p---p---p---p
 * answer (holder)  -a--------------   frozen after the first answer
 * silence$         ------------s|     three probes in a row unanswered
 * ```
 *
 * @example
 * const liveness = holderLiveness('sync-engine:processorLock:abc', BroadcastChannel, 1000, asyncScheduler);
 * const stop = liveness.serve(); // while holding
 * liveness.silence$.subscribe(() => stealTheLock()); // while waiting
 */
export function holderLiveness(name: string, Channel: LivenessChannelConstructor, probeMs: number, scheduler: SchedulerLike): HolderLiveness {
  const channelName = `${name}:liveness`;
  return {
    serve: () => {
      const channel = new Channel(channelName);
      const onMessage = (event: { readonly data: unknown }): void => {
        if (isKind(event?.data, 'ping')) scheduler.schedule(() => post(channel, PONG));
      };
      channel.addEventListener('message', onMessage);
      return () => {
        channel.removeEventListener('message', onMessage);
        channel.close();
      };
    },
    silence$: new Observable<void>((subscriber) => {
      const channel = new Channel(channelName);
      let answered = false;
      let unanswered = 0;
      const onMessage = (event: { readonly data: unknown }): void => {
        if (isKind(event?.data, 'pong')) answered = true;
      };
      channel.addEventListener('message', onMessage);
      post(channel, PING);
      const probes = interval(probeMs, scheduler).subscribe(() => {
        unanswered = answered ? 0 : unanswered + 1;
        answered = false;
        if (unanswered >= UNANSWERED_PROBES) {
          subscriber.next();
          subscriber.complete();
          return;
        }
        post(channel, PING);
      });
      return () => {
        probes.unsubscribe();
        channel.removeEventListener('message', onMessage);
        channel.close();
      };
    }),
  };
}

/** Post, never throw: a probe that cannot go out is an unanswered probe. */
function post(channel: LivenessChannelLike, message: unknown): void {
  try {
    channel.postMessage(message);
  } catch {
    // closed by the platform: nothing to do
  }
}

/**
 * The platform's `BroadcastChannel` where the Web Lock is the browser's
 * own (a page or a worker); undefined elsewhere (Node's global one is not
 * wanted there: no Web Lock is the platform's in Node).
 *
 * @example
 * const Channel = platformLivenessChannel(); // BroadcastChannel in browsers
 */
export function platformLivenessChannel(): LivenessChannelConstructor | undefined {
  const g = globalThis as { BroadcastChannel?: LivenessChannelConstructor; process?: { versions?: { node?: unknown } } };
  if (typeof g.process?.versions?.node === 'string') return undefined;
  return typeof g.BroadcastChannel === 'function' ? g.BroadcastChannel : undefined;
}
