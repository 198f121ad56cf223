import * as fc from 'fast-check';
import { BehaviorSubject, Observable, filter } from 'rxjs';
import { marbles } from 'rxjs-marbles/jest';
import { StorageError } from '../../src/errors/sync-error';
import { CANCELLED_MESSAGE, userMessageFor } from '../../src/errors/user-messages';
import { createOptimisticStore, type Rollback } from '../../src/optimistic/create-optimistic-store';
import { FakeEngine } from './fake-engine';

interface Todo {
  readonly title: string;
  readonly done: boolean;
  readonly serverId?: number;
}
type Todos = Readonly<Record<string, Todo>>;

const todoOptions = {
  initial: {} as Todos,
  apply: {
    'todo.create': (s: Todos, p: { id: string; title: string }): Todos => ({ ...s, [p.id]: { title: p.title, done: false } }),
    'todo.rename': (s: Todos, p: { id: string; title: string }): Todos =>
      s[p.id] ? { ...s, [p.id]: { ...s[p.id], title: p.title } } : s,
    'todo.toggle': (s: Todos, p: { id: string }): Todos => (s[p.id] ? { ...s, [p.id]: { ...s[p.id], done: !s[p.id].done } } : s),
  },
  commit: {
    'todo.create': (s: Todos, p: { id: string; title: string }, data: unknown): Todos => ({
      ...s,
      [p.id]: { title: p.title, done: false, serverId: (data as { serverId: number }).serverId },
    }),
  },
};

function collect<T>(o$: Observable<T>): T[] {
  const out: T[] = [];
  o$.subscribe((v) => out.push(v));
  return out;
}

