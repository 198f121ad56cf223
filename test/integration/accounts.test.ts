/**
 * Accounts against the reference backend, which records under which token
 * subject each effect was applied: ops enqueued while Alice was signed in
 * are never sent with Bob's token after she signs out and he signs in on
 * the same device; they stay encrypted and pending across a close and
 * reopen of the store, and go out exactly once when she signs back in.
 * Meanwhile Bob's optimistic view holds none of Alice's changes, and
 * `status$.synced` says Bob's work is done while hers wait.
 */
import { BehaviorSubject } from 'rxjs';
import type { EngineStatus, OpResult } from '../../src/engine/sync-engine';
import { createOptimisticStore } from '../../src/optimistic/create-optimistic-store';
import type { OpStore } from '../../src/store/op-store';
import { startReferenceBackend, type ReferenceBackend } from '../../src/testing';
import { createDemoEngine, openTestStore, type DemoEngine } from '../../demo/engine-setup';
import { tempDir, waitUntil } from './support/harness';

jest.setTimeout(30_000);

describe('accounts: sign-out and sign-in on one device (reference backend)', () => {
  let backend: ReferenceBackend;
  let dir: ReturnType<typeof tempDir>;
  // What afterEach closes, also when an assertion failed half-way.
  let opened: Array<{ engine?: DemoEngine; store: OpStore }> = [];
  // The app's session: the token its getToken returns and the account it announces, switched together.
  let session: { subject: string | null; token: string | null };
  const account$ = new BehaviorSubject<string | null>(null);
  const signIn = (subject: string) => {
    session = { subject, token: backend.issueToken(60_000, subject) };
    account$.next(subject);
  };
  const signOut = () => {
    session = { subject: null, token: null };
    account$.next(null);
  };

  beforeEach(async () => {
    backend = await startReferenceBackend();
    dir = tempDir('accounts');
    session = { subject: null, token: null };
    account$.next(null);
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) {
      await o.engine?.dispose();
      await o.store.close();
    }
    await backend.close();
    dir.cleanup();
  });

  async function open(store: OpStore): Promise<{ engine: DemoEngine; results: OpResult[]; status: () => EngineStatus | undefined }> {
    const auth = {
      getToken: async () => session.token,
      refreshToken: async () => {
        if (session.subject === null) throw new Error('signed out');
        return (session.token = backend.issueToken(60_000, session.subject));
      },
    };
    const engine = createDemoEngine({
      baseUrl: backend.url,
      store,
      auth: auth as { getToken(): Promise<string>; refreshToken(): Promise<string> },
      requestTimeoutMs: 2_000,
      backoff: { baseMs: 10, capMs: 50 },
      lock: { heartbeatMs: 200, staleAfterMs: 1_000 },
      extra: { auth, account$, idlePollMs: 0 },
    });
    opened.push({ engine, store });
    const results: OpResult[] = [];
    let last: EngineStatus | undefined;
    engine.results$.subscribe((r) => results.push(r));
    engine.status$.subscribe((s) => (last = s));
    return { engine, results, status: () => last };
  }

  const create = (engine: DemoEngine, id: string) => engine.enqueue({ type: 'todo.create', payload: { id, title: `todo ${id}` }, txToken: `tx-${id}` });

  test("none of Alice's ops is sent with Bob's token; Bob's are; after a close and reopen Alice signs back in and hers are sent, each exactly once", async () => {
    const path = `${dir.path}/queue.sqlite`;
    let store = await openTestStore(path);
    let app = await open(store);
    // The optimistic view over the same engine: each account's confirmed state starts empty here.
    type Titles = Readonly<Record<string, string>>;
    const view = createOptimisticStore<Titles>(app.engine, {
      initial: () => ({}),
      apply: { 'todo.create': (s: Titles, p: { id: string; title: string }) => ({ ...s, [p.id]: p.title }) },
    });
    const shown: Titles[] = [];
    view.state$.subscribe((s) => shown.push(s));

    signIn('alice');
    const aliceOps = [await create(app.engine, 'a1'), await create(app.engine, 'a2'), await create(app.engine, 'a3')];
    expect(aliceOps.map((o) => o.accountId)).toEqual(['alice', 'alice', 'alice']);
    // Alice signs out before anything was sent (the engine was not started).
    signOut();
    await expect(create(app.engine, 'x')).rejects.toMatchObject({ kind: 'auth', code: 'signed_out' });

    await waitUntil(() => Object.keys(shown.at(-1) ?? {}).length === 3, 5_000, "Alice's view");
    const bobFrom = shown.length;
    signIn('bob');
    await create(app.engine, 'b1');
    await create(app.engine, 'b2');
    app.engine.start();
    // Bob's two commit; a full pass leaves Alice's three in place and says so.
    const passDone = () => app.status()?.inFlight === undefined && (app.status()?.waitingForAccount === 3 || app.status()?.pending === 0);
    await waitUntil(() => app.results.length >= 2 && passDone(), 10_000, "Bob's ops and a full pass");
    expect(app.results.map((r) => [r.txToken, r.outcome])).toEqual([
      ['tx-b1', 'committed'],
      ['tx-b2', 'committed'],
    ]);
    expect(backend.applied().map((e) => [e.id, e.subject])).toEqual([
      ['b1', 'bob'],
      ['b2', 'bob'],
    ]);
    // Bob's work is done: synced, with Alice's three waiting for her.
    expect(app.status()).toMatchObject({ pending: 3, processing: true, synced: true, waitingForAccount: 3 });
    await waitUntil(() => Object.keys(shown.at(-1) ?? {}).join() === 'b1,b2', 5_000, "Bob's view");
    // Bob's view never held anything of Alice's.
    expect(shown.slice(bobFrom).flatMap((s) => Object.keys(s).filter((id) => id.startsWith('a')))).toEqual([]);
    view.dispose();

    // Bob signs out; the app closes the engine and the store. Alice's ops
    // stay encrypted and pending on disk.
    signOut();
    await app.engine.dispose();
    await store.close();
    opened = [];
    store = await openTestStore(path);
    app = await open(store);
    app.engine.start();

    signIn('alice');
    await waitUntil(() => app.results.length >= 3 && app.status()?.pending === 0 && app.status()?.inFlight === undefined, 10_000, "Alice's ops");
    expect(app.results.map((r) => [r.txToken, r.outcome])).toEqual([
      ['tx-a1', 'committed'],
      ['tx-a2', 'committed'],
      ['tx-a3', 'committed'],
    ]);
    expect(backend.applied().map((e) => [e.id, e.subject])).toEqual([
      ['b1', 'bob'],
      ['b2', 'bob'],
      ['a1', 'alice'],
      ['a2', 'alice'],
      ['a3', 'alice'],
    ]);
    for (const op of aliceOps) expect(backend.effects(op.idempotencyKey)).toBe(1);
    expect(app.status()?.waitingForAccount).toBeUndefined();
  });
});
