import { Subject, type SchedulerLike } from 'rxjs';
import type { CrossTabMessage, CrossTabPort } from '../../src/engine/cross-tab-port';

/**
 * Same-origin tabs in virtual time, for the cross-tab port: every `port()`
 * is one tab's `BroadcastChannel`. A post reaches every other open port
 * (never the poster), asynchronously like a real channel (scheduled on
 * `scheduler` after `latencyMs`), as a structured clone. `deaf(i)` makes
 * port `i` miss every message until `deaf(i, false)` (a frozen tab: the
 * messages are lost, not queued). Every delivered message is logged.
 */
export class MemoryCrossTabBus {
  readonly #ports: Array<{ readonly inbox: Subject<CrossTabMessage>; closed: boolean; deaf: boolean }> = [];
  /** Messages delivered, per receiving port. */
  readonly delivered: CrossTabMessage[][] = [];
  /** Messages posted, per posting port. */
  readonly posted: CrossTabMessage[][] = [];

  constructor(readonly scheduler: SchedulerLike, readonly latencyMs = 0) {}

  port(): CrossTabPort {
    const index = this.#ports.length;
    const self = { inbox: new Subject<CrossTabMessage>(), closed: false, deaf: false };
    this.#ports.push(self);
    this.delivered.push([]);
    this.posted.push([]);
    return {
      live: true,
      post: (message) => {
        if (self.closed) return;
        this.posted[index]!.push(message);
        const copy = structuredClone(message);
        this.#ports.forEach((p, i) => {
          if (p === self) return;
          this.scheduler.schedule(() => {
            if (p.closed || p.deaf) return;
            this.delivered[i]!.push(copy);
            p.inbox.next(copy);
          }, this.latencyMs);
        });
      },
      messages$: self.inbox.asObservable(),
      close: () => {
        self.closed = true;
        self.inbox.complete();
      },
    };
  }

  /** Port `index` misses every message from now on (or hears again). */
  deaf(index: number, deaf = true): void {
    this.#ports[index]!.deaf = deaf;
  }

  closed(index: number): boolean {
    return this.#ports[index]!.closed;
  }
}
