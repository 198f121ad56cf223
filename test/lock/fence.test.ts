import { Subject, defer, map, of, take, type Observable } from 'rxjs';
import { ValidationError } from '../../src/errors/sync-error';
import { fenceLock, guardMethods } from '../../src/lock/fence';
import type { LockState, ProcessorLock } from '../../src/lock/processor-lock';
import { MemoryStorePort } from '../support/memory-store-port';

/** A lock driven by hand: `states` is what `hold()` emits; holds and releases are counted. */
function handLock() {
  const states = new Subject<LockState>();
  const counts = { holds: 0, releases: 0 };
  const lock: ProcessorLock = {
    hold: () => {
      counts.holds += 1;
      return states;
    },
    release: () => {
      counts.releases += 1;
      return of(true);
    },
  };
  return { states, counts, lock };
}

const run = <T>(o: Observable<T>) => {
  const out: { values: T[]; error?: unknown; done: boolean } = { values: [], done: false };
  o.subscribe({ next: (v) => out.values.push(v), error: (e: unknown) => (out.error = e), complete: () => (out.done = true) });
  return out;
};

describe('fenceLock', () => {
  test('passes while the store holds this engine\'s token; once another acquired, reports the lock lost, refuses, and contends again', () => {
    const store = new MemoryStorePort();
    const hand = handLock();
    const fenced = fenceLock(hand.lock, store);
    const seen: LockState[] = [];
    fenced.lock.hold().subscribe((s) => seen.push(s));
    // Never held: nothing passes.
    expect(run(fenced.check()).values).toEqual([false]);
    store.data.meta.set('processorLock.fence', { fencingToken: 7 });
    hand.states.next({ held: true, fencingToken: 7, takeover: false });
    expect(run(fenced.check()).values).toEqual([true]);

    let writes = 0;
    const write$ = defer(() => ((writes += 1), of('written')));
    expect(run(fenced.guardWrite(write$))).toEqual({ values: ['written'], done: true });

    // Another engine acquired (its acquisition wrote token 8).
    store.data.meta.set('processorLock.fence', { fencingToken: 8 });
    const refused = run(fenced.guardWrite(write$));
    expect(writes).toBe(1);
    expect(refused.error).toBeInstanceOf(ValidationError);
    expect((refused.error as ValidationError).reason).toBe('lockNotHeld');
    expect(seen).toEqual([{ held: true, fencingToken: 7, takeover: false }, { held: false, lost: true }]);
    // The inner lock was released and is contended for again.
    expect(hand.counts).toEqual({ holds: 2, releases: 1 });
    // A send after that never goes out (the gate, closed by the loss, unsubscribes it).
    let sent = 0;
    const s = run(fenced.guardSend(defer(() => ((sent += 1), of('sent')))));
    expect({ sent, values: s.values, done: s.done }).toEqual({ sent: 0, values: [], done: false });
    // Acquired again: the new token passes.
    store.data.meta.set('processorLock.fence', { fencingToken: 9 });
    hand.states.next({ held: true, fencingToken: 9, takeover: false });
    expect(run(fenced.guardSend(of('sent'))).values).toEqual(['sent']);
  });

  test('keeps its token after release(): writes finishing after it pass until someone else acquires', () => {
    const store = new MemoryStorePort();
    const hand = handLock();
    const fenced = fenceLock(hand.lock, store);
    const sub = fenced.lock.hold().subscribe();
    store.data.meta.set('processorLock.fence', { fencingToken: 3 });
    hand.states.next({ held: true, fencingToken: 3, takeover: false });
    sub.unsubscribe();
    fenced.lock.release().subscribe();
    expect(run(fenced.check()).values).toEqual([true]);
    store.data.meta.set('processorLock.fence', { fencingToken: 4 });
    expect(run(fenced.check()).values).toEqual([false]);
  });

  test('an absent or unreadable fence record refuses (the token cannot be proved)', () => {
    const store = new MemoryStorePort();
    const hand = handLock();
    const fenced = fenceLock(hand.lock, store);
    fenced.lock.hold().subscribe();
    hand.states.next({ held: true, fencingToken: 1, takeover: false });
    expect(run(fenced.check()).values).toEqual([false]);
    hand.states.next({ held: true, fencingToken: 2, takeover: false });
    store.corruptMeta('processorLock.fence');
    expect(run(fenced.check()).values).toEqual([false]);
  });

  test('checks made while a read is in flight share it', () => {
    const store = new MemoryStorePort();
    const gate = new Subject<void>();
    let reads = 0;
    // A read that answers when `gate` emits.
    const slow = {
      readMeta: <T>(key: string) => {
        reads += 1;
        return gate.pipe(
          take(1),
          map(() => store.data.meta.get(key) as T | undefined),
        );
      },
      writeMeta: <T>(key: string, v: T) => store.writeMeta(key, v),
    };
    const hand = handLock();
    const fenced = fenceLock(hand.lock, slow);
    fenced.lock.hold().subscribe();
    store.data.meta.set('processorLock.fence', { fencingToken: 5 });
    hand.states.next({ held: true, fencingToken: 5, takeover: false });
    const a = run(fenced.check());
    const b = run(fenced.check());
    gate.next();
    expect([a.values, b.values]).toEqual([[true], [true]]);
    expect(reads).toBe(1);
    // The next check reads again.
    const c = run(fenced.check());
    gate.next();
    expect(c.values).toEqual([true]);
    expect(reads).toBe(2);
  });
});

