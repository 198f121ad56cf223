import fc from 'fast-check';
import vectors from '../../test-vectors/retry_after.json';
import { parseHttpDate, parseRetryAfter } from '../../src/policy/retry-after';

interface Row {
  readonly name: string;
  readonly value: string | null;
  readonly now: number;
  readonly dateHeader?: string;
  readonly expectedMs: number | null;
}

describe('parseRetryAfter (test-vectors/retry_after.json)', () => {
  const rows = vectors.cases as unknown as readonly Row[];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const got = parseRetryAfter(row.value, row.now, row.dateHeader);
    expect(got).toBe(row.expectedMs === null ? undefined : row.expectedMs);
  });

  it('covers the three HTTP-date formats, delay-seconds and rejections', () => {
    expect(rows.some((r) => /^\d+$/.test(r.value ?? ''))).toBe(true);
    expect(rows.some((r) => r.value?.endsWith(' GMT') && r.value.includes(', ') && !r.value.includes('-'))).toBe(true);
    expect(rows.some((r) => /^\w+day, \d\d-/.test(r.value ?? ''))).toBe(true);
    expect(rows.some((r) => /^\w{3} \w{3} [ \d]\d /.test(r.value ?? ''))).toBe(true);
    expect(rows.filter((r) => r.expectedMs === null).length).toBeGreaterThan(10);
  });
});

describe('parseRetryAfter, beyond the table', () => {
  it('never consults Date.parse', () => {
    const spy = jest.spyOn(Date, 'parse');
    try {
      for (const row of vectors.cases as unknown as readonly Row[]) parseRetryAfter(row.value, row.now, row.dateHeader);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('returns undefined for undefined and non-string input', () => {
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
    expect(parseRetryAfter(120 as unknown as string, 0)).toBeUndefined();
  });

  it('returns undefined for an HTTP-date when neither Date nor now is a finite clock', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:29:00 GMT', Number.NaN)).toBeUndefined();
    expect(parseRetryAfter('120', Number.NaN)).toBe(120_000);
  });
});

describe('parseHttpDate', () => {
  it('reads the three formats of the same instant alike', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', t)).toBe(t);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', t)).toBe(t);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', t)).toBe(t);
  });

  it('round-trips Date.prototype.toUTCString (what servers emit)', () => {
    for (const t of [0, 784111777000, 1445412480000, 1764208800000, 4102444799000]) {
      expect(parseHttpDate(new Date(t).toUTCString(), 0)).toBe(t);
    }
  });

  it.each(['Sun, 06 Nov 0994 08:49:37 GMT', 'Sun Nov  6 08:49:37 0994', 'Sun, 06 Nov 1994 08:49:37 GMT '])(
    'rejects %j',
    (value) => {
      expect(parseHttpDate(value, 0)).toBeUndefined();
    },
  );
});

describe('parseRetryAfter (properties)', () => {
  const MIN = Date.UTC(1000, 0, 1);
  const MAX = Date.UTC(9999, 11, 31, 23, 59, 59);

  it('reads any IMF-fixdate that Date#toUTCString writes, measured against the Date header', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN / 1000, max: MAX / 1000 }),
        fc.integer({ min: 0, max: 86_400 }),
        fc.integer({ min: -1e12, max: 1e12 }),
        (seconds, aheadS, skew) => {
          const server = seconds * 1000;
          const at = server + aheadS * 1000;
          if (at > MAX) return;
          const header = new Date(at).toUTCString();
          const date = new Date(server).toUTCString();
          // The device clock (now) is arbitrary: the Date header decides.
          expect(parseRetryAfter(header, server + skew, date)).toBe(aheadS * 1000);
        },
      ),
    );
  });

  it('reads any delay-seconds as whole seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 3 }), (n, zeros) => {
        expect(parseRetryAfter('0'.repeat(zeros) + String(n), 0)).toBe(n * 1000);
      }),
    );
  });

  it('never throws, and yields undefined or a non-negative safe integer', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.option(fc.string({ maxLength: 40 })), (value, date) => {
        const got = parseRetryAfter(value, 1445412480000, date);
        if (got !== undefined) {
          expect(Number.isSafeInteger(got)).toBe(true);
          expect(got).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
