import type { EngineEvent } from '../engine/sync-engine';
import { BoundedSet } from './bounded-set';
import { BucketHistogram } from './bucket-histogram';
import { ERROR_BUCKET, isNetworkKind } from './error-buckets';
import type { MetricsSnapshot } from './metric-names';
import { PendingAgeSketch } from './pending-age-sketch';

/**
 * The running totals behind `createMetrics`, with bounded memory:
 * percentiles come from fixed-size structures (`BucketHistogram` for attempt
 * durations, `PendingAgeSketch` for pending ages), "seen recently" sets are
 * capped. `apply` folds one engine event in; `read` turns the totals into a
 * snapshot. No I/O, no clock of its own: the caller passes the time.
 *
 * @example
 * const tally = new MetricsTally(256);
 * events$.subscribe((e) => tally.apply(e));
 * tally.read(scheduler.now(), null)['sync.processed.success'];
 */
export class MetricsTally {
  readonly #ages: PendingAgeSketch;
  readonly #processTime = new BucketHistogram();
  readonly #attempted = new BoundedSet<string>(256);
  readonly #removed = new BoundedSet<string>(256);
  #derivedPending = 0;
  #authoritativePending: number | undefined;
  #success = 0;
  #failed = 0;
  #retries = 0;
  #backoffCount = 0;
  #backoffSum = 0;
  #retryAfter = 0;
  readonly #errors = { transient: 0, permanent: 0, ambiguous: 0, network: 0 };
  #active = 0;
  #takeovers = 0;

  constructor(ageSketchCapacity: number) {
    this.#ages = new PendingAgeSketch(ageSketchCapacity);
  }

  /** The queue depth from an authoritative source (replaces the derived one). */
  setPending(n: number): void {
    this.#authoritativePending = n;
  }

  /** An op already pending at start (seeded), unless it already left. */
  seed(id: string, createdAt: number): void {
    if (this.#removed.has(id)) return;
    this.#ages.add(createdAt);
    this.#derivedPending += 1;
  }

  /** Fold one engine event into the totals. */
  apply(e: EngineEvent): void {
    switch (e.type) {
      case 'enqueued':
        this.#derivedPending += 1;
        this.#ages.add(e.op.createdAt);
        break;
      case 'attemptStarted': {
        const before = this.#attempted.has(e.op.id) || e.attempt > 1 || e.op.attempts > 0 || e.op.lastError != null;
        if (before) this.#retries += 1;
        this.#attempted.add(e.op.id);
        break;
      }
      case 'attemptSucceeded':
        this.#processTime.record(e.durationMs);
        break;
      case 'attemptFailed':
        this.#processTime.record(e.durationMs);
        this.#errors[ERROR_BUCKET[e.error.kind]] += 1;
        if (isNetworkKind(e.error.kind)) this.#errors.network += 1;
        break;
      case 'backoff':
        this.#backoffCount += 1;
        this.#backoffSum += e.delayMs;
        if (e.retryAfter) this.#retryAfter += 1;
        break;
      case 'completed':
        if (this.#leave(e.op.id, e.op.createdAt)) this.#success += 1;
        break;
      case 'failed':
        if (this.#leave(e.record.id, e.record.op?.createdAt)) this.#failed += 1;
        break;
      case 'conflict':
        // 'drop' removes the op without committing it; 'fail' is followed by
        // a `failed` event and 'retry' keeps it pending.
        if (e.resolution === 'drop') this.#leave(e.op.id, e.op.createdAt);
        break;
      case 'cancelled':
        // Left the queue unsent: neither a success nor a failure.
        this.#leave(e.op.id, e.op.createdAt);
        break;
      case 'lockAcquired':
        if (e.takeover) this.#takeovers += 1;
        break;
      case 'gate':
        this.#active = e.open ? 1 : 0;
        break;
      case 'lockLost':
      case 'lockError':
      case 'lockReleased':
      case 'authRequired':
      case 'tokenRefreshed':
        break;
    }
  }

  /** Every metric at time `t` (epoch ms), with `memory` as measured by the caller. */
  read(t: number, memory: number | null): MetricsSnapshot {
    const errors = this.#errors;
    return {
      'sync.pending_ops.count': this.#authoritativePending ?? Math.max(0, this.#derivedPending),
      'sync.pending_ops.age_p50': this.#ages.ageQuantile(0.5, t),
      'sync.pending_ops.age_p99': this.#ages.ageQuantile(0.99, t),
      'sync.processed.count': this.#success + this.#failed,
      'sync.processed.success': this.#success,
      'sync.processed.failed': this.#failed,
      'sync.process_time.avg': this.#processTime.mean,
      'sync.process_time.p99': this.#processTime.quantile(0.99),
      'sync.retries.count': this.#retries,
      'sync.backoff.duration.avg': this.#backoffCount === 0 ? 0 : this.#backoffSum / this.#backoffCount,
      'sync.retry_after.count': this.#retryAfter,
      'sync.errors.transient': errors.transient,
      'sync.errors.permanent': errors.permanent,
      'sync.errors.ambiguous': errors.ambiguous,
      'sync.errors.network': errors.network,
      'sync.processor.active': this.#active,
      'sync.lock.takeover.count': this.#takeovers,
      'sync.memory.usage': memory,
    };
  }

  // An op leaves the queue: count it once, even if two events report it.
  #leave(id: string, opCreatedAt: number | undefined): boolean {
    if (this.#removed.has(id)) return false;
    this.#removed.add(id);
    this.#attempted.delete(id);
    this.#derivedPending -= 1;
    if (opCreatedAt !== undefined) this.#ages.remove(opCreatedAt);
    return true;
  }
}
