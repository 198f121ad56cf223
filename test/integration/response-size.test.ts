/**
 * Replies of any size and shape, on real sockets (127.0.0.1): the body is
 * read up to maxResponseBytes and the request aborted past it; a reply cut
 * short of its Content-Length fails at once on the Node transport instead
 * of waiting for the request timeout.
 */
import type { ServerResponse } from 'node:http';
import { firstValueFrom, filter, timeout } from 'rxjs';
import type { FetchLike } from '../../src/api/http-transport';
import type { EngineEvent } from '../../src/engine/sync-engine';
import { nodeFetch } from '../../src/node/node-fetch';
import { openMemoryEngine, type MemoryEngine } from './support/memory-engine';
import { startRecordingServer, type Received, type RecordingServer } from './support/recording-server';

jest.setTimeout(60_000);

const CAP = 256 * 1024;
// Never reached when the client hangs up at the cap; keeps the old code's run bounded.
const SAFETY_BYTES = 48 * 1024 * 1024;

interface Stream {
  written: number;
  closedByClient: boolean;
}

/** Writes spaces with backpressure until the client hangs up (or SAFETY_BYTES). */
function endless(status: number, stream: Stream, headers: Record<string, string> = {}) {
  return (_req: Received, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    res.on('close', () => {
      stream.closedByClient = !res.writableFinished;
    });
    const pump = (): void => {
      while (!res.destroyed) {
        if (stream.written >= SAFETY_BYTES) {
          res.end();
          return;
        }
        stream.written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
}

const firstFailure = (m: MemoryEngine): Promise<Extract<EngineEvent, { type: 'attemptFailed' }>> =>
  firstValueFrom(
    m.engine.events$.pipe(
      filter((e): e is Extract<EngineEvent, { type: 'attemptFailed' }> => e.type === 'attemptFailed'),
      timeout(20_000),
    ),
  );

const TRANSPORTS: ReadonlyArray<readonly [string, () => FetchLike | undefined]> = [
  ['default transport (cross-fetch)', () => undefined],
  ['nodeFetch', () => nodeFetch()],
];

describe.each(TRANSPORTS)('response size on the %s', (_name, makeFetch) => {
  let server: RecordingServer;
  let m: MemoryEngine;
  const open = async () => {
    const fetch = makeFetch();
    m = await openMemoryEngine(server.origin, { maxResponseBytes: CAP, requestTimeoutMs: 10_000, ...(fetch ? { fetch } : {}) });
  };

  beforeEach(async () => {
    server = await startRecordingServer();
    await open();
  });
  afterEach(async () => {
    await m.close();
    await server.close();
  });

  test('a 2xx body that never ends: aborted at the cap, the op in failed_ops as malformedResponse (tooLarge), not a timeout', async () => {
    const stream: Stream = { written: 0, closedByClient: false };
    server.handle = endless(200, stream);
    const failure = firstFailure(m);
    const op = await m.engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    m.engine.start();
    expect((await failure).error).toEqual({ kind: 'malformedResponse', status: 200, code: 'tooLarge' });
    await waitFor(() => m.results.length === 1);
    const failed = await m.store.failed.list();
    expect(failed).toMatchObject([{ id: op.id, reason: 'malformedResponse', error: { code: 'tooLarge' } }]);
    // Retrying from failed_ops resends under the same key: the server replays its answer.
    expect(failed[0]!.op?.idempotencyKey).toBe(op.idempotencyKey);
    expect(server.received).toHaveLength(1);
    await waitFor(() => stream.closedByClient);
    expect(stream.written).toBeLessThan(SAFETY_BYTES);
  });

  test('a 50 MB Content-Length: refused before reading the body', async () => {
    server.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 0x20));
    };
    const failure = firstFailure(m);
    await m.engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    m.engine.start();
    expect((await failure).error).toEqual({ kind: 'malformedResponse', status: 200, code: 'tooLarge' });
  });

  test('a 500 with an endless body is a server error (retried), then the op commits', async () => {
    const stream: Stream = { written: 0, closedByClient: false };
    const huge500 = endless(500, stream, { 'retry-after': '0' });
    server.handle = (req, res) => {
      if (server.received.length === 1) huge500(req, res);
      else res.writeHead(201, { 'content-type': 'application/json' }).end('{"data":{"id":"a"}}');
    };
    const failure = firstFailure(m);
    const op = await m.engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    m.engine.start();
    expect((await failure).error).toMatchObject({ kind: 'server', status: 500 });
    // The client hung up at the cap instead of buffering the body.
    await waitFor(() => stream.closedByClient);
    expect(stream.written).toBeLessThan(SAFETY_BYTES);
    await waitFor(() => m.results.length === 1);
    expect(m.results).toMatchObject([{ opId: op.id, outcome: 'committed' }]);
    expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([op.idempotencyKey, op.idempotencyKey]);
  });
});

describe('a reply cut short of its Content-Length (nodeFetch)', () => {
  let server: RecordingServer;
  let m: MemoryEngine;
  beforeEach(async () => {
    server = await startRecordingServer();
    m = await openMemoryEngine(server.origin, { fetch: nodeFetch(), requestTimeoutMs: 20_000 });
  });
  afterEach(async () => {
    await m.close();
    await server.close();
  });

  test('fails at once as a network error (no attempt consumed) instead of waiting for the timeout, then commits with the same key', async () => {
    server.handle = (req, res) => {
      if (server.received.length > 1) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"id":"a"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"data":', () => res.socket?.destroy());
    };
    const failure = firstFailure(m);
    const op = await m.engine.enqueue({ type: 'todo.create', payload: { id: 'a', title: 'x' } });
    m.engine.start();
    expect((await failure).error).toMatchObject({ kind: 'network' });
    await waitFor(() => m.results.length === 1);
    expect(m.results).toMatchObject([{ opId: op.id, outcome: 'committed' }]);
    expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([op.idempotencyKey, op.idempotencyKey]);
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
}
