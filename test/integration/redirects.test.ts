/**
 * The engine never follows a redirect, on its default transport (cross-fetch
 * on Node), on `nodeFetch` over TLS and on Node's global fetch: every 3xx
 * answered to a write fails the op as `redirect`, one request is made, and
 * nothing reaches the redirect's target. Real servers on 127.0.0.1.
 */
import { firstValueFrom, timeout } from 'rxjs';
import type { FetchLike } from '../../src/api/http-transport';
import { nodeFetch } from '../../src/node/node-fetch';
import { openMemoryEngine, TYPE_OF_METHOD } from './support/memory-engine';
import { startRecordingServer, type RecordingServer } from './support/recording-server';
import { makeTestCert, type TestCert } from './support/tls-cert';

jest.setTimeout(60_000);

type Method = keyof typeof TYPE_OF_METHOD;

const STATUSES = [301, 302, 303, 307, 308] as const;
const METHODS: readonly Method[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
type Target = 'same origin' | 'cross origin' | 'https to http' | 'cross origin, Node global fetch';
const TARGETS: readonly Target[] = ['same origin', 'cross origin', 'https to http', 'cross origin, Node global fetch'];

let cert: TestCert;
let plain: RecordingServer; // base for the http cases
let secure: RecordingServer; // base for https → http
let other: RecordingServer; // the redirect target on another port

beforeAll(async () => {
  cert = makeTestCert();
  plain = await startRecordingServer();
  secure = await startRecordingServer({ key: cert.key, cert: cert.cert });
  other = await startRecordingServer();
});

afterAll(async () => {
  await Promise.all([plain?.close(), secure?.close(), other?.close()]);
});

interface Setup {
  readonly base: RecordingServer;
  readonly location: string;
  readonly expectedOrigin: string;
  readonly fetch?: FetchLike;
}

function setup(target: Target): Setup {
  switch (target) {
    case 'same origin':
      // The target answers 200 { data }: a followed redirect would "commit".
      return { base: plain, location: '/landing?token=1', expectedOrigin: plain.origin };
    case 'cross origin':
      return { base: plain, location: `${other.origin}/collect?token=1`, expectedOrigin: other.origin };
    case 'https to http':
      return {
        base: secure,
        location: `${other.origin}/collect?token=1`,
        expectedOrigin: other.origin,
        fetch: nodeFetch({ agentOptions: { ca: cert.cert } }),
      };
    case 'cross origin, Node global fetch':
      return { base: plain, location: `${other.origin}/collect?token=1`, expectedOrigin: other.origin, fetch: globalThis.fetch as FetchLike };
  }
}

const cases = TARGETS.flatMap((target) => STATUSES.flatMap((status) => METHODS.map((method) => [status, method, target] as const)));

describe('redirects are never followed', () => {
  test.each(cases)('%i to a %s, %s: failed_ops (redirect), one request, nothing reaches the target', async (status, method, target) => {
    const { base, location, expectedOrigin, fetch } = setup(target);
    for (const s of [plain, secure, other]) s.received.length = 0;
    base.handle = (req, res) => {
      if (req.url.startsWith('/todos')) res.writeHead(status, { location, 'content-type': 'text/plain' }).end('moved');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { id: 'from-the-landing-page' } }));
    };
    const { engine, store, close } = await openMemoryEngine(base.origin, fetch ? { fetch } : {});
    try {
      const result$ = firstValueFrom(engine.results$.pipe(timeout(10_000)));
      const op = await engine.enqueue({ type: TYPE_OF_METHOD[method], payload: { id: 'a1', title: 'private title' } });
      engine.start();
      const result = await result$;

      expect(result).toMatchObject({ opId: op.id, outcome: 'failed', reason: 'redirect' });
      const failed = await store.failed.list();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ id: op.id, reason: 'redirect', error: { kind: 'redirect', status, redirectOrigin: expectedOrigin } });
      expect(JSON.stringify(failed[0]!.error)).not.toContain('token=1');
      expect(await store.counts()).toEqual({ pending: 0, failed: 1 });
      // One request, to the base; nothing (no header, no body) elsewhere.
      expect(base.received.map((r) => r.method)).toEqual([method]);
      expect(base === plain ? secure.received : plain.received).toEqual([]);
      expect(other.received).toEqual([]);
    } finally {
      await close();
    }
  });
});
