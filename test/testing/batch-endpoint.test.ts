import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { createApiClient } from '../../src/api/api-client';
import { ConflictError, PermanentError, RateLimitError, ServerError } from '../../src/errors/sync-error';
import { startReferenceBackend, type ReferenceBackend, type RequestInfo } from '../../src/testing';
import { stopsBatch } from '../../src/testing/batch-endpoint';
import { callBackend, type BackendReply } from '../support/backend-call';

interface Op {
  readonly idempotencyKey?: string;
  readonly traceId?: string;
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}
type Reply = BackendReply;

const create = (id: string, key = randomUUID()): Op => ({ idempotencyKey: key, traceId: `tr-${id}`, method: 'POST', path: '/todos', body: { id, title: id } });
const patch = (id: string, body: unknown, key = randomUUID()): Op => ({ idempotencyKey: key, traceId: `tr-${id}`, method: 'PATCH', path: `/todos/${id}`, body });

/** POST `{ ops }` (or `rawBody`) to the batch endpoint: a batch carries no key of its own. */
const batch = (backend: ReferenceBackend, ops: readonly Op[] | unknown, opts: { token?: string | null; path?: string; rawBody?: string } = {}): Promise<Reply> =>
  callBackend(backend, 'POST', opts.path ?? '/batch', { ops }, { token: opts.token, rawBody: opts.rawBody, key: null });

const statuses = (r: Reply): number[] => (r.json.results as { status: number }[]).map((x) => x.status);
/** A rule that hands `fault` to entry `index` of the next batches. */
const atEntry = (index: number, fault: ReturnType<NonNullable<Parameters<ReferenceBackend['faults']['rule']>[0]>>) => (r: RequestInfo) =>
  r.batch?.entry === index ? fault : null;

