import { Subject, type SchedulerLike } from 'rxjs';
import type { WakePort } from '../../src/engine/wake-port';

/**
 * Same-origin tabs in virtual time: every `port()` is one tab's
 * `BroadcastChannel`. A post reaches every other open port (never the
 * poster), asynchronously like a real channel: scheduled on `scheduler`
 * after `latencyMs` (default 0, still after the posting action).
 */
export class MemoryWakeBus {
  readonly #ports = new Set<{ readonly index: number; readonly inbox: Subject<void> }>();
  /** Posts per port, in creation order of the ports. */
  readonly posts: number[] = [];
  /** Wakes delivered per port. */
  readonly delivered: number[] = [];
  /** Whether each port was closed. */
  readonly closed: boolean[] = [];

  constructor(readonly scheduler: SchedulerLike, readonly latencyMs = 0) {}

  port(): WakePort {
    const index = this.posts.length;
    this.posts.push(0);
    this.delivered.push(0);
    this.closed.push(false);
    const self = { index, inbox: new Subject<void>() };
    this.#ports.add(self);
    return {
      post: () => {
        if (this.closed[index]) return;
        this.posts[index] = (this.posts[index] ?? 0) + 1;
        for (const p of this.#ports) {
          if (p === self) continue;
          this.scheduler.schedule(() => {
            if (this.closed[p.index]) return;
            this.delivered[p.index] = (this.delivered[p.index] ?? 0) + 1;
            p.inbox.next();
          }, this.latencyMs);
        }
      },
      wake$: self.inbox.asObservable(),
      close: () => {
        this.closed[index] = true;
        this.#ports.delete(self);
        self.inbox.complete();
      },
    };
  }
}
