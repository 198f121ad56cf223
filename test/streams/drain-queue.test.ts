import { marbles } from 'rxjs-marbles/jest';
import { Subject, defer, filter, map, timer, type Subscription } from 'rxjs';
import { drainQueue } from '../../streams/drain-queue';
import { createSettleLane } from '../../streams/settle-lane';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import type { PendingOp } from '../../src/op/pending-op';
import { MemoryStorePort } from '../support/memory-store-port';

const op = (n: number): PendingOp => ({
  schemaVersion: 1,
  id: createOpId(),
  type: 't',
  payload: { n },
  idempotencyKey: createIdempotencyKey(),
  traceId: createTraceId(),
  txToken: `tx${n}`,
  createdAt: 0,
  attempts: 0,
  nextAttemptAt: null,
});

describe('drainQueue (virtual time)', () => {
  test(
    'processes in FIFO order one at a time, reading at most batchSize ops per read',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      for (let i = 1; i <= 7; i++) store.append(op(i)).subscribe();
      const done: number[] = [];
      let active = 0;
      let maxActive = 0;
      const batches: number[] = [];
      const peek = store.peek.bind(store);
      const sub = drainQueue({
        store: {
          peek: (n, after) => {
            const r = peek(n, after);
            r.subscribe((b) => batches.push(b.length));
            return peek(n, after);
          },
        },
        batchSize: 3,
        wake$: store.changes$.pipe(filter((c) => c.type === 'appended')),
        process: (o) => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          return timer(10, m.scheduler).pipe((src) => {
            src.subscribe(() => {
              active -= 1;
              done.push((o.payload as { n: number }).n);
              store.complete(o, m.scheduler.now()).subscribe();
            });
            return src;
          });
        },
        lane: createSettleLane(m.scheduler),
        retryMs: 1000,
        scheduler: m.scheduler,
      }).subscribe();
      m.flush();
      sub.unsubscribe();
      expect(done).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(maxActive).toBe(1);
      expect(batches).toEqual([3, 3, 1, 0]);
    }),
  );

  test(
    'an empty queue costs no polling; an append wakes it',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const done: number[] = [];
      let sub!: Subscription;
      m.scheduler.schedule(() => {
        sub = drainQueue({
          store,
          batchSize: 5,
          wake$: store.changes$.pipe(filter((c) => c.type === 'appended')),
          process: (o) => {
            done.push((o.payload as { n: number }).n);
            return store.complete(o, 0);
          },
          lane: createSettleLane(m.scheduler),
        retryMs: 1000,
          scheduler: m.scheduler,
        }).subscribe();
      });
      m.scheduler.schedule(() => store.append(op(1)).subscribe(), 60_000);
      m.scheduler.schedule(() => sub.unsubscribe(), 120_000);
      m.flush();
      expect(done).toEqual([1]);
      expect(store.calls.filter((c) => c.method === 'peek').map((c) => c.at)).toEqual([0, 60_000, 60_000]);
    }),
  );

  test(
    'a wake that arrives while an empty read is in flight is not lost',
    marbles((m) => {
      // Reads see the queue as it was when they started and answer 20 ms
      // later; the append lands in the middle of the idle read.
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      const slowStore = {
        peek: (n: number) =>
          defer(() => {
            const snapshot = store.pendingOps().slice(0, n);
            return timer(20, m.scheduler).pipe(map(() => snapshot));
          }),
      };
      const wake$ = new Subject<void>();
      const done: number[] = [];
      const sub = drainQueue({
        store: slowStore,
        batchSize: 5,
        wake$,
        process: (o) => {
          done.push((o.payload as { n: number }).n);
          return store.complete(o, 0);
        },
        lane: createSettleLane(m.scheduler),
        retryMs: 1000,
        scheduler: m.scheduler,
      }).subscribe();
      m.scheduler.schedule(() => {
        const o = op(1);
        store.data.pending.set(o.id, o);
        wake$.next();
      }, 10);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(done).toEqual([1]);
    }),
  );

  test(
    'a failing read is reported and retried, the drain does not error',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      store.append(op(1)).subscribe();
      store.failNext('peek', 2);
      const errors: string[] = [];
      const done: number[] = [];
      const sub = drainQueue({
        store,
        batchSize: 5,
        wake$: new Subject<void>(),
        process: (o) => {
          done.push((o.payload as { n: number }).n);
          return store.complete(o, 0);
        },
        onError: (e) => errors.push(e.kind),
        lane: createSettleLane(m.scheduler),
        retryMs: 1000,
        scheduler: m.scheduler,
      }).subscribe({ error: () => errors.push('drain errored') });
      m.scheduler.schedule(() => sub.unsubscribe(), 5000);
      m.flush();
      expect(errors).toEqual(['storage', 'storage']);
      expect(done).toEqual([1]);
      expect(store.calls.filter((c) => c.method === 'peek').map((c) => c.at)).toEqual([0, 1000, 2000, 2000]);
    }),
  );

  test(
    'reads the next batch while the current one is processed (after its last op), and an append meanwhile is not skipped',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      for (let i = 1; i <= 4; i++) store.append(op(i)).subscribe();
      const done: number[] = [];
      const sub = drainQueue({
        store,
        batchSize: 2,
        wake$: store.changes$.pipe(filter((c) => c.type === 'appended')),
        process: (o) =>
          timer(10, m.scheduler).pipe((src) =>
            defer(() => {
              const n = (o.payload as { n: number }).n;
              return src.pipe(
                map(() => {
                  done.push(n);
                  store.complete(o, m.scheduler.now()).subscribe();
                }),
              );
            }),
          ),
        lane: createSettleLane(m.scheduler),
        retryMs: 1000,
        scheduler: m.scheduler,
      }).subscribe();
      // Lands while the last batch is processed, after its read-ahead.
      m.scheduler.schedule(() => store.append(op(5)).subscribe(), 25);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(done).toEqual([1, 2, 3, 4, 5]);
      // Head at 0, batch 2 read ahead at 0 (while op 1 is processed), batch 3
      // (empty) read ahead at 20; op 5's wake (25) is seen: the head is read
      // again at 40, its own read-ahead (empty) too, then idle.
      expect(store.calls.filter((c) => c.method === 'peek').map((c) => c.at)).toEqual([0, 0, 20, 40, 40]);
    }),
  );

  test(
    'skip: skipped ops are left untouched (no process, no write), the others keep FIFO order across batches; onIdle gets the count of the pass',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      // Odd ops belong to another account.
      for (let i = 1; i <= 7; i++) store.append({ ...op(i), accountId: i % 2 === 1 ? 'a' : 'b' }).subscribe();
      const before = store.pendingOps();
      const done: number[] = [];
      const idles: number[] = [];
      const wake$ = new Subject<void>();
      const sub = drainQueue({
        store,
        batchSize: 3,
        wake$,
        process: (o) =>
          defer(() => {
            done.push((o.payload as { n: number }).n);
            return store.complete(o, 0);
          }),
        skip: (o) => o.accountId !== 'b',
        onIdle: (skipped) => idles.push(skipped),
        lane: createSettleLane(m.scheduler),
        retryMs: 1000,
        scheduler: m.scheduler,
      }).subscribe();
      // A later pass (a wake) counts again from the head: the same 4 ops.
      m.scheduler.schedule(() => wake$.next(), 100);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(done).toEqual([2, 4, 6]);
      expect(idles).toEqual([4, 4]);
      // The skipped ops are exactly as they were: never updated, completed or failed.
      expect(store.pendingOps()).toEqual(before.filter((o) => o.accountId === 'a'));
      expect(store.calls.filter((c) => c.method === 'complete')).toHaveLength(3);
      expect(store.calls.filter((c) => !['append', 'peek', 'complete'].includes(c.method))).toEqual([]);
    }),
  );

  test(
    'syncNow$ ends the wait after a failed read at once (the read is retried then, not after retryMs)',
    marbles((m) => {
      const store = new MemoryStorePort({ scheduler: m.scheduler });
      store.append(op(1)).subscribe();
      store.failNext('peek', 1);
      const syncNow$ = new Subject<void>();
      const done: number[] = [];
      const sub = drainQueue({
        store,
        batchSize: 5,
        wake$: new Subject<void>(),
        process: (o) => {
          done.push((o.payload as { n: number }).n);
          return store.complete(o, 0);
        },
        lane: createSettleLane(m.scheduler),
        retryMs: 60_000,
        syncNow$,
        scheduler: m.scheduler,
      }).subscribe();
      m.scheduler.schedule(() => syncNow$.next(), 100);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(done).toEqual([1]);
      expect(store.calls.filter((c) => c.method === 'peek').map((c) => c.at)).toEqual([0, 100, 100]);
    }),
  );
});
