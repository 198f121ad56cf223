import { BehaviorSubject, EMPTY, Observable, Subject, from } from 'rxjs';
import type { EngineStatus, EnqueueInput, OpResult, EngineCore } from '../../src/engine/sync-engine';
import { PermanentError, StorageError } from '../../src/errors/sync-error';
import { CANCELLED_MESSAGE, userMessageFor } from '../../src/errors/user-messages';
import { withBulkActions } from '../../src/engine/engine-failed-ops';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import { PENDING_OP_SCHEMA_VERSION, type OpId, type PendingOp } from '../../src/op/pending-op';
import type { FailedRecord, StoreChange } from '../../src/store/op-store';
import { retriedOp } from '../../src/idempotency/retried-op';

/**
 * A synchronous in-memory engine for optimistic-store tests: every queue
 * change is emitted at once, so scenarios run in virtual time. The test
 * drives the server side with commit / fail / conflict.
 */
export class FakeEngine implements EngineCore {
  queue: PendingOp[] = [];
  dead: FailedRecord[] = [];
  /** When set, enqueue rejects with this error and writes nothing. */
  rejectWith?: Error;
  /** Emit `results$` before the store change (a real engine may do either). */
  resultsFirst = false;
  readonly #changes = new Subject<StoreChange>();
  readonly #results = new Subject<OpResult>();
  readonly #status = new BehaviorSubject<EngineStatus>({
    online: true,
    lockHeld: true,
    processing: true,
    authRequired: false,
    pending: 0,
    failed: 0,
    synced: true,
    blockedBy: [],
  });
  /** The signed-in account (`signIn`); ops enqueued are stamped with it. */
  readonly #account = new BehaviorSubject<string | null>(null);
  readonly account$ = this.#account.asObservable();
  readonly changes$ = this.#changes.asObservable();
  readonly results$ = this.#results.asObservable();
  readonly status$ = this.#status.asObservable();
  readonly events$ = EMPTY;

  constructor(initialQueue: readonly PendingOp[] = []) {
    this.queue = [...initialQueue];
  }

  static op(type: string, payload: unknown, txToken = 'tx'): PendingOp {
    return {
      schemaVersion: PENDING_OP_SCHEMA_VERSION,
      id: createOpId(),
      type,
      payload,
      idempotencyKey: createIdempotencyKey(),
      traceId: createTraceId(),
      txToken,
      createdAt: 0,
      attempts: 0,
      nextAttemptAt: null,
    };
  }

  enqueue(input: EnqueueInput): Promise<PendingOp> {
    if (this.rejectWith) return Promise.reject(this.rejectWith);
    const made = FakeEngine.op(input.type, input.payload, input.txToken ?? `tx-${this.queue.length}`);
    const accountId = this.#account.value;
    const op = accountId === null ? made : { ...made, accountId };
    this.queue.push(op);
    this.#changes.next({ type: 'appended', op });
    return Promise.resolve(op);
  }

  start(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }

  pendingOps(): Observable<PendingOp> {
    return from([...this.queue]);
  }

  readonly failedOps = withBulkActions({
    list: (): Promise<readonly FailedRecord[]> => Promise.resolve([...this.dead]),
    retry: (id: string): Promise<PendingOp> => Promise.resolve(this.retry(id)),
    discard: (id: string): Promise<void> => {
      this.discard(id);
      return Promise.resolve();
    },
  });

  whenIdle(): Promise<void> {
    return Promise.resolve();
  }

  syncNow(): void {}

  resumeAuth(): void {}

  discardAccount(): Promise<number> {
    return Promise.resolve(0);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }

  /** As the engine does it: dead-letter with reason 'cancelled', discard, then the `cancelled` result. */
  cancel(opId: OpId): Promise<void> {
    const op = this.#take(opId);
    const record: FailedRecord = { id: op.id, reason: 'cancelled', error: { kind: 'validation', code: 'cancelled' }, attempts: op.attempts, failedAt: 0, op };
    const result: OpResult = { opId, txToken: op.txToken, type: op.type, outcome: 'cancelled', message: CANCELLED_MESSAGE };
    if (this.resultsFirst) this.#results.next(result);
    this.#changes.next({ type: 'failed', record });
    this.#changes.next({ type: 'discarded', record });
    if (!this.resultsFirst) this.#results.next(result);
    return Promise.resolve();
  }

  /** The app's `account$` emits `id` (null: signed out), as the engine follows it. */
  signIn(id: string | null): void {
    if (id !== this.#account.value) this.#account.next(id);
  }

  setStatus(patch: Partial<EngineStatus>): void {
    this.#status.next({ ...this.#status.value, ...patch });
  }

  #emit(change: StoreChange | undefined, result: OpResult): void {
    if (this.resultsFirst) this.#results.next(result);
    if (change) this.#changes.next(change);
    if (!this.resultsFirst) this.#results.next(result);
  }

  #take(opId: OpId): PendingOp {
    const i = this.queue.findIndex((o) => o.id === opId);
    if (i < 0) throw new Error(`no pending op ${opId}`);
    return this.queue.splice(i, 1)[0];
  }

  /** The server accepted the op and answered `data`. */
  commit(opId: OpId, data?: unknown): void {
    const op = this.#take(opId);
    this.#emit({ type: 'completed', op }, { opId, txToken: op.txToken, type: op.type, outcome: 'committed', data });
  }

  /** The server refused the op for good (400). */
  fail(opId: OpId): void {
    const op = this.#take(opId);
    const error = new PermanentError({ status: 400 }).toInfo();
    const record: FailedRecord = { id: op.id, reason: 'permanent', error, attempts: 1, failedAt: 0, op };
    this.dead.push(record);
    this.#emit(
      { type: 'failed', record },
      { opId, txToken: op.txToken, type: op.type, outcome: 'failed', error, reason: 'permanent', message: userMessageFor('permanent') },
    );
  }

  /** A 409 and what reconciliation decided. */
  conflict(opId: OpId, resolution: 'retry' | 'drop' | 'fail', newPayload?: unknown): void {
    const op = this.queue.find((o) => o.id === opId);
    if (!op) throw new Error(`no pending op ${opId}`);
    const error = { kind: 'conflict' as const, status: 409 };
    const result: OpResult = {
      opId,
      txToken: op.txToken,
      type: op.type,
      outcome: 'conflict',
      error,
      resolution,
      message: userMessageFor('conflict'),
    };
    let change: StoreChange;
    if (resolution === 'retry') {
      const rewritten = { ...op, payload: newPayload, idempotencyKey: createIdempotencyKey() };
      this.queue[this.queue.indexOf(op)] = rewritten;
      change = { type: 'rewritten', op: rewritten };
    } else if (resolution === 'drop') {
      // As the engine does it: dead-letter with reason 'dropped', then discard.
      this.#take(opId);
      const record: FailedRecord = { id: op.id, reason: 'dropped', error, attempts: 1, failedAt: 0, op };
      if (this.resultsFirst) this.#results.next(result);
      this.#changes.next({ type: 'failed', record });
      this.#changes.next({ type: 'discarded', record });
      if (!this.resultsFirst) this.#results.next(result);
      return;
    } else {
      this.#take(opId);
      const record: FailedRecord = { id: op.id, reason: 'conflict', error, attempts: 1, failedAt: 0, op };
      this.dead.push(record);
      change = { type: 'failed', record };
    }
    this.#emit(change, result);
  }

  /** An attempt-only update (no payload change). */
  bumpAttempts(opId: OpId): void {
    const i = this.queue.findIndex((o) => o.id === opId);
    const op = { ...this.queue[i], attempts: this.queue[i].attempts + 1 };
    this.queue[i] = op;
    this.#changes.next({ type: 'updated', op });
  }

  retry(id: string): PendingOp {
    const i = this.dead.findIndex((r) => r.id === id);
    const record = this.dead.splice(i, 1)[0];
    if (!record.op) throw new StorageError('corrupt');
    const op = retriedOp(record.op, record);
    this.queue.push(op);
    this.#changes.next({ type: 'retried', op, failedId: id });
    return op;
  }

  discard(id: string): void {
    const i = this.dead.findIndex((r) => r.id === id);
    const record = this.dead.splice(i, 1)[0];
    this.#changes.next({ type: 'discarded', record });
  }
}