describe('createOptimisticStore', () => {
  it(
    'shows a mutation in the same tick and folds the server answer on commit',
    marbles((m) => {
      const engine = new FakeEngine();
      const todos = createOptimisticStore(engine, todoOptions);
      m.scheduler.schedule(() => void todos.mutate('todo.create', { id: 'a', title: 'Milk' }), 10);
      m.scheduler.schedule(() => engine.commit(engine.queue[0].id, { serverId: 7 }), 30);
      m.expect(todos.state$).toBeObservable('e 9ms o 19ms c', {
        e: {},
        o: { a: { title: 'Milk', done: false } },
        c: { a: { title: 'Milk', done: false, serverId: 7 } },
      });
      m.expect(todos.confirmed$).toBeObservable('e 29ms c', {
        e: {},
        c: { a: { title: 'Milk', done: false, serverId: 7 } },
      });
    }),
  );

  it(
    'rolls back a refused op with the fixed user message and leaves confirmed state alone',
    marbles((m) => {
      const engine = new FakeEngine();
      const todos = createOptimisticStore(engine, todoOptions);
      m.scheduler.schedule(() => void todos.mutate('todo.create', { id: 'a', title: 'Milk' }), 10);
      m.scheduler.schedule(() => engine.fail(engine.queue[0].id), 20);
      m.expect(todos.state$).toBeObservable('e 9ms o 9ms e', { e: {}, o: { a: { title: 'Milk', done: false } } });
      m.expect(todos.confirmed$).toBeObservable('e', { e: {} });
      m.expect(todos.rollbacks$.pipe()).toBeObservable('20ms r', {
        r: expect.objectContaining({
          reason: 'failed',
          message: userMessageFor('permanent'),
          error: { kind: 'permanent', status: 400 },
        }) as unknown as Rollback,
      });
    }),
  );

  it('keeps FIFO order of several ops on one entity and rebases the survivors after a failure in the middle', () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    todos.mutate('todo.create', { id: 'a', title: 'v1' });
    todos.mutate('todo.rename', { id: 'a', title: 'v2' });
    todos.mutate('todo.rename', { id: 'a', title: 'v3-refused' });
    todos.mutate('todo.toggle', { id: 'a' });
    expect(states.at(-1)).toEqual({ a: { title: 'v3-refused', done: true } });

    engine.fail(engine.queue[2].id);
    expect(states.at(-1)).toEqual({ a: { title: 'v2', done: true } });

    engine.commit(engine.queue[0].id, { serverId: 1 });
    engine.commit(engine.queue[0].id);
    engine.commit(engine.queue[0].id);
    expect(engine.queue).toHaveLength(0);
    expect(states.at(-1)).toEqual({ a: { title: 'v2', done: true, serverId: 1 } });
  });

  it('applies each conflict resolution: retry rewrites the layer, drop and fail roll back', () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    const rollbacks = collect(todos.rollbacks$);
    todos.mutate('todo.create', { id: 'a', title: 'mine' });
    todos.mutate('todo.create', { id: 'b', title: 'dropped' });
    todos.mutate('todo.create', { id: 'c', title: 'failed' });

    engine.conflict(engine.queue[0].id, 'retry', { id: 'a', title: 'merged' });
    expect(states.at(-1)).toEqual({
      a: { title: 'merged', done: false },
      b: { title: 'dropped', done: false },
      c: { title: 'failed', done: false },
    });
    expect(rollbacks).toHaveLength(0);

    engine.conflict(engine.queue[1].id, 'drop');
    engine.conflict(engine.queue[1].id, 'fail');
    expect(states.at(-1)).toEqual({ a: { title: 'merged', done: false } });
    expect(rollbacks.map((r) => [r.reason, r.message])).toEqual([
      ['conflict', userMessageFor('conflict')],
      ['conflict', userMessageFor('conflict')],
    ]);
  });

  it.each([false, true])('a cancelled op rolls its layer back once, as cancelled (result first: %s)', (resultsFirst) => {
    const engine = new FakeEngine();
    engine.resultsFirst = resultsFirst;
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    const rollbacks = collect(todos.rollbacks$);
    todos.mutate('todo.create', { id: 'a', title: 'kept' });
    const { txToken } = todos.mutate('todo.create', { id: 'b', title: 'cancelled' });
    void engine.cancel(engine.queue[1].id);
    expect(states.at(-1)).toEqual({ a: { title: 'kept', done: false } });
    expect(rollbacks).toEqual([{ txToken, opId: expect.any(String), reason: 'cancelled', message: CANCELLED_MESSAGE }]);
  });

  it('rebuilds the same view after a restart from the durable queue', () => {
    const engine = new FakeEngine();
    const before = createOptimisticStore(engine, todoOptions);
    const states = collect(before.state$);
    before.mutate('todo.create', { id: 'a', title: 'one' });
    before.mutate('todo.toggle', { id: 'a' });
    before.mutate('todo.create', { id: 'b', title: 'two' });
    before.dispose();

    const restarted = new FakeEngine(engine.queue); // same store, new process
    const after = collect(createOptimisticStore(restarted, todoOptions).state$);
    expect(after).toEqual([states.at(-1)]);
  });

  it('re-applies a layer retried from the failed queue and emits a rollback on discard', async () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    const rollbacks = collect(todos.rollbacks$);
    const { txToken } = todos.mutate('todo.create', { id: 'a', title: 'x' });
    todos.mutate('todo.create', { id: 'b', title: 'y' });
    engine.fail(engine.queue[0].id);
    engine.fail(engine.queue[0].id);
    expect(states.at(-1)).toEqual({});

    await engine.failedOps.retry(engine.dead[0].id);
    expect(states.at(-1)).toEqual({ a: { title: 'x', done: false } });

    const discarded = engine.dead[0];
    await engine.failedOps.discard(discarded.id);
    expect(rollbacks.map((r) => r.reason)).toEqual(['failed', 'failed', 'discarded']);
    expect(rollbacks[2]).toMatchObject({ txToken: discarded.op?.txToken, opId: discarded.id });
    expect(rollbacks[0].txToken).toBe(txToken);
  });

  it('a retry after a 4xx rollback comes back under a new id and key: pending again, committed once, no spurious rebase', async () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    const confirmed = collect(todos.confirmed$);
    const pending = collect(todos.pending$);
    const rollbacks = collect(todos.rollbacks$);
    const { txToken, persisted } = todos.mutate('todo.create', { id: 'a', title: 'x' });
    const first = await persisted;
    engine.fail(first.id); // 400: a definitive refusal
    expect(states.at(-1)).toEqual({});
    expect(rollbacks.map((r) => [r.txToken, r.reason])).toEqual([[txToken, 'failed']]);

    const retried = await engine.failedOps.retry(first.id);
    expect(retried.idempotencyKey).not.toBe(first.idempotencyKey);
    expect([retried.id === first.id, retried.txToken]).toEqual([false, txToken]);
    expect(states.at(-1)).toEqual({ a: { title: 'x', done: false } });
    expect(pending.at(-1)).toEqual([{ opId: retried.id, txToken, type: 'todo.create', status: 'queued' }]);

    // Attempts under the new key are not a rewrite: no re-read of the queue.
    const reads = jest.spyOn(engine, 'pendingOps');
    engine.bumpAttempts(retried.id);
    expect(reads).not.toHaveBeenCalled();

    engine.commit(retried.id, { serverId: 9 });
    expect(confirmed.at(-1)).toEqual({ a: { title: 'x', done: false, serverId: 9 } });
    expect(states.at(-1)).toEqual({ a: { title: 'x', done: false, serverId: 9 } });
    expect(pending.at(-1)).toEqual([]);
    expect(rollbacks).toHaveLength(1);
  });

  it('removes the layer and says why when the durable write fails', async () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    const rollbacks = collect(todos.rollbacks$);
    engine.rejectWith = new StorageError('quota');
    const { txToken, persisted } = todos.mutate('todo.create', { id: 'a', title: 'x' });
    expect(states.at(-1)).toEqual({ a: { title: 'x', done: false } });
    await expect(persisted).rejects.toBeInstanceOf(StorageError);
    expect(states.at(-1)).toEqual({});
    expect(rollbacks).toEqual([
      { txToken, reason: 'persistFailed', message: userMessageFor('storage'), error: { kind: 'storage', code: 'quota' } },
    ]);
  });

  it('costs no re-read for appends, attempt updates or commits the server agrees with', () => {
    const engine = new FakeEngine();
    const reads = jest.spyOn(engine, 'pendingOps');
    const todos = createOptimisticStore(engine, { initial: [] as string[], apply: { push: (s: string[], p: string) => [...s, p] } });
    const states = collect(todos.state$);
    expect(reads).toHaveBeenCalledTimes(1); // the initial load
    todos.mutate('push', 'a');
    todos.mutate('push', 'b');
    engine.bumpAttempts(engine.queue[0].id);
    engine.commit(engine.queue[0].id, { ignored: true });
    expect(reads).toHaveBeenCalledTimes(1);
    expect(states).toEqual([[], ['a'], ['a', 'b']]);

    engine.fail(engine.queue[0].id); // a rollback rebases
    expect(reads).toHaveBeenCalledTimes(2);
    expect(states.at(-1)).toEqual(['a']);
  });

  it('compares states deeply by default, Set members included: a commit the server agrees with costs no re-read', () => {
    interface Tagged {
      readonly tags: ReadonlySet<{ readonly name: string }>;
    }
    const engine = new FakeEngine();
    const reads = jest.spyOn(engine, 'pendingOps');
    const todos = createOptimisticStore(engine, {
      initial: { tags: new Set() } as Tagged,
      // Every apply builds new member objects: equal by content, never by identity.
      apply: { tag: (s: Tagged, p: string): Tagged => ({ tags: new Set([...s.tags, { name: p }]) }) },
    });
    const states = collect(todos.state$);
    todos.mutate('tag', 'a');
    engine.commit(engine.queue[0].id);
    expect(reads).toHaveBeenCalledTimes(1); // the initial load only
    expect(states.map((s) => [...s.tags])).toEqual([[], [{ name: 'a' }]]);
  });

  it('passes ops of types it has no apply for through untouched', () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    todos.mutate('audit.log', { anything: 1 });
    todos.mutate('todo.create', { id: 'a', title: 'x' });
    engine.commit(engine.queue[0].id);
    expect(states.at(-1)).toEqual({ a: { title: 'x', done: false } });
  });

  it('rebases on every new confirmed state from the app cache', () => {
    const engine = new FakeEngine();
    const cache$ = new BehaviorSubject<Todos>({ z: { title: 'server', done: true } });
    const todos = createOptimisticStore(engine, { ...todoOptions, initial: cache$ });
    const states = collect(todos.state$);
    todos.mutate('todo.rename', { id: 'z', title: 'local' });
    expect(states.at(-1)).toEqual({ z: { title: 'local', done: true } });
    cache$.next({ z: { title: 'server2', done: false } });
    expect(states.at(-1)).toEqual({ z: { title: 'local', done: false } });
  });

  it('reports pending statuses from the engine', () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const pending = collect(todos.pending$);
    todos.mutate('todo.create', { id: 'a', title: 'x' });
    todos.mutate('todo.create', { id: 'b', title: 'y' });
    const [a, b] = engine.queue;
    expect(pending.at(-1)?.map((e) => e.status)).toEqual(['queued', 'queued']);
    engine.setStatus({ inFlight: a.id });
    expect(pending.at(-1)?.map((e) => [e.opId, e.status])).toEqual([
      [a.id, 'sending'],
      [b.id, 'queued'],
    ]);
    engine.setStatus({ inFlight: undefined, nextAttemptAt: 5000 });
    expect(pending.at(-1)?.[0]).toMatchObject({ status: 'retrying', nextAttemptAt: 5000 });
    engine.setStatus({ authRequired: true });
    expect(pending.at(-1)?.[0].status).toBe('authRequired');
  });

  it('ends, for any ops and outcomes, at the confirmed state folded with only the committed ops', () => {
    type Outcome = 'commit' | 'fail' | 'drop' | 'conflictFail' | 'retry';
    const command = fc.oneof(
      fc.record({ kind: fc.constant('mutate' as const), value: fc.integer({ min: 0, max: 99 }) }),
      fc.record({
        kind: fc.constant('resolve' as const),
        outcome: fc.constantFrom<Outcome>('commit', 'fail', 'drop', 'conflictFail', 'retry'),
      }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), fc.boolean(), (commands, resultsFirst) => {
        const engine = new FakeEngine();
        engine.resultsFirst = resultsFirst;
        const store = createOptimisticStore(engine, {
          initial: [] as number[],
          apply: { push: (s: number[], p: number) => [...s, p] },
        });
        const states = collect(store.state$);
        const committed: number[] = [];
        const resolveHead = (outcome: Outcome): void => {
          const head = engine.queue[0];
          if (!head) return;
          if (outcome === 'commit') {
            committed.push(head.payload as number);
            engine.commit(head.id);
          } else if (outcome === 'fail') engine.fail(head.id);
          else if (outcome === 'drop') engine.conflict(head.id, 'drop');
          else if (outcome === 'conflictFail') engine.conflict(head.id, 'fail');
          else engine.conflict(head.id, 'retry', (head.payload as number) + 1000);
        };
        for (const c of commands) {
          if (c.kind === 'mutate') store.mutate('push', c.value);
          else resolveHead(c.outcome);
          // At every step the view is confirmed ⊕ the queue, in order.
          expect(states.at(-1)).toEqual([...committed, ...engine.queue.map((o) => o.payload as number)]);
        }
        while (engine.queue.length > 0) resolveHead('commit');
        expect(states.at(-1)).toEqual(committed);
      }),
      { numRuns: 200 },
    );
  });
});

