import { Readable } from 'node:stream';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { createApiClient } from '../../src/api/api-client';
import { fetchTransport, type FetchLike } from '../../src/api/http-transport';
import { MalformedResponseError, RedirectError } from '../../src/errors/sync-error';

const CHUNK = 64 * 1024;
const TOTAL = 16 * 1024 * 1024;

/** A 16 MiB body made on demand, 64 KiB per pull, counting what was pulled and whether it was cancelled. */
function hugeWhatwgBody(): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= TOTAL) {
          controller.close();
          return;
        }
        pulled += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK).fill(0x61));
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

const answer = (body: BodyInit | null, init: ResponseInit = {}): Response => new Response(body, { status: 200, ...init });

describe('fetchTransport: redirects', () => {
  test('asks fetch never to follow a redirect', async () => {
    const inits: RequestInit[] = [];
    const fake: FetchLike = async (_url, init) => {
      inits.push(init);
      return answer('{"data":1}');
    };
    await firstValueFrom(fetchTransport(fake)({ method: 'POST', url: 'https://x/y', headers: {}, body: '{}' }));
    expect(inits[0]!.redirect).toBe('manual');
  });

  test.each([301, 302, 303, 307, 308])('a %i is handed over as is, its body unread and the request aborted', async (status) => {
    let signal: AbortSignal | undefined;
    const body = hugeWhatwgBody();
    const fake: FetchLike = async (_url, init) => {
      signal = init.signal ?? undefined;
      return answer(body.stream, { status, headers: { Location: 'https://other.example/z?token=1' } });
    };
    const res = await firstValueFrom(fetchTransport(fake)({ method: 'PATCH', url: 'https://x/y', headers: {} }));
    expect(res).toMatchObject({ status, bodyText: '' });
    expect(res.headers.get('location')).toBe('https://other.example/z?token=1');
    expect(body.pulled()).toBe(0);
    expect(signal?.aborted).toBe(true);
  });

  test("the browser's opaque redirect (status 0) fails the attempt as a redirect, not as a network error", async () => {
    const opaque = {
      type: 'opaqueredirect',
      status: 0,
      redirected: false,
      url: '',
      headers: new Headers(),
      body: null,
      text: async () => '',
    } as unknown as Response;
    const api = createApiClient({ baseUrl: 'https://api.test', fetch: async () => opaque });
    const err = await lastValueFrom(api.send(request)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).toInfo()).toEqual({ kind: 'redirect', code: 'opaqueRedirect' });
  });

  test('a fetch that follows the redirect anyway: the answer is refused, never taken for the op', async () => {
    const followed = answer('{"data":{"id":"from-the-GET"}}');
    Object.defineProperty(followed, 'redirected', { value: true });
    Object.defineProperty(followed, 'url', { value: 'https://login.example/sso?ticket=abc' });
    const api = createApiClient({ baseUrl: 'https://api.test', fetch: async () => followed });
    const err = await lastValueFrom(api.send(request)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).toInfo()).toEqual({ kind: 'redirect', code: 'followed', redirectOrigin: 'https://login.example' });
  });
});

describe('fetchTransport: maxResponseBytes', () => {
  test('a streamed body past the cap is cancelled within one chunk of it and the request aborted', async () => {
    let signal: AbortSignal | undefined;
    const body = hugeWhatwgBody();
    const fake: FetchLike = async (_url, init) => {
      signal = init.signal ?? undefined;
      return answer(body.stream);
    };
    const res = await firstValueFrom(fetchTransport(fake, { maxResponseBytes: 200_000 })({ method: 'POST', url: 'https://x/y', headers: {} }));
    expect(res).toMatchObject({ status: 200, bodyText: '', bodyOverLimit: true });
    expect(body.pulled()).toBeLessThanOrEqual(200_000 + CHUNK);
    expect(body.cancelled()).toBe(true);
    expect(signal?.aborted).toBe(true);
  });

  test("node-fetch's Node stream body is destroyed past the cap", async () => {
    let pulled = 0;
    const node = Readable.from(
      (function* () {
        while (pulled < TOTAL) {
          pulled += CHUNK;
          yield Buffer.alloc(CHUNK, 0x61);
        }
      })(),
      { highWaterMark: 1 },
    );
    const fake = (async () => ({
      type: 'basic',
      status: 201,
      redirected: false,
      url: 'https://x/y',
      headers: new Headers(),
      body: node,
      text: async () => {
        throw new Error('the whole body must not be read');
      },
    })) as unknown as FetchLike;
    const res = await firstValueFrom(fetchTransport(fake, { maxResponseBytes: 200_000 })({ method: 'POST', url: 'https://x/y', headers: {} }));
    expect(res).toMatchObject({ status: 201, bodyOverLimit: true, bodyText: '' });
    expect(pulled).toBeLessThanOrEqual(200_000 + 2 * CHUNK);
    expect(node.destroyed).toBe(true);
  });

  test('a Content-Length past the cap is refused before reading a byte', async () => {
    const body = hugeWhatwgBody();
    const fake: FetchLike = async () => answer(body.stream, { headers: { 'Content-Length': String(TOTAL) } });
    const res = await firstValueFrom(fetchTransport(fake, { maxResponseBytes: 1000 })({ method: 'GET', url: 'https://x', headers: {} }));
    expect(res.bodyOverLimit).toBe(true);
    expect(body.pulled()).toBe(0);
  });

  test('a body of exactly the cap is read whole, multi-byte characters split across chunks included', async () => {
    const bytes = new TextEncoder().encode('{"data":"héllo ✓"}');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const res = await firstValueFrom(fetchTransport(async () => answer(stream), { maxResponseBytes: bytes.length })({ method: 'GET', url: 'https://x', headers: {} }));
    expect(res).toMatchObject({ bodyText: '{"data":"héllo ✓"}' });
    expect(res.bodyOverLimit).toBeUndefined();
  });

  test('a 2xx past the cap fails the attempt as malformed (tooLarge); the client refuses a bad cap', async () => {
    const api = createApiClient({ baseUrl: 'https://api.test', fetch: async () => answer(hugeWhatwgBody().stream), maxResponseBytes: 4096 });
    const err = await lastValueFrom(api.send(request)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect((err as MalformedResponseError).toInfo()).toEqual({ kind: 'malformedResponse', status: 200, code: 'tooLarge' });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createApiClient({ baseUrl: 'https://api.test', maxResponseBytes: bad })).toThrow(/maxResponseBytes/);
    }
  });
});

const request = {
  method: 'POST',
  path: '/todos',
  body: { id: '1' },
  token: 'secret-token',
  idempotencyKey: '9b2f5a8e-4a3c-4f7e-9a55-2f1f0c3f1a11',
  traceId: '0c3a5d0e-6f6b-4b7e-8f5e-5a0f3e2d1c9b',
};
