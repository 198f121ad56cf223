import vectors from '../../test-vectors/retry_decision.json';
import * as errors from '../../src/errors/sync-error';
import { resolveBackoffPolicy, type BackoffPolicy } from '../../src/policy/backoff';
import { restartWaitMs, retryDecision, type RetryDecision } from '../../src/policy/retry-decision';

interface ErrorSpec {
  readonly class: string;
  readonly args: readonly unknown[];
}
interface DecisionRow {
  readonly name: string;
  readonly error: ErrorSpec;
  readonly attempts: number;
  readonly failures: number;
  readonly random: number;
  readonly factor: number;
  readonly overrides: Partial<BackoffPolicy>;
  readonly expected: RetryDecision;
}
interface RestartRow {
  readonly name: string;
  readonly failures: number;
  readonly random: number;
  readonly factor: number;
  readonly overrides: Partial<BackoffPolicy>;
  readonly expectedMs: number;
}

/** The row's error: a real instance of the named class (or an untyped throw). */
function errorOf(spec: ErrorSpec): unknown {
  if (spec.class === 'string') return spec.args[0];
  if (spec.class === 'Error') return new Error(String(spec.args[0]));
  const Ctor = (errors as unknown as Record<string, new (...args: unknown[]) => unknown>)[spec.class];
  if (Ctor === undefined) throw new Error(`retry_decision.json: no error class ${spec.class}`);
  return new Ctor(...spec.args);
}

describe('retryDecision (test-vectors/retry_decision.json)', () => {
  const rows = vectors.retryDecision as unknown as readonly DecisionRow[];

  test.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    let randomCalls = 0;
    const random = (): number => {
      randomCalls += 1;
      return row.random;
    };
    const policy = resolveBackoffPolicy(row.overrides);
    expect(retryDecision({ attempts: row.attempts }, errorOf(row.error), row.failures, policy, random, row.factor)).toEqual(row.expected);
    // Jitter is drawn for a wait only: a seeded random() stays in step.
    expect(randomCalls).toBe(row.expected.action === 'retry' ? 1 : 0);
  });

  it('covers every action', () => {
    expect(new Set(rows.map((r) => r.expected.action))).toEqual(new Set(['retry', 'fail', 'reconcile', 'restart']));
  });
});

describe('restartWaitMs (test-vectors/retry_decision.json)', () => {
  test.each((vectors.restartWaitMs as readonly RestartRow[]).map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(restartWaitMs(row.failures, resolveBackoffPolicy(row.overrides), () => row.random, row.factor)).toBe(row.expectedMs);
  });
});