describe('createOptimisticStore per account (engine account$)', () => {
  const todo = (title: string, serverId?: number): Todo => ({ title, done: false, ...(serverId === undefined ? {} : { serverId }) });
  const ids = (entries: readonly { readonly opId?: string }[] | undefined) => entries?.map((e) => e.opId);
  const queued = (engine: FakeEngine, account: string) => engine.queue.filter((o) => o.accountId === account).map((o) => o.id);

  it("after a switch shows B's confirmed state and B's pending ops only; A's layers come back when A signs in again and commit once", () => {
    const engine = new FakeEngine();
    // The app's confirmed state per account (what its own cache holds).
    const server: Record<string, Todos> = { A: { s: todo('A server') }, B: { t: todo('B server') } };
    const todos = createOptimisticStore(engine, { ...todoOptions, initial: (account: string | null) => (account ? server[account] : {}) });
    const states = collect(todos.state$);
    const pending = collect(todos.pending$);
    engine.signIn('A');
    todos.mutate('todo.create', { id: 'a1', title: 'A pending 1' });
    todos.mutate('todo.create', { id: 'a2', title: 'A pending 2' });
    expect(states.at(-1)).toEqual({ s: todo('A server'), a1: todo('A pending 1'), a2: todo('A pending 2') });

    engine.signIn('B');
    expect(states.at(-1)).toEqual({ t: todo('B server') });
    expect(pending.at(-1)).toEqual([]);
    todos.mutate('todo.create', { id: 'b1', title: 'B pending' });
    expect(states.at(-1)).toEqual({ t: todo('B server'), b1: todo('B pending') });
    expect(ids(pending.at(-1))).toEqual(queued(engine, 'B'));
    expect(queued(engine, 'B')).toHaveLength(1);
    engine.commit(engine.queue[2].id, { serverId: 3 });
    expect(states.at(-1)).toEqual({ t: todo('B server'), b1: todo('B pending', 3) });
    // No state B ever saw holds anything of A's.
    const seenByB = states.slice(states.findIndex((s) => 't' in s));
    expect(seenByB.every((s) => !('a1' in s) && !('a2' in s) && !('s' in s))).toBe(true);

    engine.signIn('A');
    expect(states.at(-1)).toEqual({ s: todo('A server'), a1: todo('A pending 1'), a2: todo('A pending 2') });
    expect(ids(pending.at(-1))).toEqual(queued(engine, 'A'));
    expect(queued(engine, 'A')).toHaveLength(2);
    const commits = collect(todos.confirmed$);
    engine.commit(engine.queue[0].id, { serverId: 1 });
    engine.commit(engine.queue[0].id, { serverId: 2 });
    expect(states.at(-1)).toEqual({ s: todo('A server'), a1: todo('A pending 1', 1), a2: todo('A pending 2', 2) });
    expect(commits.slice(1).map((c) => Object.keys(c).length)).toEqual([2, 3]);
    expect(pending.at(-1)).toEqual([]);
  });

  it('signed out (null) shows no account\'s pending ops; a subscriber arriving after a switch never gets the previous account\'s view', () => {
    const engine = new FakeEngine();
    const bCache$ = new BehaviorSubject<Todos | undefined>(undefined);
    const confirmedFor = (account: string | null): Todos | Observable<Todos> =>
      account === 'B' ? (bCache$.pipe(filter((t): t is Todos => t !== undefined))) : {};
    const todos = createOptimisticStore(engine, { ...todoOptions, initial: confirmedFor });
    engine.signIn('A');
    todos.mutate('todo.create', { id: 'a1', title: 'A pending' });
    expect(collect(todos.state$)).toEqual([{ a1: todo('A pending') }]);

    engine.signIn(null);
    expect(collect(todos.state$)).toEqual([{}]);
    expect(collect(todos.pending$)).toEqual([[]]);

    // B's cache has not loaded yet: nothing to show, A's view is not replayed.
    engine.signIn('B');
    const late = collect(todos.state$);
    expect(late).toEqual([]);
    expect(collect(todos.confirmed$)).toEqual([]);
    bCache$.next({ t: todo('B server') });
    expect(late).toEqual([{ t: todo('B server') }]);
  });

  it("a single initial value is every account's starting state: what was committed for A is not carried to B", () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const confirmed = collect(todos.confirmed$);
    engine.signIn('A');
    todos.mutate('todo.create', { id: 'a1', title: 'A' });
    engine.commit(engine.queue[0].id, { serverId: 1 });
    expect(confirmed.at(-1)).toEqual({ a1: todo('A', 1) });
    engine.signIn('B');
    expect(confirmed.at(-1)).toEqual({});
    expect(collect(todos.state$)).toEqual([{}]);
  });

  it("A's op committing after the switch (its answer was on the way) is not folded into B's view: B's view and confirmed state do not change", () => {
    const engine = new FakeEngine();
    const todos = createOptimisticStore(engine, todoOptions);
    const states = collect(todos.state$);
    engine.signIn('A');
    todos.mutate('todo.create', { id: 'a1', title: 'A' });
    engine.signIn('B');
    const shown = states.length;
    engine.commit(engine.queue[0].id, { serverId: 1 });
    expect(states.length).toBe(shown);
    expect(collect(todos.confirmed$)).toEqual([{}]);
  });
});