describe('reference backend: the batch endpoint', () => {
  let backend: ReferenceBackend;
  beforeEach(async () => {
    backend = await startReferenceBackend({ batch: { maxEntries: 5, maxBytes: 4096 } });
  });
  afterEach(async () => {
    await backend.close();
  });

  test('applies the entries in order, each under its own key, and answers their results in the same order', async () => {
    const ops = [create('a'), create('b'), patch('a', { done: true }), { ...patch('a', {}), method: 'DELETE', body: undefined }];
    const r = await batch(backend, ops);
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([
      { status: 201, data: { id: 'a', title: 'a', done: false, version: 1 } },
      { status: 201, data: { id: 'b', title: 'b', done: false, version: 1 } },
      { status: 200, data: { id: 'a', title: 'a', done: true, version: 2 } },
      { status: 200, data: { id: 'a', deleted: true } },
    ]);
    expect(backend.applied().map((e) => [e.idempotencyKey, e.action, e.id, e.traceId, e.subject])).toEqual([
      [ops[0]!.idempotencyKey, 'create', 'a', 'tr-a', 'demo-user'],
      [ops[1]!.idempotencyKey, 'create', 'b', 'tr-b', 'demo-user'],
      [ops[2]!.idempotencyKey, 'update', 'a', 'tr-a', 'demo-user'],
      [ops[3]!.idempotencyKey, 'delete', 'a', 'tr-a', 'demo-user'],
    ]);
    for (const op of ops) expect(backend.effects(op.idempotencyKey!)).toBe(1);
    expect(backend.counters()).toMatchObject({ requests: 1, batches: 1, batchEntries: 4, sends: 4, applied: 4, distinctKeys: 4, notApplied: 0 });
  });

  test('a repeated batch replays every stored result, no second effect; keys replay across single and batch requests', async () => {
    const ops = [create('a'), create('b')];
    const first = await batch(backend, ops);
    const again = await batch(backend, ops);
    expect(again.json).toEqual(first.json);
    expect(backend.counters()).toMatchObject({ applied: 2, replays: 2 });
    // The key a single request committed replays inside a batch, and the other way round.
    const key = randomUUID();
    const alone = await fetch(`${backend.url}/todos`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${backend.issueToken()}`, 'Idempotency-Key': key },
      body: JSON.stringify({ id: 'c', title: 'c' }),
    });
    expect(alone.status).toBe(201);
    const inBatch = await batch(backend, [create('c', key)]);
    expect(inBatch.json.results).toEqual([{ status: 201, data: { id: 'c', title: 'c', done: false, version: 1 } }]);
    expect(backend.effects(key)).toBe(1);
    // A key reused with another request is 422 (permanent): later entries still run.
    const reused = await batch(backend, [{ ...create('d'), idempotencyKey: key }, create('e')]);
    expect(statuses(reused)).toEqual([422, 201]);
  });

  test('a key in use is 409 idempotency_key_in_use: it stops the batch, later entries 424 and not applied', async () => {
    const key = randomUUID();
    backend.faults.script([{ kind: 'hang', ms: 400, commit: true }]);
    const slow = fetch(`${backend.url}/todos`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${backend.issueToken()}`, 'Idempotency-Key': key },
      body: JSON.stringify({ id: 'a', title: 'a' }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const later = create('b');
    const r = await batch(backend, [create('a', key), later]);
    expect(r.json.results[0]).toMatchObject({ status: 409, error: { code: 'idempotency_key_in_use' }, retryAfter: 1 });
    expect(r.json.results[1]).toMatchObject({ status: 424, error: { code: 'failed_dependency' } });
    expect(backend.effects(later.idempotencyKey!)).toBe(0);
    expect((await slow).status).toBe(201);
    expect(backend.counters()).toMatchObject({ inUse: 1, notApplied: 1 });
  });

  test.each([
    ['503', { kind: 'status', status: 503 } as const, 503, undefined],
    ['500 with Retry-After', { kind: 'status', status: 500, retryAfter: 3 } as const, 500, 3],
    ['429 with Retry-After', { kind: 'rateLimit', retryAfter: 7 } as const, 429, 7],
    ['401 after token expiry', { kind: 'expireToken' } as const, 401, undefined],
  ])('entry 1 answered %s: entry 0 applied, entry 1 not, every later entry 424 and not applied', async (_n, fault, status, retryAfter) => {
    const ops = [create('a'), create('b'), create('c'), create('d')];
    backend.faults.rule(atEntry(1, fault));
    const r = await batch(backend, ops);
    expect(statuses(r)).toEqual([201, status, 424, 424]);
    expect(r.json.results[1].retryAfter).toBe(retryAfter);
    expect(ops.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 0, 0, 0]);
    // The retry of the whole batch under the same keys: entry 0 replays, the rest apply once.
    backend.faults.clear();
    const retry = await batch(backend, ops, { token: backend.issueToken() });
    expect(statuses(retry)).toEqual([201, 201, 201, 201]);
    expect(ops.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1, 1, 1]);
  });

  test('a permanent refusal does not stop later entries: injected 409/400, a domain 409 and a 404', async () => {
    await batch(backend, [create('x')]);
    const ops = [create('a'), create('b'), create('x'), patch('nope', { done: true }), create('c')];
    backend.faults.rule((r) => (r.batch?.entry === 0 ? { kind: 'conflict' } : r.batch?.entry === 1 ? { kind: 'badRequest' } : null));
    const r = await batch(backend, ops);
    expect(statuses(r)).toEqual([409, 400, 409, 404, 201]);
    expect(r.json.results[2]).toMatchObject({ error: { code: 'already_exists' } });
    expect(backend.effects(ops[4]!.idempotencyKey!)).toBe(1);
    // Injected domain answers are stored for their keys, as for single requests.
    backend.faults.clear();
    expect(statuses(await batch(backend, ops.slice(0, 2)))).toEqual([409, 400]);
  });

  test('commit some entries, then drop the response: the client hears nothing; the retry replays them and applies the rest', async () => {
    const ops = [create('a'), create('b'), create('c')];
    backend.faults.rule(atEntry(1, { kind: 'commitThenDrop' }));
    await expect(batch(backend, ops)).rejects.toThrow();
    expect(ops.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1, 0]);
    backend.faults.clear();
    const retry = await batch(backend, ops);
    expect(statuses(retry)).toEqual([201, 201, 201]);
    expect(ops.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1, 1]);
    expect(backend.counters().replays).toBe(2);
  });

  test('a reset before entry 2: entries 0 and 1 stay applied, 2 and later not', async () => {
    const ops = [create('a'), create('b'), create('c'), create('d')];
    backend.faults.rule(atEntry(2, { kind: 'reset' }));
    await expect(batch(backend, ops)).rejects.toThrow();
    expect(ops.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1, 0, 0]);
  });

  test('whole-request faults: reset, 5xx, 429 apply nothing; commitThenDrop applies all; nonJson and malformed apply all and garble the answer', async () => {
    const ops = () => [create(randomUUID().slice(0, 8)), create(randomUUID().slice(0, 8))];
    const first = ops();
    backend.faults.script([{ kind: 'reset' }]);
    await expect(batch(backend, first)).rejects.toThrow();
    backend.faults.script([{ kind: 'status', status: 502 }]);
    expect((await batch(backend, first)).status).toBe(502);
    backend.faults.script([{ kind: 'rateLimit', retryAfter: 4 }]);
    const limited = await batch(backend, first);
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '4']);
    expect(backend.applied()).toHaveLength(0);

    backend.faults.script([{ kind: 'commitThenDrop' }]);
    await expect(batch(backend, first)).rejects.toThrow();
    expect(first.map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1]);

    const second = ops();
    backend.faults.script([{ kind: 'nonJson' }]);
    const garbled = await batch(backend, second);
    expect([garbled.status, garbled.json]).toEqual([200, undefined]);
    const third = ops();
    backend.faults.script([{ kind: 'malformed' }]);
    expect((await batch(backend, third)).json).toEqual({ data: 42 });
    expect([...second, ...third].map((o) => backend.effects(o.idempotencyKey!))).toEqual([1, 1, 1, 1]);
    // The stored answers stay the real ones.
    expect(statuses(await batch(backend, second))).toEqual([201, 201]);
  });

  test('an entry can be garbled alone (malformed) or garble the whole answer (nonJson)', async () => {
    backend.faults.rule(atEntry(0, { kind: 'malformed' }));
    const r = await batch(backend, [create('a'), create('b')]);
    expect(r.json.results).toEqual([{ status: 200, data: 42 }, { status: 201, data: { id: 'b', title: 'b', done: false, version: 1 } }]);
    backend.faults.rule(atEntry(1, { kind: 'nonJson' }));
    const g = await batch(backend, [create('c'), create('d')]);
    expect(g.json).toBeUndefined();
    expect(backend.counters().applied).toBe(4);
  });

  test('a domain fault drawn by the batch request itself is not injected (a batch has no domain of its own)', async () => {
    backend.faults.script([{ kind: 'conflict' }, null, null]);
    expect(statuses(await batch(backend, [create('a'), create('b')]))).toEqual([201, 201]);
    expect(backend.faults.injected()).toEqual({});
  });

  test('fault rules see the batch request and each entry (size, index); entries answered 424 draw no fault', async () => {
    const seen: (RequestInfo['batch'] & { path: string })[] = [];
    backend.faults.rule((r) => {
      seen.push({ path: r.path, ...r.batch! });
      return r.batch?.entry === 1 ? { kind: 'status', status: 500 } : null;
    });
    await batch(backend, [create('a'), create('b'), create('c')]);
    expect(seen).toEqual([
      { path: '/batch', size: 3 },
      { path: '/todos', size: 3, entry: 0 },
      { path: '/todos', size: 3, entry: 1 },
    ]);
  });

  test('413 batch_too_large over maxEntries or maxBytes, nothing applied; 401 without a token; 400 for a body that is not { ops }', async () => {
    const six = Array.from({ length: 6 }, (_, i) => create(`e${i}`));
    const tooMany = await batch(backend, six);
    expect([tooMany.status, tooMany.json.error.code, tooMany.json.error.details]).toEqual([413, 'batch_too_large', { maxEntries: 5, maxBytes: 4096 }]);
    const big = await batch(backend, [{ ...create('big'), body: { id: 'big', title: 'x'.repeat(5000) } }]);
    expect(big.status).toBe(413);
    expect((await batch(backend, [create('a')], { token: null })).status).toBe(401);
    expect((await batch(backend, undefined, { rawBody: '{"op":[]}' })).status).toBe(400);
    expect((await batch(backend, undefined, { rawBody: 'not json' })).status).toBe(400);
    expect(backend.applied()).toHaveLength(0);
    expect(backend.counters().batches).toBe(0);
  });

  test('bad entries are refused one by one (400/404/405), without stopping the batch', async () => {
    const r = await batch(backend, [
      { method: 'POST' },
      { ...create('a'), path: '/nowhere' },
      { ...create('a'), method: 'GET', path: '/todos' },
      { ...create('a'), idempotencyKey: 'not-a-uuid' },
      { ...create('a'), idempotencyKey: undefined },
    ]);
    expect(statuses(r)).toEqual([400, 404, 405, 400, 400]);
    expect(r.json.results.map((x: { error?: { code: string } }) => x.error?.code)).toEqual([
      'bad_request',
      'route_not_found',
      'method_not_allowed',
      'idempotency_key_invalid',
      'idempotency_key_missing',
    ]);
    expect(backend.applied()).toHaveLength(0);
  });

  test('the path is configurable', async () => {
    const other = await startReferenceBackend({ batch: { path: '/v1/ops:batch' } });
    try {
      expect((await batch(other, [create('a')], { path: '/v1/ops:batch' })).status).toBe(200);
      expect((await batch(other, [create('b')])).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  test('stopsBatch: every status a client retries stops, a permanent refusal does not', () => {
    for (const status of [401, 408, 425, 429, 500, 502, 503, 504]) expect(stopsBatch({ status })).toBe(true);
    expect(stopsBatch({ status: 409, error: { code: 'idempotency_key_in_use' } })).toBe(true);
    for (const status of [200, 201, 400, 403, 404, 409, 410, 413, 422]) expect(stopsBatch({ status, error: { code: 'x' } })).toBe(false);
  });
});

describe('ApiClient.sendBatch against the reference backend (the wire contract end to end)', () => {
  let backend: ReferenceBackend;
  beforeAll(async () => {
    backend = await startReferenceBackend({ batch: { maxEntries: 3 } });
  });
  afterAll(async () => {
    await backend.close();
  });

  const entry = (id: string) => ({ method: 'POST', path: '/todos', body: { id, title: id }, idempotencyKey: randomUUID(), traceId: randomUUID() });

  test('results in order, classified as single responses; 424 → notApplied; 413 → PermanentError 413', async () => {
    const api = createApiClient({ baseUrl: backend.url, fetch: globalThis.fetch });
    const token = backend.issueToken();
    await firstValueFrom(api.sendBatch({ path: '/batch', token, entries: [entry('dup')] }));
    backend.faults.rule(atEntry(2, { kind: 'rateLimit', retryAfter: 2 }));
    const out = await firstValueFrom(api.sendBatch({ path: '/batch', token, entries: [entry('a'), entry('dup'), entry('b')] }));
    expect(out[0]).toEqual({ kind: 'ok', response: { status: 201, data: { id: 'a', title: 'a', done: false, version: 1 } } });
    expect(out[1]?.kind === 'error' && out[1].error).toBeInstanceOf(ConflictError);
    expect(out[2]?.kind === 'error' && out[2].error).toBeInstanceOf(RateLimitError);
    expect(out[2]?.kind === 'error' && out[2].error.retryAfterMs).toBe(2000);
    backend.faults.rule(atEntry(0, { kind: 'status', status: 503 }));
    const stopped = await firstValueFrom(api.sendBatch({ path: '/batch', token, entries: [entry('c'), entry('d')] }));
    expect(stopped[0]?.kind === 'error' && stopped[0].error).toBeInstanceOf(ServerError);
    expect(stopped[1]).toEqual({ kind: 'notApplied' });
    backend.faults.clear();
    const err = await firstValueFrom(api.sendBatch({ path: '/batch', token, entries: [entry('e'), entry('f'), entry('g'), entry('h')] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).status).toBe(413);
  });
});
