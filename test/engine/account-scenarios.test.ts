import { marbles } from 'rxjs-marbles/jest';
import { BehaviorSubject, VirtualTimeScheduler } from 'rxjs';
import { createTokenManager, type TokenSource } from '../../src/auth/token-manager';
import { authPortFromTokenManager } from '../../src/engine/auth-port';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { AuthError, ValidationError } from '../../src/errors/sync-error';
import { createOptimisticStore, type PendingEntry } from '../../src/optimistic/create-optimistic-store';
import { EngineHarness } from '../support/engine-harness';
import { MemoryStoreData } from '../support/memory-store-port';
import { legacyAndAccountAOps } from '../support/op-fixture';
import { fail, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// Accounts: ops belong to the account that enqueued them and are sent only
// while it is signed in. The storage lock is acquired at t=50; every
// scripted answer takes 10 ms. A "session" is what the app changes in one
// synchronous step: the token its getToken returns, then account$.

/** The harness with accounts in use; `signIn(id)` / `signOut()` switch the session. */
function withAccounts(m: { scheduler: VirtualTimeScheduler | import('rxjs').SchedulerLike }, data?: MemoryStoreData) {
  const account$ = new BehaviorSubject<string | null>(null);
  const h = new EngineHarness(m.scheduler, { account$, data });
  const signIn = (id: string) => {
    h.auth.current = `token-${id}`;
    account$.next(id);
  };
  const signOut = () => {
    h.auth.current = null;
    account$.next(null);
  };
  const enqueue = (id: string) => h.engine.enqueue({ type: 'todo.create', payload: { id, title: `title ${id}` }, txToken: `tx-${id}` });
  return { h, account$, signIn, signOut, enqueue };
}

/** [todo id, Authorization header] of every request, in send order. */
const sent = (h: EngineHarness) => h.server.requests.map((r) => [(JSON.parse(r.request.body ?? '{}') as { id: string }).id, r.request.headers.Authorization]);

const completedAttempts = (h: EngineHarness) =>
  h.events.filter((e): e is Extract<EngineEvent, { type: 'completed' }> => e.type === 'completed').map((e) => [(e.op.payload as { id: string }).id, e.op.attempts]);

describe('accounts and sign-out (engine, virtual time)', () => {
  test(
    "enqueue as A, sign out, sign in as B: none of A's ops is sent with B's token, B's are; A signs back in: A's are sent, exactly once",
    marbles((m) => {
      const { h, signIn, signOut, enqueue } = withAccounts(m);
      h.online$.next(false);
      h.engine.start();
      signIn('A');
      void enqueue('a1');
      void enqueue('a2');
      signOut();
      signIn('B');
      void enqueue('b1');
      expect(h.store.pendingOps().map((o) => o.accountId)).toEqual(['A', 'A', 'B']);
      h.at(100, () => h.online$.next(true));
      h.at(1_000, () => {
        expect(sent(h)).toEqual([['b1', 'Bearer token-B']]);
        // A's ops stay pending, untouched, and say why.
        expect(h.store.pendingOps().map((o) => [o.txToken, o.attempts, o.lastError])).toEqual([
          ['tx-a1', 0, null],
          ['tx-a2', 0, null],
        ]);
        expect(h.status).toMatchObject({ processing: true, pending: 2, waitingForAccount: 2, blockedBy: [] });
        signIn('A');
      });
      h.at(2_000, () => void h.engine.stop());
      m.flush();
      expect(sent(h)).toEqual([
        ['b1', 'Bearer token-B'],
        ['a1', 'Bearer token-A'],
        ['a2', 'Bearer token-A'],
      ]);
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        ['tx-b1', 'committed'],
        ['tx-a1', 'committed'],
        ['tx-a2', 'committed'],
      ]);
      const keys = h.server.requests.map((r) => r.request.headers['Idempotency-Key']);
      expect(new Set(keys).size).toBe(3);
      expect(h.store.pendingOps()).toEqual([]);
      expect(h.status.waitingForAccount).toBeUndefined();
    }),
  );

  test(
    "switching account while A's op is in flight aborts it (no attempt consumed); it is never retried with B's token and goes out once more, same key, when A is back",
    marbles((m) => {
      const { h, signIn, enqueue } = withAccounts(m);
      h.server.script(ok({}, 1_000));
      signIn('A');
      void enqueue('a1');
      h.engine.start();
      h.at(100, () => signIn('B'));
      h.at(500, () => void enqueue('b1'));
      h.at(3_000, () => signIn('A'));
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(h.server.requests[0]).toMatchObject({ sentAt: 50, abortedAt: 100 });
      expect(sent(h)).toEqual([
        ['a1', 'Bearer token-A'],
        ['b1', 'Bearer token-B'],
        ['a1', 'Bearer token-A'],
      ]);
      const a1Keys = h.server.requests.filter((_, i) => i !== 1).map((r) => r.request.headers['Idempotency-Key']);
      expect(a1Keys[0]).toBe(a1Keys[1]);
      expect(completedAttempts(h)).toEqual([
        ['b1', 0],
        ['a1', 0],
      ]);
      expect(h.eventTypes('backoff', 'attemptFailed')).toEqual([]);
    }),
  );

  test(
    'signed out: the gate is closed (signedOut), every pending op waits for its account, and enqueue is refused (AuthError signed_out), nothing stored',
    async () => {
      const scheduler = new VirtualTimeScheduler();
      const { h, signIn, signOut, enqueue } = withAccounts({ scheduler });
      signIn('A');
      await enqueue('a1');
      signOut();
      const refused = enqueue('x');
      await expect(refused).rejects.toBeInstanceOf(AuthError);
      await expect(refused).rejects.toMatchObject({ code: 'signed_out' });
      h.engine.start();
      await runUntil(scheduler, 1_000);
      expect(h.store.pendingOps().map((o) => o.txToken)).toEqual(['tx-a1']);
      expect(h.server.requests).toEqual([]);
      expect(h.status).toMatchObject({ lockHeld: true, processing: false, blockedBy: ['signedOut'], pending: 1, waitingForAccount: 1 });
      await h.engine.dispose();
    },
  );

  test(
    "a refresh in flight for A when B signs in is never handed to B's op: B's op is sent with B's own token",
    async () => {
      const scheduler = new VirtualTimeScheduler();
      let session: { token: string | null } = { token: 'token-A' };
      let answerRefresh!: (t: string) => void;
      const app: TokenSource = {
        getToken: () => session.token,
        refreshToken: () =>
          new Promise<string>((resolve) => {
            answerRefresh = resolve;
          }),
      };
      const tokens = createTokenManager(app, { scheduler, refreshAhead: false });
      const account$ = new BehaviorSubject<string | null>('A');
      const h = new EngineHarness(scheduler, { account$, auth: authPortFromTokenManager(tokens) });
      h.server.script(fail(401), ok(), ok());
      void h.engine.enqueue({ type: 'todo.create', payload: { id: 'a1', title: 't' } });
      h.engine.start();
      await runUntil(scheduler, 100); // A's 401 at t=60 asked for a refresh that is still pending
      session = { token: 'token-B' };
      account$.next('B');
      void h.engine.enqueue({ type: 'todo.create', payload: { id: 'b1', title: 't' } });
      await runUntil(scheduler, 200);
      answerRefresh('token-A-refreshed'); // A's refresh answers late
      await runUntil(scheduler, 1_000);
      expect(sent(h)).toEqual([
        ['a1', 'Bearer token-A'],
        ['b1', 'Bearer token-B'],
      ]);
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      await h.engine.dispose();
      tokens.dispose();
    },
  );

  test(
    "a sign-in leaves authRequired: B's ops go out without resumeAuth()",
    marbles((m) => {
      const { h, signIn, enqueue } = withAccounts(m);
      h.server.script(fail(401));
      signIn('A');
      void enqueue('a1');
      h.engine.start();
      h.at(500, () => {
        expect(h.status).toMatchObject({ authRequired: true, blockedBy: ['authRequired'] });
        signIn('B');
        void enqueue('b1');
      });
      h.at(2_000, () => void h.engine.stop());
      m.flush();
      expect(sent(h)).toEqual([
        ['a1', 'Bearer token-A'],
        ['b1', 'Bearer token-B'],
      ]);
      expect(h.results.map((r) => r.txToken)).toEqual(['tx-b1']);
      expect(h.store.pendingOps().map((o) => o.txToken)).toEqual(['tx-a1']);
    }),
  );

  test(
    'ops with no account (older builds) are sent under whoever is signed in; without account$, ops of an account are never sent',
    marbles((m) => {
      const { legacy, ofA } = legacyAndAccountAOps();
      const withB = new MemoryStoreData();
      withB.pending.set(legacy.id, legacy);
      const b = withAccounts(m, withB);
      b.signIn('B');
      b.h.engine.start();

      const noAccounts = new MemoryStoreData();
      noAccounts.pending.set(legacy.id, legacy);
      noAccounts.pending.set(ofA.id, ofA);
      const plain = new EngineHarness(m.scheduler, { data: noAccounts });
      plain.engine.start();
      m.scheduler.schedule(() => {
        void b.h.engine.stop();
        void plain.engine.stop();
      }, 2_000);
      m.flush();
      expect(sent(b.h)).toEqual([['old', 'Bearer token-B']]);
      expect(sent(plain)).toEqual([['old', 'Bearer token-1']]);
      expect(plain.store.pendingOps().map((o) => o.accountId)).toEqual(['A']);
      expect(plain.statuses.some((s) => s.waitingForAccount === 1)).toBe(true);
    }),
  );

  test(
    "discardAccount: only with { confirm: true }, never for the account signed in; drops that account's ops through fail+discard, and nothing of it is sent later",
    async () => {
      const scheduler = new VirtualTimeScheduler();
      const { h, signIn, signOut, enqueue } = withAccounts({ scheduler });
      h.online$.next(false);
      signIn('A');
      await enqueue('a1');
      await enqueue('a2');
      signOut();
      signIn('B');
      await enqueue('b1');
      const changes: string[] = [];
      h.store.changes$.subscribe((c) => changes.push(c.type === 'failed' ? `failed:${c.record.reason}` : c.type));

      await expect(h.engine.discardAccount('A')).rejects.toMatchObject({ reason: 'notConfirmed' });
      await expect(h.engine.discardAccount('B', { confirm: true })).rejects.toMatchObject({ reason: 'accountSignedIn' });
      await expect(h.engine.discardAccount('A', { confirm: false })).rejects.toBeInstanceOf(ValidationError);
      expect(h.store.pendingOps()).toHaveLength(3);

      await expect(h.engine.discardAccount('A', { confirm: true })).resolves.toBe(2);
      expect(changes).toEqual(['failed:dropped', 'discarded', 'failed:dropped', 'discarded']);
      expect(h.store.pendingOps().map((o) => o.txToken)).toEqual(['tx-b1']);
      expect(h.store.data.failed.size).toBe(0);
      await expect(h.engine.discardAccount('A', { confirm: true })).resolves.toBe(0);

      h.online$.next(true);
      h.engine.start();
      signIn('A');
      await runUntil(scheduler, 1_000);
      expect(sent(h)).toEqual([]);
      signIn('B');
      await runUntil(scheduler, 2_000);
      expect(sent(h)).toEqual([['b1', 'Bearer token-B']]);
      expect(h.status).toMatchObject({ pending: 0, failed: 0 });
      await h.engine.dispose();
    },
  );

  test(
    "the optimistic view per account: after a switch B sees none of A's layers, synced once B's ops settle while A's wait (like whenIdle); A back: A's layers return and commit exactly once",
    async () => {
      const scheduler = new VirtualTimeScheduler();
      const { h, signIn } = withAccounts({ scheduler });
      type Titles = Readonly<Record<string, string>>;
      // The app's confirmed state per account.
      const server: Record<string, Titles> = { A: { s: 'A server' }, B: { t: 'B server' } };
      const todos = createOptimisticStore<Titles>(h.engine, {
        initial: (account) => (account === null ? {} : (server[account] ?? {})),
        apply: { 'todo.create': (st: Titles, p: { id: string; title: string }) => ({ ...st, [p.id]: p.title }) },
      });
      const states: Titles[] = [];
      const pending: Array<readonly PendingEntry[]> = [];
      todos.state$.subscribe((st) => states.push(st));
      todos.pending$.subscribe((e) => pending.push(e));
      const create = (id: string) => todos.mutate('todo.create', { id, title: `title ${id}` });

      h.online$.next(false);
      h.engine.start();
      signIn('A');
      const a = [create('a1'), create('a2')];
      await runUntil(scheduler, 100);
      expect(states.at(-1)).toEqual({ s: 'A server', a1: 'title a1', a2: 'title a2' });

      const switched = states.length;
      signIn('B');
      const b1 = create('b1');
      await runUntil(scheduler, 200);
      expect(states.at(-1)).toEqual({ t: 'B server', b1: 'title b1' });
      expect(pending.at(-1)?.map((e) => e.txToken)).toEqual([b1.txToken]);
      expect(states.slice(switched).filter((st) => 'a1' in st || 'a2' in st || 's' in st)).toEqual([]);
      expect(h.status).toMatchObject({ pending: 3, synced: false });

      h.online$.next(true);
      let idleAt: number | undefined;
      let syncedAt: number | undefined;
      void h.engine.whenIdle({ timeoutMs: 5_000 }).then(() => (idleAt = scheduler.now()));
      h.engine.status$.subscribe((st) => (syncedAt ??= st.synced ? scheduler.now() : undefined));
      await runUntil(scheduler, 1_000);
      expect(sent(h)).toEqual([['b1', 'Bearer token-B']]);
      // Both say "B's work is done" (virtual time), with A's two ops still pending.
      expect(idleAt).toBeDefined();
      expect(syncedAt).toBeDefined();
      expect(syncedAt).toBeLessThanOrEqual(idleAt!);
      expect(h.status).toMatchObject({ synced: true, pending: 2, waitingForAccount: 2 });
      expect(states.at(-1)).toEqual({ t: 'B server', b1: 'title b1' });
      expect(pending.at(-1)).toEqual([]);

      const back = states.length;
      signIn('A');
      await runUntil(scheduler, 2_000);
      expect(states.slice(back)).not.toEqual([]);
      for (const st of states.slice(back)) expect(st).toEqual({ s: 'A server', a1: 'title a1', a2: 'title a2' });
      expect(sent(h)).toEqual([
        ['b1', 'Bearer token-B'],
        ['a1', 'Bearer token-A'],
        ['a2', 'Bearer token-A'],
      ]);
      expect(h.results.map((r) => [r.txToken, r.outcome])).toEqual([
        [b1.txToken, 'committed'],
        [a[0]!.txToken, 'committed'],
        [a[1]!.txToken, 'committed'],
      ]);
      expect(pending.at(-1)).toEqual([]);
      expect(h.status).toMatchObject({ synced: true, pending: 0 });
      expect(h.status.waitingForAccount).toBeUndefined();
      todos.dispose();
      await h.engine.dispose();
    },
  );
});
