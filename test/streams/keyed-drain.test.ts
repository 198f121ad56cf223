import { marbles } from 'rxjs-marbles/jest';
import { EMPTY, Observable, Subject, concat, defer, filter, ignoreElements, map, throwError, timer, type SchedulerLike } from 'rxjs';
import { keyedDrain, type KeyedDrainOptions, type UnitEvent } from '../../streams/keyed-drain';
import type { PackLimits } from '../../streams/pick-ready';
import { createRequestSlots, type RequestSlots } from '../../streams/request-slots';
import { createSettleLane } from '../../streams/settle-lane';
import type { PendingOp } from '../../src/op/pending-op';
import { MemoryStorePort } from '../support/memory-store-port';
import { createIdempotencyKey } from '../../src/idempotency/idempotency-key';
import { createOpId, createTraceId } from '../../src/op/ids';
import { pendingOp } from '../support/op-fixture';

/** An op of entity `key` (its n-th op overall). */
const op = (key: string, n: number): PendingOp =>
  pendingOp({ id: createOpId(), idempotencyKey: createIdempotencyKey(), traceId: createTraceId(), payload: { key, n }, txToken: `tx${n}` });
const keyOf = (o: PendingOp): string => (o.payload as { key: string }).key;
const name = (o: PendingOp): string => `${keyOf(o)}${(o.payload as { n: number }).n}`;

interface Span {
  readonly op: string;
  readonly start: number;
  end?: number;
}

/**
 * A keyed drain over a memory store whose `process` takes `durationOf(op)`
 * ms and then completes the op; records when each op started and ended.
 */
function harness(scheduler: SchedulerLike, ops: readonly PendingOp[], durationOf: (o: PendingOp) => number, extra: Partial<KeyedDrainOptions> = {}) {
  const store = new MemoryStorePort({ scheduler });
  for (const o of ops) store.append(o).subscribe();
  const spans: Span[] = [];
  const idles: number[] = [];
  const process = (unit: readonly PendingOp[]): Observable<UnitEvent> =>
    defer(() => {
      const span: Span = { op: unit.map(name).join('+'), start: scheduler.now() };
      spans.push(span);
      return new Observable<UnitEvent>((subscriber) =>
        timer(Math.max(...unit.map(durationOf)), scheduler).subscribe(() => {
          span.end = scheduler.now();
          for (const o of unit) store.complete(o, scheduler.now()).subscribe();
          subscriber.complete();
        }),
      );
    });
  const options: KeyedDrainOptions = {
    store,
    window: 8,
    keyOf,
    process,
    wake$: store.changes$.pipe(filter((c) => c.type === 'appended')),
    lane: createSettleLane(scheduler),
    onIdle: (skipped) => idles.push(skipped),
    retryMs: 1000,
    scheduler,
    ...extra,
  };
  return { store, spans, idles, options };
}

/** Spans of one key never overlap and follow enqueue order. */
function expectPerKeyOrder(spans: readonly Span[], ops: readonly PendingOp[]): void {
  const byKey = new Map<string, Span[]>();
  for (const s of spans) {
    const key = s.op.replace(/\d+$/, '');
    byKey.set(key, [...(byKey.get(key) ?? []), s]);
  }
  for (const [key, list] of byKey) {
    expect(list.map((s) => s.op)).toEqual(ops.filter((o) => keyOf(o) === key).map(name));
    for (let i = 1; i < list.length; i++) expect(list[i]!.start).toBeGreaterThanOrEqual(list[i - 1]!.end!);
  }
}

