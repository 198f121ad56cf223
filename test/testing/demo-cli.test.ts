import { parseArgs, DEMO_DEFAULTS, HELP, formatTable, type DemoResult } from '../../demo/main';
import { verifyDelivery } from '../../src/testing';
import { renderLine } from '../../demo/progress';
import { buildWorkload } from '../../demo/workload';
import { waitForDrain } from '../../demo/drain-wait';

describe('demo CLI', () => {
  test('defaults, flags in both forms, and --help', () => {
    expect(parseArgs([])).toEqual(DEMO_DEFAULTS);
    expect(parseArgs(['--ops', '500', '--seed=7', '--offline-ms', '10000', '--no-crash', '--json'])).toEqual({
      ...DEMO_DEFAULTS,
      ops: 500,
      seed: 7,
      offlineMs: 10_000,
      crash: false,
      json: true,
    });
    expect(parseArgs(['--stall-ms', '5000'])).toEqual({ ...DEMO_DEFAULTS, stallMs: 5000 });
    expect(parseArgs(['--help'])).toBe('help');
    expect(HELP).toMatch(/--ops N/);
    expect(HELP).toMatch(/under a minute/);
  });

  test('bad flags are refused', () => {
    expect(() => parseArgs(['--ops', 'many'])).toThrow(/--ops/);
    expect(() => parseArgs(['--ops', '3'])).toThrow(/≥ 10/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
    expect(() => parseArgs(['--stall-ms', '10'])).toThrow(/≥ 1000/);
  });

  test('the progress line shows bar, phase and counters', () => {
    const line = renderLine({ phase: 'offline', total: 100, enqueued: 100, applied: 40, pending: 50, failed: 10, retries: 3, elapsedMs: 1234 }, 10);
    expect(line).toBe('█████░░░░░  50%  offline             pending    50  sent    40  retries    3  failed  10    1.2 s');
  });
});

describe('demo drain wait (progress-based, no deadline)', () => {
  /** A virtual clock: `sleep` moves it; `at(ms)` is what the fake drain reports then. */
  const virtual = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
  };

  test('a drain that keeps moving is waited for however long it takes (20,000 ops at 100 ops/s: 200 s)', async () => {
    const clock = virtual();
    const applied = () => Math.min(20_000, Math.floor(clock.now() / 10));
    const end = await waitForDrain({ drained: () => applied() === 20_000, progress: () => String(applied()), stallMs: 20_000, ...clock });
    expect(end).toEqual({ kind: 'drained', waitedMs: 200_000 });
  });

  test('slow but moving (one op per 19 s) is not a stall', async () => {
    const clock = virtual();
    const applied = () => Math.min(10, Math.floor(clock.now() / 19_000));
    const end = await waitForDrain({ drained: () => applied() === 10, progress: () => String(applied()), stallMs: 20_000, ...clock });
    expect(end.kind).toBe('drained');
  });

  test('no progress for stallMs ends the wait as stalled, with the last progress seen', async () => {
    const clock = virtual();
    const applied = () => Math.min(700, Math.floor(clock.now() / 10));
    const end = await waitForDrain({ drained: () => false, progress: () => `${applied()}/0`, stallMs: 20_000, ...clock });
    expect(end).toEqual({ kind: 'stalled', waitedMs: 27_000, progress: '700/0' });
  });
});

describe('demo verification table', () => {
  const resultWith = (report: DemoResult['report'], ok: boolean): DemoResult => ({
    report,
    failed: [],
    rejectedAtEnqueue: 0,
    requestsSent: 3,
    retries: 1,
    retryAfterWaits: 0,
    tokenRefreshes: 0,
    server: {
      requests: 3,
      tokenRequests: 0,
      distinctKeys: 2,
      sends: 3,
      applied: 2,
      replays: 1,
      inUse: 0,
      mismatches: 0,
      unauthorized: 0,
      tokensIssued: 1,
      batches: 0,
      batchEntries: 0,
      notApplied: 0,
      byStatus: { 201: 2 },
      faults: { commitThenDrop: 1 },
    },
    offlineRequests: 0,
    elapsedMs: 1234,
    ok,
  });
  const effect = (seq: number, key: string) => ({ seq, idempotencyKey: key, resource: 'todos' as const, id: key, action: 'create' as const, at: 10 });

  test('a lost and a doubled op are marked FAIL and the verdict is NOT VERIFIED', () => {
    const report = verifyDelivery(
      [
        { idempotencyKey: 'a', createdAt: 0 },
        { idempotencyKey: 'b', createdAt: 0 },
        { idempotencyKey: 'c', createdAt: 0 },
      ],
      [effect(1, 'a'), effect(2, 'b'), effect(3, 'b')],
      [],
      [],
      { strictFifo: true },
    );
    const table = formatTable(resultWith(report, report.ok));
    expect(report.ok).toBe(false);
    expect(table).toMatch(/duplicates \(must be 0\)\s+1\s+FAIL/);
    expect(table).toMatch(/lost \(must be 0\)\s+1\s+FAIL/);
    expect(table).toContain('NOT VERIFIED');
  });

  test('a stalled drain gets its own FAIL row', () => {
    const report = verifyDelivery([{ idempotencyKey: 'a', createdAt: 0 }], [], [], ['a'], { strictFifo: true });
    const table = formatTable({ ...resultWith(report, false), stalledForMs: 20_000 });
    expect(table).toMatch(/drain stalled\s+20 s\s+FAIL/);
    expect(table).toContain('NOT VERIFIED');
  });

  test('a clean run says VERIFIED', () => {
    const report = verifyDelivery([{ idempotencyKey: 'a', createdAt: 0 }], [effect(1, 'a')], [], [], { strictFifo: true });
    const table = formatTable(resultWith(report, true));
    expect(table).toMatch(/applied exactly once\s+1/);
    expect(table).toContain('VERIFIED: every op');
    expect(table).not.toContain('FAIL');
  });
});

describe('demo workload', () => {
  test('deterministic per seed, per-entity create first and nothing after a delete', () => {
    const a = buildWorkload({ ops: 2000, seed: 3 });
    expect(buildWorkload({ ops: 2000, seed: 3 })).toEqual(a);
    expect(a).toHaveLength(2000);
    const seen = new Map<string, string[]>();
    for (const w of a) {
      const list = seen.get(w.entityId) ?? [];
      list.push(w.type.split('.')[1] as string);
      seen.set(w.entityId, list);
    }
    for (const actions of seen.values()) {
      expect(actions[0]).toBe('create');
      expect(actions.slice(0, -1)).not.toContain('delete');
    }
    const kinds = new Set(a.map((w) => w.expect));
    expect(kinds).toEqual(new Set(['apply', 'badRequest', 'conflict']));
    expect(new Set(a.map((w) => w.type))).toEqual(
      new Set(['todo.create', 'todo.update', 'todo.delete', 'contact.create', 'contact.update', 'contact.delete']),
    );
  });
});
