import { marbles } from 'rxjs-marbles/jest';
import { concat, defer, map, throwError, timer, type Observable } from 'rxjs';
import { MAX_MERGED, createSettleLane, type Mergeable } from '../../streams/settle-lane';

type M = Parameters<Parameters<typeof marbles>[0]>[0];

/**
 * A store that writes one item (`one`) or several at once (`all`, the
 * `writeAll` of `Mergeable`), each taking `ms` of virtual time; logs every
 * write with its items and when it starts.
 */
function fakeWriter(m: M, log: string[], ms = 4, fail = false) {
  const run = (label: string): Observable<void> =>
    defer(() => {
      log.push(`${label}@${m.scheduler.now()}`);
      const t = timer(ms, m.scheduler).pipe(map(() => undefined));
      return fail ? concat(t, throwError(() => new Error('disk full'))) : t;
    });
  const writeAll = (items: readonly string[]): Observable<void> => run(`all(${items.join(',')})`);
  return {
    one: (item: string) => run(`one(${item})`),
    merge: (item: string): Mergeable<string> => ({ item, writeAll }),
  };
}

describe('settle lane: merging handed-off writes', () => {
  test(
    'like writes handed off within the window are written as one, their thens in order after it',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      for (const [at, item] of [[0, 'a'], [3, 'b'], [6, 'c']] as const) {
        m.scheduler.schedule(() => lane.handOff(w.one(item), () => log.push(`${item}:then@${m.scheduler.now()}`), w.merge(item)), at);
      }
      m.flush();
      // a waits out its 10 ms for b and c; one write of all three lands at 14.
      expect(log).toEqual(['all(a,b,c)@10', 'a:then@14', 'b:then@14', 'c:then@14']);
    }),
  );

  test(
    'a group waiting to merge costs two scheduled pumps, however many join it (none per joining write)',
    marbles((m) => {
      let scheduled = 0;
      const counting = { now: () => m.scheduler.now(), schedule: (...a: Parameters<typeof m.scheduler.schedule>) => ((scheduled += 1), m.scheduler.schedule(...a)) };
      const lane = createSettleLane(counting, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      m.scheduler.schedule(() => {
        for (const item of ['a', 'b', 'c', 'd', 'e']) lane.handOff(w.one(item), () => log.push(`${item}:then`), w.merge(item));
      }, 1);
      m.scheduler.schedule(() => lane.handOff(w.one('f'), () => log.push('f:then'), w.merge('f')), 5);
      m.flush();
      expect(log).toEqual(['all(a,b,c,d,e,f)@11', 'a:then', 'b:then', 'c:then', 'd:then', 'e:then', 'f:then']);
      // The first handOff's pump, then the one at the end of the window.
      expect(scheduled).toBe(2);
    }),
  );

  test(
    'a lone mergeable write waits the window, then goes by its own write$',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      lane.handOff(w.one('a'), () => log.push(`a:then@${m.scheduler.now()}`), w.merge('a'));
      m.flush();
      expect(log).toEqual(['one(a)@10', 'a:then@14']);
    }),
  );

  test(
    'drained$ ends the wait at once: the drain reading the head or going idle is not held up',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      lane.handOff(w.one('a'), () => log.push('a:then'), w.merge('a'));
      lane.handOff(w.one('b'), () => log.push('b:then'), w.merge('b'));
      m.scheduler.schedule(() => lane.drained$.subscribe({ complete: () => log.push(`drained@${m.scheduler.now()}`) }), 2);
      m.flush();
      expect(log).toEqual(['all(a,b)@2', 'a:then', 'b:then', 'drained@6']);
    }),
  );

  test(
    'a write that does not merge, queued behind, ends the wait; FIFO is kept',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      lane.handOff(w.one('a'), () => log.push('a:then'), w.merge('a'));
      m.scheduler.schedule(() => lane.runAndWait(w.one('x'), () => log.push('x:then')).subscribe(), 1);
      m.flush();
      expect(log).toEqual(['one(a)@1', 'a:then', 'one(x)@5', 'x:then']);
    }),
  );

  test(
    `at most MAX_MERGED (${MAX_MERGED}) in one write; a full group does not wait`,
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      const items = Array.from({ length: MAX_MERGED + 1 }, (_, i) => `o${i}`);
      for (const item of items) lane.handOff(w.one(item), () => undefined, w.merge(item));
      m.flush();
      // The last waits out its own window (queued at 0).
      expect(log).toEqual([`all(${items.slice(0, MAX_MERGED).join(',')})@0`, `one(o${MAX_MERGED})@10`]);
    }),
  );

  test(
    'a failed merged write fails every op in it and drops what was queued behind (they stay pending)',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 10 });
      const log: string[] = [];
      const bad = fakeWriter(m, log, 4, true);
      const good = fakeWriter(m, log);
      const failures: string[] = [];
      lane.failures$.subscribe((e) => failures.push((e as Error).message));
      lane.handOff(bad.one('a'), () => log.push('a:then'), bad.merge('a'));
      lane.handOff(bad.one('b'), () => log.push('b:then'), bad.merge('b'));
      // Queued while the merged write runs: dropped with it.
      m.scheduler.schedule(() => lane.handOff(good.one('c'), () => log.push('c:then'), good.merge('c')), 12);
      m.flush();
      expect(log).toEqual(['all(a,b)@10']);
      expect(failures).toEqual(['disk full']);
    }),
  );

  test(
    'a then() that throws still lets the other ops of the group report; the failure goes to failures$',
    marbles((m) => {
      const lane = createSettleLane(m.scheduler, { mergeWindowMs: 0 });
      const log: string[] = [];
      const w = fakeWriter(m, log);
      const failures: unknown[] = [];
      lane.failures$.subscribe((e) => failures.push(e));
      // A write in progress, so a and b queue up behind it and merge (window 0: no waiting).
      lane.handOff(w.one('first'), () => log.push('first:then'));
      lane.handOff(w.one('a'), () => {
        throw new Error('listener');
      }, w.merge('a'));
      lane.handOff(w.one('b'), () => log.push('b:then'), w.merge('b'));
      m.flush();
      expect(log).toEqual(['one(first)@0', 'first:then', 'all(a,b)@4', 'b:then']);
      expect(failures).toHaveLength(1);
    }),
  );

  test('mergeWindowMs must be a finite number ≥ 0', () => {
    expect(() => createSettleLane({ now: () => 0, schedule: () => undefined } as never, { mergeWindowMs: -1 })).toThrow(RangeError);
    expect(() => createSettleLane({ now: () => 0, schedule: () => undefined } as never, { mergeWindowMs: Number.NaN })).toThrow(RangeError);
  });
});
