import fc from 'fast-check';
import vectors from '../../test-vectors/error_mapping.json';
import { ConflictError } from '../../src/errors/sync-error';
import { expectSyncError, type ExpectedSyncError } from '../support/expect-sync-error';
import { classifyResponse, type HttpResponseLike } from '../../src/policy/classify-response';

interface Expected extends ExpectedSyncError {
  readonly ok: boolean;
  readonly data?: unknown;
}
interface Row {
  readonly name: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyText: string;
  readonly url?: string;
  readonly redirected?: boolean;
  readonly bodyOverLimit?: boolean;
  readonly expected: Expected;
}

/** Case-insensitive like fetch's Headers. */
const headersOf = (h: Readonly<Record<string, string>>): HttpResponseLike['headers'] => {
  const map = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => map.get(name.toLowerCase()) ?? null };
};

const rows = vectors.cases as unknown as readonly Row[];

describe('classifyResponse (test-vectors/error_mapping.json)', () => {
  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const res: HttpResponseLike = {
      status: row.status,
      headers: headersOf(row.headers),
      bodyText: row.bodyText,
      ...(row.url === undefined ? {} : { url: row.url }),
      ...(row.redirected === undefined ? {} : { redirected: row.redirected }),
      ...(row.bodyOverLimit === undefined ? {} : { bodyOverLimit: row.bodyOverLimit }),
    };
    const got = classifyResponse(res, vectors.now);
    const e = row.expected;
    if (e.ok) {
      expect(got).toEqual({ ok: true, data: e.data });
      return;
    }
    expect(got.ok).toBe(false);
    if (got.ok) return;
    // Nothing the server wrote reaches the message or the user text.
    expectSyncError(got.error, e, /token=|key=secret|ticket=|eyJ|alice@|Sign in|server text/);
  });

  it('covers every status the contract lists', () => {
    const statuses = new Set(rows.map((r) => r.status));
    for (const s of [0, 200, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 408, 409, 410, 413, 422, 425, 429, 500, 502, 503, 504]) {
      expect(statuses).toContain(s);
    }
  });
});

describe('classifyResponse, beyond the table', () => {
  const res = (status: number, bodyText: string, headers: Record<string, string> = {}): HttpResponseLike => ({
    status,
    headers: headersOf(headers),
    bodyText,
  });

  it('hands the conflict details to reconciliation', () => {
    const got = classifyResponse(
      res(409, JSON.stringify({ error: { code: 'version_conflict', message: 'x', details: { currentVersion: 4 } } })),
      0,
    );
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.error).toBeInstanceOf(ConflictError);
    expect((got.error as ConflictError).details).toEqual({ currentVersion: 4 });
    // details are structured data for reconcile, not part of the stored summary.
    expect(got.error.toInfo()).toEqual({ kind: 'conflict', status: 409, code: 'version_conflict' });
  });

  it('measures an HTTP-date Retry-After against the injected now when there is no Date header', () => {
    const now = Date.UTC(2015, 9, 21, 7, 28, 0);
    const got = classifyResponse(res(429, '', { 'Retry-After': 'Wed, 21 Oct 2015 07:28:45 GMT' }), now);
    expect(got.ok ? undefined : got.error.retryAfterMs).toBe(45_000);
  });

  it('does not read a Retry-After on a success', () => {
    expect(classifyResponse(res(200, '{"data":1}', { 'Retry-After': '10' }), 0)).toEqual({ ok: true, data: 1 });
  });

  it('keeps a 204 with a body to the envelope rule', () => {
    expect(classifyResponse(res(204, '{"data":{"id":1}}'), 0)).toEqual({ ok: true, data: { id: 1 } });
    expect(classifyResponse(res(204, 'oops'), 0).ok).toBe(false);
  });
});

describe('classifyResponse (properties)', () => {
  const FIXED_MESSAGE =
    /^(network request failed|request timed out|server error( \d{3})?|rate limited by server|authentication required|request rejected( with \d{3})?|conflict with server state|malformed server response|redirect not followed( \(\d{3}\))?)$/;

  it('never throws; ok only for 2xx; messages are fixed text whatever the body and headers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.json(),
          fc.record({ error: fc.record({ code: fc.string(), message: fc.string(), details: fc.anything() }) }).map((o) => JSON.stringify(o)),
        ),
        fc.option(fc.string({ maxLength: 40 })),
        (status, bodyText, retryAfter) => {
          const headers = headersOf(retryAfter === null ? {} : { 'Retry-After': retryAfter });
          const got = classifyResponse({ status, headers, bodyText }, 1445412480000);
          if (got.ok) {
            expect(status >= 200 && status <= 299).toBe(true);
            return;
          }
          // Every 3xx is refused as a redirect, whatever it says.
          expect(got.error.kind === 'redirect').toBe(status >= 300 && status <= 399);
          expect(got.error.message).toMatch(FIXED_MESSAGE);
          expect(got.error.status).toBe(status);
          if (got.error.code !== undefined) expect(got.error.code).toMatch(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/);
          if (got.error.retryAfterMs !== undefined) expect(got.error.retryAfterMs).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
