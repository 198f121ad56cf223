import * as E from 'fp-ts/Either';
import { Subject, concatMap, defer, of, throwError, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { StorePort } from '../../streams/ports';
import { StorageError, ValidationError } from '../../src/errors/sync-error';
import { decodePendingOp, type OpId, type PendingOp } from '../../src/op/pending-op';
import type { FailedOps, FailedRecord, FailureInfo, StoreChange, StoreCounts } from '../../src/store/op-store';
import { retriedOp } from '../../src/idempotency/retried-op';

/** Options of `MemoryStorePort`. */
export interface MemoryStorePortOptions {
  /** With `latencyMs`, results arrive after this much virtual time. */
  readonly scheduler?: SchedulerLike;
  /** Delay of every call, or per method (default 0: synchronous). Writes land when the result arrives. */
  readonly latencyMs?: number | Partial<Readonly<Record<StoreMethod, number>>>;
  /** Clock for quarantine times. Default `scheduler.now()` or 0. */
  readonly now?: () => number;
  /** Claim that `complete` is one transaction (`StorePort.completesAtomically`). Default false. */
  readonly completesAtomically?: boolean;
}

/** A metadata value that fails to decrypt or decode (see `corruptMeta`). */
const UNREADABLE = Symbol('unreadable meta record');

export type StoreMethod = 'append' | 'peek' | 'update' | 'rewrite' | 'complete' | 'fail' | 'discardFailed' | 'isCompleted' | 'counts' | 'readMeta' | 'writeMeta';

/**
 * An in-memory `StorePort` for marble tests: synchronous by default (every
 * call emits at subscription), or with a fixed virtual-time latency. It
 * behaves like the real store where the streams can tell: FIFO by id,
 * `peek` quarantines undecodable records to the dead-letter queue (emitting
 * `failed` with reason `corrupt`), `update` never resurrects a removed op,
 * `complete` writes the ledger first. Every call is logged in `calls`;
 * `failNext(method)` makes the next call of that method fail with a
 * `StorageError('unavailable')`.
 *
 * Several ports may share one `MemoryStorePort.Shared` (two engines, one storage).
 */
export class MemoryStorePort implements StorePort {
  readonly data: MemoryStoreData;
  readonly calls: Array<{ readonly method: StoreMethod; readonly at: number }> = [];
  readonly #changes = new Subject<StoreChange>();
  readonly changes$ = this.#changes.asObservable();
  readonly failed: FailedOps;
  readonly #opts: MemoryStorePortOptions;
  readonly #failures = new Map<StoreMethod, number>();
  readonly completesAtomically: boolean;

  constructor(options: MemoryStorePortOptions = {}, data: MemoryStoreData = new MemoryStoreData()) {
    this.#opts = options;
    this.data = data;
    this.completesAtomically = options.completesAtomically ?? false;
    this.failed = {
      list: async () => [...this.data.failed.values()],
      retry: async (id) => {
        const record = this.data.failed.get(id);
        if (!record?.op) throw new StorageError('corrupt');
        const op = retriedOp(record.op, record);
        this.data.failed.delete(id);
        this.data.pending.set(op.id, op);
        this.#changes.next({ type: 'retried', op, failedId: id });
        return op;
      },
      discard: async (id) => {
        const record = this.data.failed.get(id);
        if (!record) return;
        this.data.failed.delete(id);
        this.#changes.next({ type: 'discarded', record });
      },
    };
  }

  /** Make the next `times` calls of `method` fail with `StorageError('unavailable')`. */
  failNext(method: StoreMethod, times = 1): void {
    this.#failures.set(method, (this.#failures.get(method) ?? 0) + times);
  }

  /** Damage the metadata record at `key`: reads fail with `StorageError('corrupt')` (as the real store's do when AES-GCM or the codec rejects it) until it is written again. */
  corruptMeta(key: string): void {
    this.data.meta.set(key, UNREADABLE);
  }

  /** Put a raw (possibly undecodable) record at `id` in pending, bypassing validation. */
  putRaw(id: string, value: unknown): void {
    this.data.pending.set(id, value);
  }

  /** The decodable pending ops in FIFO order (for assertions). */
  pendingOps(): PendingOp[] {
    return [...this.data.sortedPending()].map(([, v]) => v as PendingOp);
  }

  #now(): number {
    return this.#opts.now?.() ?? this.#opts.scheduler?.now() ?? 0;
  }

  #call<T>(method: StoreMethod, fn: () => T): Observable<T> {
    const run = (): Observable<T> =>
      defer(() => {
        this.calls.push({ method, at: this.#now() });
        const left = this.#failures.get(method) ?? 0;
        if (left > 0) {
          this.#failures.set(method, left - 1);
          return throwError(() => new StorageError('unavailable'));
        }
        try {
          return of(fn());
        } catch (err) {
          return throwError(() => err);
        }
      });
    const l = this.#opts.latencyMs ?? 0;
    const latency = typeof l === 'number' ? l : (l[method] ?? 0);
    if (latency > 0 && this.#opts.scheduler) {
      // The write lands (and the change is emitted) when the result arrives.
      return timer(latency, this.#opts.scheduler).pipe(concatMap(() => run()));
    }
    return run();
  }

  append(op: PendingOp): Observable<void> {
    return this.#call('append', () => {
      if (E.isLeft(decodePendingOp(op))) throw new ValidationError('invalidPayload', 'op');
      this.data.pending.set(op.id, op);
      this.#changes.next({ type: 'appended', op });
    });
  }

  peek(n: number, afterId?: OpId): Observable<readonly PendingOp[]> {
    return this.#call('peek', () => {
      const out: PendingOp[] = [];
      for (const [id, value] of this.data.sortedPending()) {
        if (out.length >= n) break;
        if (afterId !== undefined && id <= afterId) continue;
        const decoded = decodePendingOp(value);
        if (E.isRight(decoded) && decoded.right.id === id) {
          out.push(decoded.right);
        } else {
          const record: FailedRecord = {
            id,
            reason: 'corrupt',
            error: { kind: 'storage', code: 'corrupt' },
            attempts: 0,
            failedAt: this.#now(),
            raw: JSON.stringify(value) ?? String(value),
            detail: E.isLeft(decoded) ? decoded.left : 'id: does not match its storage key',
          };
          this.data.failed.set(id, record);
          this.data.pending.delete(id);
          this.#changes.next({ type: 'failed', record });
        }
      }
      return out;
    });
  }

  update(op: PendingOp): Observable<void> {
    return this.#replace('update', op);
  }

  rewrite(op: PendingOp): Observable<void> {
    return this.#replace('rewrite', op);
  }

  #replace(method: 'update' | 'rewrite', op: PendingOp): Observable<void> {
    return this.#call(method, () => {
      if (!this.data.pending.has(op.id)) return;
      this.data.pending.set(op.id, op);
      this.#changes.next({ type: method === 'update' ? 'updated' : 'rewritten', op });
    });
  }

  complete(op: PendingOp, completedAt: number): Observable<void> {
    return this.#call('complete', () => {
      this.data.ledger.set(op.idempotencyKey, completedAt);
      this.data.pending.delete(op.id);
      this.#changes.next({ type: 'completed', op });
    });
  }

  fail(op: PendingOp, failure: FailureInfo): Observable<void> {
    return this.#call('fail', () => {
      const record: FailedRecord = { id: op.id, reason: failure.reason, error: failure.error, attempts: op.attempts, failedAt: failure.failedAt, op };
      this.data.failed.set(op.id, record);
      this.data.pending.delete(op.id);
      this.#changes.next({ type: 'failed', record });
    });
  }

  discardFailed(id: string): Observable<void> {
    return this.#call('discardFailed', () => {
      const record = this.data.failed.get(id);
      if (!record) return;
      this.data.failed.delete(id);
      this.#changes.next({ type: 'discarded', record });
    });
  }

  isCompleted(idempotencyKey: string): Observable<boolean> {
    return this.#call('isCompleted', () => this.data.ledger.has(idempotencyKey));
  }

  counts(): Observable<StoreCounts> {
    return this.#call('counts', () => ({ pending: this.data.pending.size, failed: this.data.failed.size }));
  }

  readMeta<T>(key: string): Observable<T | undefined> {
    return this.#call('readMeta', () => {
      const v = this.data.meta.get(key);
      if (v === UNREADABLE) throw new StorageError('corrupt');
      return v === undefined ? undefined : (structuredClone(v) as T);
    });
  }

  writeMeta<T>(key: string, value: T): Observable<void> {
    return this.#call('writeMeta', () => {
      this.data.meta.set(key, structuredClone(value));
    });
  }
}

/** The storage behind one or more `MemoryStorePort`s. */
export class MemoryStoreData {
  readonly pending = new Map<string, unknown>();
  readonly failed = new Map<string, FailedRecord>();
  readonly ledger = new Map<string, number>();
  readonly meta = new Map<string, unknown>();

  sortedPending(): Array<[string, unknown]> {
    return [...this.pending.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
