import { randomUUID } from 'node:crypto';
import { callBackend as call } from '../support/backend-call';
import { startReferenceBackend, signJwt, mulberry32, type ReferenceBackend } from '../../src/testing';

describe('reference backend', () => {
  let backend: ReferenceBackend;
  let clock = Date.now();
  let useFakeClock = false;

  beforeEach(async () => {
    useFakeClock = false;
    clock = Date.now();
    backend = await startReferenceBackend({ now: () => (useFakeClock ? clock : Date.now()), tokenTtlMs: 60_000 });
  });
  afterEach(async () => {
    await backend.close();
  });

  test('binds to loopback on an OS-chosen port and refuses other hosts', async () => {
    expect(backend.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(backend.port).toBeGreaterThan(0);
    await expect(startReferenceBackend({ host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/loopback/);
  });

  describe('auth (HS256 JWT)', () => {
    test('missing, malformed, tampered, alg none and expired tokens get 401 with an error envelope', async () => {
      const missing = await call(backend, 'GET', '/todos', undefined, { token: null });
      expect(missing.status).toBe(401);
      expect(missing.json.error.code).toBe('token_missing');

      const malformed = await call(backend, 'GET', '/todos', undefined, { token: 'abc' });
      expect(malformed.json.error.code).toBe('token_malformed');

      const good = backend.issueToken();
      const [h, b] = good.split('.');
      const forged = signJwt({ sub: 'x', iat: Date.now() / 1000, exp: Date.now() / 1000 + 60, jti: 'j' }, 'wrong-secret');
      expect((await call(backend, 'GET', '/todos', undefined, { token: forged })).json.error.code).toBe('token_invalid');
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${b}.${good.split('.')[2]}`;
      expect((await call(backend, 'GET', '/todos', undefined, { token: none })).json.error.code).toBe('token_invalid');
      expect(h).toBeDefined();

      const short = backend.issueToken(30);
      await new Promise((r) => setTimeout(r, 60));
      const expired = await call(backend, 'GET', '/todos', undefined, { token: short });
      expect(expired.status).toBe(401);
      expect(expired.json.error).toEqual({ code: 'token_expired', message: 'invalid or expired token' });
      expect(expired.headers.get('www-authenticate')).toContain('invalid_token');

      expect((await call(backend, 'GET', '/todos', undefined, { token: good })).status).toBe(200);
      expect(backend.counters().unauthorized).toBe(5);
    });

    test('expiry follows the injected clock', async () => {
      useFakeClock = true;
      const token = backend.issueToken(1000);
      expect((await call(backend, 'GET', '/todos', undefined, { token })).status).toBe(200);
      clock += 1000;
      expect((await call(backend, 'GET', '/todos', undefined, { token })).json.error.code).toBe('token_expired');
    });

    test('expireTokens() invalidates every token issued so far; fresh ones work', async () => {
      const before = backend.issueToken();
      backend.expireTokens();
      // A token issued in the same millisecond as the expiry is already new.
      expect((await call(backend, 'GET', '/todos', undefined, { token: before })).status).toBe(401);
      expect((await call(backend, 'GET', '/todos', undefined, { token: backend.issueToken() })).status).toBe(200);
    });

    test('POST /auth/token exchanges the refresh credential for a token', async () => {
      const bad = await call(backend, 'POST', '/auth/token', { refreshCredential: 'nope' }, { token: null, key: null });
      expect(bad.status).toBe(401);
      const ok = await call(backend, 'POST', '/auth/token', { refreshCredential: backend.refreshCredential }, { token: null, key: null });
      expect(ok.status).toBe(200);
      expect(ok.json.data.expiresAt).toBeGreaterThan(Date.now());
      expect((await call(backend, 'GET', '/todos', undefined, { token: ok.json.data.token })).status).toBe(200);
    });
  });

  describe('routes and envelopes', () => {
    test('todos CRUD with { data } envelopes and an ordered effect log', async () => {
      const created = await call(backend, 'POST', '/todos', { id: 't1', title: 'milk' });
      expect(created.status).toBe(201);
      expect(created.json).toEqual({ data: { id: 't1', title: 'milk', done: false, version: 1 } });
      const patched = await call(backend, 'PATCH', '/todos/t1', { done: true, ifVersion: 1 });
      expect(patched.json.data).toEqual({ id: 't1', title: 'milk', done: true, version: 2 });
      expect((await call(backend, 'GET', '/todos/t1')).json.data.done).toBe(true);
      expect((await call(backend, 'DELETE', '/todos/t1')).json).toEqual({ data: { id: 't1', deleted: true } });
      expect(backend.entity('todos', 't1')).toBeUndefined();
      expect(backend.entityLog('todos', 't1').map((e) => e.action)).toEqual(['create', 'update', 'delete']);
      expect(backend.applied().map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    test('each effect records the subject of the token it was applied under (a replay adds none)', async () => {
      const key = randomUUID();
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { token: backend.issueToken(60_000, 'alice') });
      await call(backend, 'POST', '/todos', { id: 't2', title: 'b' }, { key, token: backend.issueToken(60_000, 'bob') });
      await call(backend, 'POST', '/todos', { id: 't2', title: 'b' }, { key, token: backend.issueToken(60_000, 'alice') });
      await call(backend, 'DELETE', '/todos/t1');
      expect(backend.applied().map((e) => [e.id, e.action, e.subject])).toEqual([
        ['t1', 'create', 'alice'],
        ['t2', 'create', 'bob'],
        ['t1', 'delete', 'demo-user'],
      ]);
    });

    test('onEffect runs after the commit and before the answer is written', async () => {
      const seen: string[] = [];
      const off = backend.onEffect((e) => seen.push(`${e.action}:${e.id}:${backend.effects(e.idempotencyKey)}`));
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' });
      off();
      await call(backend, 'DELETE', '/todos/t1');
      expect(seen).toEqual(['create:t1:1']);
    });

    test('contacts validate email; bad requests are 400 with a code and no effect', async () => {
      expect((await call(backend, 'POST', '/contacts', { id: 'c1', name: 'Ada', email: 'ada@example.org' })).status).toBe(201);
      const badEmail = await call(backend, 'POST', '/contacts', { id: 'c2', name: 'Bob', email: 'nope' });
      expect(badEmail.status).toBe(400);
      expect(badEmail.json.error.code).toBe('bad_request');
      expect(badEmail.json.error.message).toMatch(/^email:/);
      const longTitle = await call(backend, 'POST', '/todos', { id: 't', title: 'x'.repeat(201) });
      expect(longTitle.status).toBe(400);
      const notJson = await call(backend, 'POST', '/todos', undefined, { rawBody: '{oops' });
      expect(notJson.status).toBe(400);
      expect(backend.applied()).toHaveLength(1);
    });

    test('domain conflicts: duplicate create and stale ifVersion are 409 with details', async () => {
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' });
      const dup = await call(backend, 'POST', '/todos', { id: 't1', title: 'b' });
      expect(dup.status).toBe(409);
      expect(dup.json.error).toMatchObject({ code: 'already_exists', details: { id: 't1' } });
      const stale = await call(backend, 'PATCH', '/todos/t1', { title: 'c', ifVersion: 7 });
      expect(stale.status).toBe(409);
      expect(stale.json.error).toMatchObject({ code: 'version_conflict', details: { currentVersion: 1 } });
    });

    test('unknown route 404, wrong method 405, missing entity 404, oversized body 413', async () => {
      expect((await call(backend, 'POST', '/nope', {})).json.error.code).toBe('route_not_found');
      expect((await call(backend, 'DELETE', '/todos')).status).toBe(405);
      expect((await call(backend, 'PATCH', '/todos/ghost', { done: true })).status).toBe(404);
      const small = await startReferenceBackend({ maxBodyBytes: 1024 });
      try {
        const big = await call(small, 'POST', '/todos', { id: 'x', title: 'y'.repeat(4096) });
        expect(big.status).toBe(413);
        expect(big.json.error.code).toBe('payload_too_large');
        expect(small.applied()).toHaveLength(0);
      } finally {
        await small.close();
      }
    });
  });

  describe('Idempotency-Key', () => {
    test('a repeat with the same key and payload replays the stored answer without a second effect', async () => {
      const key = randomUUID();
      const first = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      // Key order differs: the fingerprint is over canonical JSON.
      const again = await call(backend, 'POST', '/todos', { title: 'a', id: 't1' }, { key });
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(backend.effects(key)).toBe(1);
      expect(backend.counters()).toMatchObject({ replays: 1, sends: 2, distinctKeys: 1, applied: 1 });
    });

    test('stored 4xx domain answers are replayed too (a replayed conflict stays a conflict)', async () => {
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' });
      const key = randomUUID();
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'b' }, { key })).status).toBe(409);
      await call(backend, 'DELETE', '/todos/t1');
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'b' }, { key })).status).toBe(409);
      expect(backend.effects(key)).toBe(0);
    });

    test('same key with a different payload or path is 422', async () => {
      const key = randomUUID();
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      const other = await call(backend, 'POST', '/todos', { id: 't1', title: 'DIFFERENT' }, { key });
      expect(other.status).toBe(422);
      expect(other.json.error.code).toBe('idempotency_key_mismatch');
      expect((await call(backend, 'POST', '/contacts', { id: 't1', title: 'a' }, { key })).status).toBe(422);
      expect(backend.effects(key)).toBe(1);
    });

    test('same key while the first is in flight is 409 idempotency_key_in_use; afterwards it replays', async () => {
      const key = randomUUID();
      backend.faults.script([{ kind: 'hang', ms: 300, commit: true }]);
      const slow = call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      await new Promise((r) => setTimeout(r, 80));
      const busy = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      expect(busy.status).toBe(409);
      expect(busy.json.error.code).toBe('idempotency_key_in_use');
      expect((await slow).status).toBe(201);
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key })).headers.get('idempotent-replayed')).toBe('true');
      expect(backend.effects(key)).toBe(1);
      expect(backend.counters().inUse).toBe(1);
    });

    test('concurrent sends of one key apply once: the rest replay, or get 409 while the first is held', async () => {
      const key = randomUUID();
      const body = { id: 't1', title: 'a' };
      const burst = await Promise.all(Array.from({ length: 20 }, () => call(backend, 'POST', '/todos', body, { key })));
      expect(burst.map((r) => r.status)).toEqual(Array(20).fill(201));
      expect(backend.effects(key)).toBe(1);
      expect(backend.counters().replays).toBe(19);

      const key2 = randomUUID();
      backend.faults.script([{ kind: 'hang', ms: 200, commit: true }]);
      const body2 = { id: 't2', title: 'b' };
      const first = call(backend, 'POST', '/todos', body2, { key: key2 });
      await new Promise((r) => setTimeout(r, 50));
      const others = await Promise.all(Array.from({ length: 5 }, () => call(backend, 'POST', '/todos', body2, { key: key2 })));
      expect(others.map((r) => r.json.error.code)).toEqual(Array(5).fill('idempotency_key_in_use'));
      expect((await first).status).toBe(201);
      expect(backend.effects(key2)).toBe(1);
    });

    test('entries expire after 24 h of the injected clock', async () => {
      useFakeClock = true;
      await call(backend, 'POST', '/todos', { id: 't1', title: 'a' });
      const key = randomUUID();
      await call(backend, 'PATCH', '/todos/t1', { done: true }, { key, token: backend.issueToken(48 * 3600_000) });
      clock += 24 * 3600_000 - 1;
      const token = backend.issueToken();
      expect((await call(backend, 'PATCH', '/todos/t1', { done: true }, { key, token })).headers.get('idempotent-replayed')).toBe('true');
      expect(backend.effects(key)).toBe(1);
      clock += 1;
      const fresh = await call(backend, 'PATCH', '/todos/t1', { done: true }, { key, token: backend.issueToken() });
      expect(fresh.headers.get('idempotent-replayed')).toBeNull();
      expect(backend.effects(key)).toBe(2);
    });

    test('a missing or non-UUIDv4 key is 400; the quoted sf-string form is accepted', async () => {
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: null })).json.error.code).toBe(
        'idempotency_key_missing',
      );
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: 'abc' })).json.error.code).toBe(
        'idempotency_key_invalid',
      );
      const key = randomUUID();
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: `"${key}"` })).status).toBe(201);
      expect(backend.effects(key)).toBe(1);
    });
  });

  describe('fault injection', () => {
    test('connection reset and down: the client gets a network error, nothing is applied', async () => {
      backend.faults.script([{ kind: 'reset' }]);
      await expect(call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).rejects.toThrow();
      backend.faults.down(true);
      await expect(call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).rejects.toThrow();
      backend.faults.down(false);
      expect(backend.applied()).toHaveLength(0);
      expect(backend.faults.injected()).toEqual({ reset: 1, down: 1 });
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).status).toBe(201);
    });

    test('hang past the client timeout: the client aborts, nothing applied, key not taken', async () => {
      const key = randomUUID();
      // A hang with no end: only the client's own abort can settle the call.
      backend.faults.script([{ kind: 'hang' }]);
      await expect(call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key, timeoutMs: 150 })).rejects.toThrow();
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key })).status).toBe(201);
      expect(backend.effects(key)).toBe(1);
    });

    test('latency delays the answer', async () => {
      backend.faults.script([{ kind: 'latency', ms: 120 }]);
      const t0 = Date.now();
      expect((await call(backend, 'GET', '/todos')).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    });

    test('500/502/503 envelopes, an HTML 502 and 503 with Retry-After; no effect, key free for the retry', async () => {
      const key = randomUUID();
      backend.faults.script([
        { kind: 'status', status: 500 },
        { kind: 'status', status: 502, html: true },
        { kind: 'status', status: 503, retryAfter: 2 },
      ]);
      const r500 = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      expect(r500.status).toBe(500);
      expect(r500.json.error.code).toBe('server_error');
      const r502 = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      expect(r502.status).toBe(502);
      expect(r502.headers.get('content-type')).toBe('text/html');
      expect(r502.json).toBeUndefined();
      const r503 = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      expect(r503.headers.get('retry-after')).toBe('2');
      expect(backend.effects(key)).toBe(0);
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key })).status).toBe(201);
    });

    test('429 with Retry-After as delay-seconds and as an HTTP-date measured against Date', async () => {
      backend.faults.script([
        { kind: 'rateLimit', retryAfter: 3 },
        { kind: 'rateLimit', retryAfter: { dateInMs: 2000 } },
      ]);
      const secs = await call(backend, 'GET', '/todos');
      expect(secs.status).toBe(429);
      expect(secs.headers.get('retry-after')).toBe('3');
      const dated = await call(backend, 'GET', '/todos');
      const ra = dated.headers.get('retry-after') ?? '';
      expect(ra).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      const delta = Date.parse(ra) - Date.parse(dated.headers.get('date') ?? '');
      expect(delta).toBeGreaterThanOrEqual(2000);
      expect(delta).toBeLessThanOrEqual(3000);
    });

    test('injected 409 conflict, 400 and token expiry', async () => {
      backend.faults.script([{ kind: 'conflict' }, { kind: 'badRequest' }, { kind: 'expireToken' }]);
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).json.error.code).toBe('version_conflict');
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).status).toBe(400);
      const token = backend.issueToken();
      const expired = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { token });
      expect(expired.json.error.code).toBe('token_expired');
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { token })).status).toBe(401);
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { token: backend.issueToken() })).status).toBe(201);
      expect(backend.applied()).toHaveLength(1);
    });

    test('injected 409/400 are domain answers: a committed key replays its answer, a new key keeps the injected one', async () => {
      const committed = randomUUID();
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: committed })).status).toBe(201);
      backend.faults.script([{ kind: 'conflict' }, { kind: 'badRequest' }]);
      const replay = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: committed });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      const fresh = randomUUID();
      expect((await call(backend, 'POST', '/todos', { id: 't2', title: 'b' }, { key: fresh })).status).toBe(400);
      // The repeat of that key gets the same stored 400, and nothing is applied.
      expect((await call(backend, 'POST', '/todos', { id: 't2', title: 'b' }, { key: fresh })).status).toBe(400);
      expect(backend.effects(committed)).toBe(1);
      expect(backend.effects(fresh)).toBe(0);
      expect(backend.faults.injected()).toEqual({ conflict: 1, badRequest: 1 });
    });

    test('commit then drop: applied, the client hears nothing, the retry with the same key replays', async () => {
      const key = randomUUID();
      backend.faults.script([{ kind: 'commitThenDrop' }]);
      await expect(call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key })).rejects.toThrow();
      expect(backend.effects(key)).toBe(1);
      const retry = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key });
      expect(retry.status).toBe(201);
      expect(retry.json.data.id).toBe('t1');
      expect(backend.effects(key)).toBe(1);
    });

    test('non-JSON and malformed 200s commit; the stored answer stays the real one', async () => {
      const k1 = randomUUID();
      const k2 = randomUUID();
      backend.faults.script([{ kind: 'nonJson' }, { kind: 'malformed' }]);
      const text = await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: k1 });
      expect(text.status).toBe(200);
      expect(text.json).toBeUndefined();
      const bad = await call(backend, 'POST', '/todos', { id: 't2', title: 'a' }, { key: k2 });
      expect(bad.json).toEqual({ data: 42 });
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' }, { key: k1 })).json.data.id).toBe('t1');
      expect(backend.effects(k1)).toBe(1);
      expect(backend.effects(k2)).toBe(1);
    });

    test('a rule picks faults per request', async () => {
      backend.faults.rule((req) => (req.method === 'DELETE' ? { kind: 'status', status: 503 } : null));
      expect((await call(backend, 'POST', '/todos', { id: 't1', title: 'a' })).status).toBe(201);
      expect((await call(backend, 'DELETE', '/todos/t1')).status).toBe(503);
      backend.faults.clear();
      expect((await call(backend, 'DELETE', '/todos/t1')).status).toBe(200);
    });

    test('a seeded random schedule is reproducible and only hits mutating requests', async () => {
      const run = async (seed: number) => {
        const b = await startReferenceBackend();
        try {
          b.faults.random({ seed, rates: { status: 0.3, rateLimit: 0.2, conflict: 0.1 } });
          const statuses: number[] = [];
          for (let i = 0; i < 30; i += 1) statuses.push((await call(b, 'POST', '/todos', { id: `t${i}`, title: 'a' })).status);
          for (let i = 0; i < 5; i += 1) statuses.push((await call(b, 'GET', '/todos')).status);
          return statuses;
        } finally {
          await b.close();
        }
      };
      const a = await run(1234);
      expect(await run(1234)).toEqual(a);
      expect(await run(99)).not.toEqual(a);
      expect(a.slice(0, 30).filter((s) => s !== 201).length).toBeGreaterThan(3);
      expect(a.slice(30)).toEqual([200, 200, 200, 200, 200]);
    });

    test('close() cancels hung requests and resolves promptly', async () => {
      backend.faults.script([{ kind: 'hang' }]);
      const pending = call(backend, 'POST', '/todos', { id: 't1', title: 'a' }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      // The hang has no end: close() resolving at all (within the test's
      // timeout) shows it cancelled the request.
      await backend.close();
      // fetch's TypeError comes from another realm under jest: compare by name.
      expect(await pending).toMatchObject({ name: 'TypeError' });
    });
  });

  test('binds to ::1 when asked (skipped where IPv6 loopback is missing)', async () => {
    let v6: ReferenceBackend | undefined;
    try {
      v6 = await startReferenceBackend({ host: '::1' });
    } catch {
      return;
    }
    try {
      expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect((await call(v6, 'GET', '/todos')).status).toBe(200);
    } finally {
      await v6.close();
    }
  });

  test('mulberry32 is deterministic per seed and in [0, 1)', () => {
    const a = mulberry32(5);
    const b = mulberry32(5);
    const xs = Array.from({ length: 100 }, () => a());
    expect(xs).toEqual(Array.from({ length: 100 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('reference backend GET /events (the push channel)', () => {
  test('announces ready on connect while up, and again each time it comes back from down', async () => {
    const backend = await startReferenceBackend();
    const controller = new AbortController();
    try {
      const res = await fetch(`${backend.url}/events`, { signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const readyCount = () => text.split('event: ready\n').length - 1;
      const readUntil = async (n: number) => {
        while (readyCount() < n) text += decoder.decode((await reader.read()).value, { stream: true });
      };
      await readUntil(1);
      backend.faults.down(true);
      const stillUp = await fetch(`${backend.url}/todos`, { headers: { Authorization: `Bearer ${backend.issueToken()}` } }).then(
        () => true,
        () => false,
      );
      expect(stillUp).toBe(false); // the API is down; the event stream stays open
      backend.faults.down(false);
      await readUntil(2);
      expect(readyCount()).toBe(2);
    } finally {
      controller.abort();
      await backend.close();
    }
  });
});