/** A fence over a counting meta port and a hand clock, holding token 5. */
function freshFence(sendFreshMs: number) {
  const store = new MemoryStorePort();
  let reads = 0;
  const meta = {
    readMeta: <T>(key: string) => ((reads += 1), store.readMeta<T>(key)),
    writeMeta: <T>(key: string, v: T) => store.writeMeta(key, v),
  };
  const clock = { t: 1_000 };
  const hand = handLock();
  const fenced = fenceLock(hand.lock, meta, { sendFreshMs, now: () => clock.t });
  fenced.lock.hold().subscribe();
  store.data.meta.set('processorLock.fence', { fencingToken: 5 });
  hand.states.next({ held: true, fencingToken: 5, takeover: false });
  return { store, hand, fenced, clock, reads: () => reads };
}

describe('fenceLock: sends admitted by a recent check (sendFreshMs)', () => {
  test('a send within sendFreshMs of a passed check reads nothing; one at or past it reads, and sees a takeover', () => {
    const f = freshFence(20);
    expect(run(f.fenced.checkSend()).values).toEqual([true]);
    expect(f.reads()).toBe(1);
    f.clock.t += 19;
    expect(run(f.fenced.guardSend(of('sent'))).values).toEqual(['sent']);
    expect(f.reads()).toBe(1);
    // Another engine acquired; the next send past the window reads the fence and is refused.
    f.store.data.meta.set('processorLock.fence', { fencingToken: 6 });
    f.clock.t += 1;
    expect(run(f.fenced.guardSend(of('sent'))).values).toEqual([]);
    expect(f.reads()).toBe(2);
    // Refused once, refused after (no token until the lock is acquired again).
    expect(run(f.fenced.checkSend()).values).toEqual([false]);
  });

  test('dead-letter and rescheduling writes (guardWrite) and check() always read, and a passing one renews the window', () => {
    const f = freshFence(20);
    run(f.fenced.check());
    run(f.fenced.check());
    run(f.fenced.guardWrite(of('w')));
    expect(f.reads()).toBe(3);
    f.clock.t += 15;
    run(f.fenced.guardWrite(of('w')));
    f.clock.t += 15;
    expect(run(f.fenced.checkSend()).values).toEqual([true]);
    expect(f.reads()).toBe(4);
  });

  test.each([
    ['the inner lock reports the loss', (f: ReturnType<typeof freshFence>) => f.hand.states.next({ held: false, lost: true })],
    ['the inner lock reports another acquisition', (f: ReturnType<typeof freshFence>) => f.hand.states.next({ held: true, fencingToken: 5, takeover: false })],
    ['this engine releases the lock (frozen, hidden, stopped)', (f: ReturnType<typeof freshFence>) => void f.fenced.lock.release().subscribe()],
    ['the clock went back', (f: ReturnType<typeof freshFence>) => void (f.clock.t -= 5)],
  ])('a passed check admits no send once %s: the next send reads', (_, event) => {
    const f = freshFence(20);
    run(f.fenced.checkSend());
    event(f);
    f.clock.t += 1;
    run(f.fenced.checkSend());
    expect(f.reads()).toBe(2);
  });

  test('a commit reuses a recent passed check as a send does; past the window it reads, and a takeover refuses it with lockNotHeld, writing nothing', () => {
    const f = freshFence(20);
    run(f.fenced.check());
    f.clock.t += 19;
    let written = 0;
    const commit$ = defer(() => of((written += 1)));
    expect(run(f.fenced.guardCommit(commit$)).values).toEqual([1]);
    expect(f.reads()).toBe(1);
    f.store.data.meta.set('processorLock.fence', { fencingToken: 6 });
    f.clock.t += 1;
    const refused = run(f.fenced.guardCommit(commit$));
    expect(refused.error).toMatchObject({ name: 'ValidationError', reason: 'lockNotHeld' });
    expect(written).toBe(1);
    expect(f.reads()).toBe(2);
  });

  test('without sendFreshMs (the default) every send reads', () => {
    const f = freshFence(0);
    run(f.fenced.checkSend());
    run(f.fenced.guardSend(of('sent')));
    expect(f.reads()).toBe(2);
  });

  test('refuses a window without a clock, or not a finite number ≥ 0', () => {
    const store = new MemoryStorePort();
    expect(() => fenceLock(handLock().lock, store, { sendFreshMs: 20 })).toThrow(RangeError);
    expect(() => fenceLock(handLock().lock, store, { sendFreshMs: -1, now: () => 0 })).toThrow(RangeError);
    expect(() => fenceLock(handLock().lock, store, { sendFreshMs: Infinity, now: () => 0 })).toThrow(RangeError);
  });
});

describe('guardMethods', () => {
  test('guards the named methods only, on a class instance too (private fields, `this`)', () => {
    class Port {
      readonly #n = 2;
      double(x: number): Observable<number> {
        return of(x * this.#n);
      }
      triple(x: number): Observable<number> {
        return of(x * 3 * (this.#n / 2));
      }
      readonly tag = 'port';
    }
    const calls: string[] = [];
    const guarded = guardMethods(new Port(), ['double'], (o, name) => {
      calls.push(`guard ${String(name)}`);
      return o;
    });
    expect(run(guarded.double(2)).values).toEqual([4]);
    expect(run(guarded.triple(2)).values).toEqual([6]);
    expect(guarded.tag).toBe('port');
    expect(calls).toEqual(['guard double']);
    // Each method reads as the same function every time, guarded or not (callers compare them).
    expect(guarded.double).toBe(guarded.double);
    expect(guarded.triple).toBe(guarded.triple);
  });
});