describe('keyedDrain (virtual time)', () => {
  test(
    'ops of one key in enqueue order, never overlapping; other keys together',
    marbles((m) => {
      const ops = [op('a', 1), op('b', 2), op('a', 3), op('c', 4), op('b', 5), op('a', 6)];
      const h = harness(m.scheduler, ops, () => 10);
      const sub = keyedDrain(h.options).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expectPerKeyOrder(h.spans, ops);
      expect(h.spans.map((s) => [s.op, s.start])).toEqual([
        ['a1', 0],
        ['b2', 0],
        ['c4', 0],
        ['a3', 10],
        ['b5', 10],
        ['a6', 20],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
      expect(h.idles).toEqual([0]);
    }),
  );

  test(
    'a key in a long wait blocks only itself, also when its backlog fills the window (read on past it, read again from the head once it is free)',
    marbles((m) => {
      // a1 waits 5 s (backoff); a has 12 more ops, then b and c: window 8.
      const ops = [op('a', 1)];
      for (let n = 2; n <= 13; n++) ops.push(op('a', n));
      ops.push(op('b', 14), op('c', 15), op('b', 16));
      const h = harness(m.scheduler, ops, (o) => (name(o) === 'a1' ? 5000 : 10));
      const sub = keyedDrain(h.options).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 60_000);
      m.flush();
      expectPerKeyOrder(h.spans, ops);
      const startOf = (n: string) => h.spans.find((s) => s.op === n)?.start;
      // b and c did not wait for a1's 5 s.
      expect(startOf('b14')).toBe(0);
      expect(startOf('c15')).toBe(0);
      expect(startOf('b16')).toBe(10);
      expect(startOf('a2')).toBe(5000);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'bounded memory: reads ask for at most a window, never more than two windows of ops in progress',
    marbles((m) => {
      const ops: PendingOp[] = [];
      for (let n = 1; n <= 30; n++) ops.push(op('abcdefghij'[n % 10]!, n));
      const h = harness(m.scheduler, ops, () => 10, { window: 6 });
      const asked: number[] = [];
      const peek = h.store.peek.bind(h.store);
      let maxHeld = 0;
      let active = 0;
      const sub = keyedDrain({
        ...h.options,
        store: {
          peek: (n, after) => {
            asked.push(n);
            return peek(n, after);
          },
        },
        process: (unit) =>
          defer(() => {
            active += 1;
            maxHeld = Math.max(maxHeld, active);
            return concat(h.options.process(unit), defer(() => ((active -= 1), EMPTY)));
          }),
      }).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
      m.flush();
      expect(h.store.pendingOps()).toEqual([]);
      expect(Math.max(...asked)).toBeLessThanOrEqual(6);
      // Pages, not one op per op finished.
      expect(Math.min(...asked)).toBeGreaterThanOrEqual(2);
      expect(maxHeld).toBeLessThanOrEqual(12);
      expectPerKeyOrder(h.spans, ops);
    }),
  );

  test(
    'an op handed back untouched returns to the dispatcher and is processed again, in its key order',
    marbles((m) => {
      const ops = [op('a', 1), op('a', 2), op('b', 3)];
      const h = harness(m.scheduler, ops, () => 10);
      let handedBack = false;
      const sub = keyedDrain({
        ...h.options,
        process: (unit) => {
          if (!handedBack && name(unit[0]!) === 'a1') {
            handedBack = true;
            return timer(5, m.scheduler).pipe(map((): UnitEvent => ({ op: unit[0]!, back: true })));
          }
          return h.options.process(unit);
        },
      }).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(h.spans.map((s) => [s.op, s.start])).toEqual([
        ['b3', 0],
        ['a1', 5],
        ['a2', 15],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'an append while other keys are in flight is read at once (no waiting for the busy ones)',
    marbles((m) => {
      const ops = [op('a', 1)];
      const h = harness(m.scheduler, ops, (o) => (name(o) === 'a1' ? 5000 : 10));
      const sub = keyedDrain(h.options).subscribe();
      m.scheduler.schedule(() => h.store.append(op('b', 2)).subscribe(), 100);
      m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
      m.flush();
      expect(h.spans.map((s) => [s.op, s.start])).toEqual([
        ['a1', 0],
        ['b2', 100],
      ]);
      expect(h.idles).toEqual([0]);
    }),
  );

  test(
    'a failed read is reported and retried; syncNow$ ends the wait at once',
    marbles((m) => {
      const ops = [op('a', 1), op('b', 2)];
      const h = harness(m.scheduler, ops, () => 10);
      h.store.failNext('peek', 1);
      const errors: string[] = [];
      const syncNow$ = new Subject<void>();
      const sub = keyedDrain({ ...h.options, retryMs: 60_000, syncNow$, onError: (e) => errors.push(e.kind) }).subscribe({
        error: () => errors.push('drain errored'),
      });
      m.scheduler.schedule(() => syncNow$.next(), 100);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(errors).toEqual(['storage']);
      expect(h.spans.map((s) => [s.op, s.start])).toEqual([
        ['a1', 100],
        ['b2', 100],
      ]);
    }),
  );

  test(
    'ops skip says to leave are untouched and counted for onIdle',
    marbles((m) => {
      const ops = [{ ...op('a', 1), accountId: 'x' }, op('b', 2), { ...op('a', 3), accountId: 'x' }];
      const h = harness(m.scheduler, ops, () => 10, { skip: (o) => o.accountId === 'x' });
      const sub = keyedDrain(h.options).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      expect(h.spans.map((s) => s.op)).toEqual(['b2']);
      expect(h.idles).toEqual([2]);
      expect(h.store.pendingOps()).toHaveLength(2);
    }),
  );

  test(
    'a failed handed commit is reported; what was in flight is dropped and the queue is read again from the head after retryMs',
    marbles((m) => {
      const ops = [op('a', 1), op('b', 2)];
      const h = harness(m.scheduler, ops, (o) => (name(o) === 'b2' ? 50 : 10));
      const lane = createSettleLane(m.scheduler);
      const errors: string[] = [];
      let failed = false;
      const sub = keyedDrain({
        ...h.options,
        lane,
        onError: (e) => errors.push(e.kind),
        process: (unit) => {
          // a1's first commit fails once it is handed off.
          if (!failed && name(unit[0]!) === 'a1') {
            failed = true;
            lane.handOff(throwError(() => new Error('disk full')), () => undefined);
            return EMPTY;
          }
          return h.options.process(unit);
        },
      }).subscribe({ error: () => errors.push('drain errored') });
      m.scheduler.schedule(() => sub.unsubscribe(), 5000);
      m.flush();
      expect(errors).toEqual(['storage']);
      // b2 (in flight when the failure came) is dropped and sent again with a1.
      expect(h.spans.map((s) => [s.op, s.start, s.end])).toEqual([
        ['b2', 0, undefined],
        ['a1', 1000, 1010],
        ['b2', 1000, 1050],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );
});

describe('keyedDrain with batching and request slots (virtual time)', () => {
  /** Packing limits of these specs: 4 ops a batch; ops named in `alone` (a stored wait) are sent alone. */
  const pack = (alone: readonly string[] = []): PackLimits => ({ maxOps: 4, maxBytes: 1_000_000, sizeOf: () => 10, packable: (o) => !alone.includes(name(o)) });

  /**
   * `process` as the engine's: a unit's request (10 ms) holds one of
   * `slots`; an op of `waitsFirst` first waits that long without a slot
   * (a stored wait), one of `failsFirst` sends once, then waits that long
   * without a slot (backoff) and sends again.
   */
  function slotted(m: { scheduler: SchedulerLike }, slots: RequestSlots, h: ReturnType<typeof harness>, waitsFirst = new Map<string, number>(), failsFirst = new Map<string, number>()) {
    const request$ = () => slots.run(timer(10, m.scheduler));
    return (unit: readonly PendingOp[]): Observable<UnitEvent> =>
      defer(() => {
        const span: Span = { op: unit.map(name).join('+'), start: m.scheduler.now() };
        h.spans.push(span);
        const first = name(unit[0]!);
        const wait = waitsFirst.get(first);
        const backoff = failsFirst.get(first);
        const before$ = wait === undefined ? EMPTY : timer(wait, m.scheduler);
        const retry$ = backoff === undefined ? EMPTY : concat(request$(), timer(backoff, m.scheduler));
        const done$ = defer(() => {
          span.end = m.scheduler.now();
          for (const o of unit) h.store.complete(o, m.scheduler.now()).subscribe();
          return EMPTY;
        });
        return concat(before$, retry$, request$(), done$).pipe(ignoreElements());
      });
  }

  test(
    'while every request slot is busy a full window is not probed past: each op is read once, in pages, at most a window in progress',
    marbles((m) => {
      // 24 keys, one op each, 8 ms a request, 2 slots, window 6: the window fills with ops waiting for a slot.
      const ops = Array.from({ length: 24 }, (_, n) => op(`k${String.fromCharCode(97 + n)}`, n + 1));
      const h = harness(m.scheduler, ops, () => 8, { window: 6 });
      const slots = createRequestSlots(2);
      let read = 0;
      let reads = 0;
      let active = 0;
      let most = 0;
      const peek = h.store.peek.bind(h.store);
      const process = (unit: readonly PendingOp[]): Observable<UnitEvent> =>
        defer(() => {
          most = Math.max(most, (active += 1));
          return concat(slots.run(h.options.process(unit)), defer(() => ((active -= 1), EMPTY)));
        });
      const store = { peek: (n: number, after?: PendingOp['id']) => ((reads += 1), peek(n, after).pipe(map((page) => ((read += page.length), page)))) };
      const sub = keyedDrain({ ...h.options, store, slots, process }).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 10_000);
      m.flush();
      expect(h.store.pendingOps()).toEqual([]);
      // Probing past the window would start ops only to queue them for a slot, and read them again from the head.
      expect(read).toBe(24);
      expect(most).toBeLessThanOrEqual(6);
      // In pages of at least a quarter of the window while ops wait for a slot, not one op per op finished.
      expect(reads).toBeLessThanOrEqual(24 / 2);
    }),
  );

  test(
    'full batches over disjoint keys go out together, one per free slot',
    marbles((m) => {
      const ops = [op('a', 1), op('b', 2), op('c', 3), op('d', 4), op('a', 5), op('b', 6), op('c', 7), op('d', 8)];
      const h = harness(m.scheduler, ops, () => 10, { window: 16 });
      const slots = createRequestSlots(2);
      const sub = keyedDrain({ ...h.options, pack: pack(), slots, process: slotted(m, slots, h) }).subscribe();
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      // FIFO-consecutive packing would send [a1 b2 c3 d4] and then [a5 b6 c7 d8] after it.
      expect(h.spans.map((s) => [s.op, s.start, s.end])).toEqual([
        ['a1+b2+a5+b6', 0, 10],
        ['c3+d4+c7+d8', 0, 10],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'a batch waits in the window while no slot is free, so keys freed or read meanwhile fill it',
    marbles((m) => {
      const ops = [op('a', 1), op('b', 2), op('a', 3), op('b', 4), op('c', 5)];
      const h = harness(m.scheduler, ops, () => 10, { window: 12 });
      const slots = createRequestSlots(1);
      const sub = keyedDrain({ ...h.options, pack: pack(), slots, process: slotted(m, slots, h) }).subscribe();
      m.scheduler.schedule(() => [op('c', 6), op('c', 7), op('d', 8)].forEach((o) => h.store.append(o).subscribe()), 5);
      m.scheduler.schedule(() => sub.unsubscribe(), 1000);
      m.flush();
      // Started at once, [c5] would wait for the slot and c6, c7, d8 follow in two more requests.
      expect(h.spans.map((s) => [s.op, s.start, s.end])).toEqual([
        ['a1+b2+a3+b4', 0, 10],
        ['c5+c6+c7+d8', 10, 20],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'a slot freed by an op going into backoff starts the held batch at once; an op sent alone (stored wait) starts without a slot and holds none while it waits',
    marbles((m) => {
      const ops = [op('a', 1), op('e', 2)];
      const h = harness(m.scheduler, ops, () => 10);
      const slots = createRequestSlots(1);
      // a1 (a stored wait, alone) waits 500 ms first; e2 fails once and backs off 1000 ms.
      const process = slotted(m, slots, h, new Map([['a1', 500]]), new Map([['e2', 1000]]));
      const sub = keyedDrain({ ...h.options, pack: pack(['a1']), slots, process }).subscribe();
      m.scheduler.schedule(() => [op('b', 3), op('c', 4)].forEach((o) => h.store.append(o).subscribe()), 5);
      m.scheduler.schedule(() => sub.unsubscribe(), 5000);
      m.flush();
      expect(h.spans.map((s) => [s.op, s.start, s.end])).toEqual([
        ['a1', 0, 510],
        ['e2', 0, 1020],
        // Held while e2's first request had the slot; started when e2 backed off without it (not after its backoff).
        ['b3+c4', 10, 20],
      ]);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );
});
