/**
 * TLS 1.3 on Node: `nodeFetch` (the engine's default once `sync-engine/node`
 * is loaded) refuses a TLS 1.2-only server on a non-loopback host, unless
 * told otherwise explicitly. Servers on 127.0.0.1 with a throwaway
 * certificate; "non-loopback" names are resolved to 127.0.0.1 by a `lookup`,
 * or spelled as the IPv4-mapped `[::ffff:7f00:1]` for the default fetch.
 */
import type { LookupFunction } from 'node:net';
import crossFetch from 'cross-fetch';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { defaultFetch } from '../../src/api/default-fetch';
import { NetworkError } from '../../src/errors/sync-error';
import { nodeFetch } from '../../src/node';
import { classifyError } from '../../src/policy/classify-error';
import { openMemoryEngine } from './support/memory-engine';
import { startRecordingServer, type RecordingServer } from './support/recording-server';
import { makeTestCert, type TestCert } from './support/tls-cert';

jest.setTimeout(30_000);

const toLoopback = ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) =>
  options?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as unknown as LookupFunction;

let cert: TestCert;
let tls12: RecordingServer;
let tls13: RecordingServer;

beforeAll(async () => {
  cert = makeTestCert();
  tls12 = await startRecordingServer({ key: cert.key, cert: cert.cert, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  tls13 = await startRecordingServer({ key: cert.key, cert: cert.cert, minVersion: 'TLSv1.3' });
});
afterAll(async () => {
  await Promise.all([tls12?.close(), tls13?.close()]);
});
beforeEach(() => {
  for (const s of [tls12, tls13]) {
    s.received.length = 0;
    s.tlsErrors.length = 0;
  }
});

const remote = (s: RecordingServer, path = '/todos') => `https://api.tls.test:${s.port}${path}`;
const get = async (fetch: ReturnType<typeof nodeFetch>, url: string) => {
  const res = await fetch(url, { method: 'GET' });
  return { status: res.status, text: await res.text() };
};

describe('nodeFetch and TLS versions', () => {
  test('refuses a TLS 1.2-only server on a non-loopback host: the handshake fails, no request is sent, a NetworkError', async () => {
    const fetch = nodeFetch({ agentOptions: { ca: cert.cert, lookup: toLoopback } });
    const err = await get(fetch, remote(tls12)).catch((e: unknown) => e);
    expect(classifyError(err)).toBeInstanceOf(NetworkError);
    expect(tls12.received).toEqual([]);
    expect(tls12.tlsErrors).toContain('ERR_SSL_UNSUPPORTED_PROTOCOL');
  });

  test('talks TLS 1.3 to a non-loopback host', async () => {
    const fetch = nodeFetch({ agentOptions: { ca: cert.cert, lookup: toLoopback } });
    await expect(get(fetch, remote(tls13))).resolves.toMatchObject({ status: 200 });
    expect(tls13.received).toHaveLength(1);
  });

  test("accepts TLS 1.2 only when told so explicitly (minTlsVersion: 'TLSv1.2'); agentOptions cannot lower it", async () => {
    const lowered = nodeFetch({ minTlsVersion: 'TLSv1.2', agentOptions: { ca: cert.cert, lookup: toLoopback } });
    await expect(get(lowered, remote(tls12))).resolves.toMatchObject({ status: 200 });
    const sneaky = nodeFetch({ agentOptions: { ca: cert.cert, lookup: toLoopback, minVersion: 'TLSv1.2' } as never });
    await expect(get(sneaky, remote(tls12))).rejects.toBeDefined();
    expect(tls12.received).toHaveLength(1);
  });

  test("keeps Node's default for loopback hosts (local development proxies)", async () => {
    const fetch = nodeFetch({ agentOptions: { ca: cert.cert } });
    await expect(get(fetch, `https://127.0.0.1:${tls12.port}/todos`)).resolves.toMatchObject({ status: 200 });
  });
});

describe('the default fetch once sync-engine/node is loaded', () => {
  test('is not cross-fetch: an engine given no fetch refuses the TLS 1.2 server and keeps the op', async () => {
    expect(defaultFetch()).not.toBe(crossFetch);
    const m = await openMemoryEngine(`https://[::ffff:7f00:1]:${tls12.port}`);
    try {
      const failed = firstValueFrom(
        m.engine.events$.pipe(
          filter((e) => e.type === 'attemptFailed'),
          timeout(10_000),
        ),
      );
      await m.engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
      m.engine.start();
      expect(await failed).toMatchObject({ error: { kind: 'network' } });
      // The server refused the ClientHello (TLS 1.3 only), not the client a certificate.
      expect(tls12.tlsErrors).toContain('ERR_SSL_UNSUPPORTED_PROTOCOL');
      expect(tls12.received).toEqual([]);
      expect(await m.store.counts()).toMatchObject({ pending: 1, failed: 0 });
    } finally {
      await m.close();
    }
  });
});
