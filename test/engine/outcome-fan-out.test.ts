import { fanOutOutcome } from '../../src/engine/outcome-fan-out';
import { CANCELLED_MESSAGE } from '../../src/errors/user-messages';
import type { FailedRecord } from '../../src/store/op-store';
import type { ProcessOutcome } from '../../streams/outcome';
import { pendingOp } from '../support/op-fixture';

const op = pendingOp();
const base = { opId: op.id, txToken: op.txToken, type: op.type };
const e400 = { kind: 'permanent' as const, status: 400 };
const e409 = { kind: 'conflict' as const, status: 409 };
const failedRecord: FailedRecord = { id: op.id, reason: 'permanent', error: e400, attempts: 0, failedAt: 5, op };
const conflictRecord: FailedRecord = { ...failedRecord, reason: 'conflict', error: e409 };

/** Each outcome and what the engine publishes for it, in order: [sink, value]. */
const rows: ReadonlyArray<readonly [string, ProcessOutcome, ReadonlyArray<readonly [string, unknown]>]> = [
  ['attemptStarted: the event as is', { type: 'attemptStarted', at: 1, op, attempt: 1 }, [['event', { type: 'attemptStarted', at: 1, op, attempt: 1 }]]],
  ['sending: the status action as is', { type: 'sending', opId: op.id }, [['status', { type: 'sending', opId: op.id }]]],
  [
    'waiting: the status action as is',
    { type: 'waiting', opId: op.id, nextAttemptAt: 9, error: { kind: 'storage' } },
    [['status', { type: 'waiting', opId: op.id, nextAttemptAt: 9, error: { kind: 'storage' } }]],
  ],
  [
    'backoff: the event (without the status fields), then waiting',
    { type: 'backoff', at: 2, op, delayMs: 500, retryAfter: false, nextAttemptAt: 502, error: { kind: 'server', status: 500 } },
    [
      ['event', { type: 'backoff', at: 2, op, delayMs: 500, retryAfter: false }],
      ['status', { type: 'waiting', opId: op.id, nextAttemptAt: 502, error: { kind: 'server', status: 500 } }],
    ],
  ],
  [
    'committed: completed, the result with data, then settled',
    { type: 'committed', at: 3, op, fromLedger: false, data: { id: 'a' } },
    [
      ['event', { type: 'completed', at: 3, op, fromLedger: false }],
      ['result', { ...base, outcome: 'committed', data: { id: 'a' } }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'committed from the ledger: the result has no data key',
    { type: 'committed', at: 3, op, fromLedger: true },
    [
      ['event', { type: 'completed', at: 3, op, fromLedger: true }],
      ['result', { ...base, outcome: 'committed' }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'failed: the event, the result with message and reason, then settled',
    { type: 'failed', at: 5, op, error: e400, message: 'm', record: failedRecord },
    [
      ['event', { type: 'failed', at: 5, record: failedRecord }],
      ['result', { ...base, outcome: 'failed', error: e400, message: 'm', reason: 'permanent' }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'conflict resolved fail: conflict and failed events, the result with reason, then settled',
    { type: 'conflict', at: 6, op, error: e409, message: 'c', resolution: 'fail', record: conflictRecord },
    [
      ['event', { type: 'conflict', at: 6, op, resolution: 'fail' }],
      ['event', { type: 'failed', at: 6, record: conflictRecord }],
      ['result', { ...base, outcome: 'conflict', error: e409, message: 'c', reason: 'conflict', resolution: 'fail' }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'conflict resolved drop: settled',
    { type: 'conflict', at: 7, op, error: e409, message: 'c', resolution: 'drop' },
    [
      ['event', { type: 'conflict', at: 7, op, resolution: 'drop' }],
      ['result', { ...base, outcome: 'conflict', error: e409, message: 'c', resolution: 'drop' }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'conflict resolved retry: the op stays queued, not settled',
    { type: 'conflict', at: 8, op, error: e409, message: 'c', resolution: 'retry' },
    [
      ['event', { type: 'conflict', at: 8, op, resolution: 'retry' }],
      ['result', { ...base, outcome: 'conflict', error: e409, message: 'c', resolution: 'retry' }],
    ],
  ],
  [
    'cancelled, never tried: the event, the result with the fixed message and no error, then settled',
    { type: 'cancelled', at: 10, op },
    [
      ['event', { type: 'cancelled', at: 10, op }],
      ['result', { ...base, outcome: 'cancelled', message: CANCELLED_MESSAGE }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  [
    'cancelled after a failed attempt: the result carries that error (the server may have applied it)',
    { type: 'cancelled', at: 11, op: { ...op, attempts: 1, lastError: { kind: 'timeout' } } },
    [
      ['event', { type: 'cancelled', at: 11, op: { ...op, attempts: 1, lastError: { kind: 'timeout' } } }],
      ['result', { ...base, outcome: 'cancelled', message: CANCELLED_MESSAGE, error: { kind: 'timeout' } }],
      ['status', { type: 'settled', opId: op.id }],
    ],
  ],
  ['authFailed: the error on the status', { type: 'authFailed', error: { kind: 'auth', status: 401 } }, [['status', { type: 'error', error: { kind: 'auth', status: 401 } }]]],
  [
    'authRequired: idle, the gate input, then the event',
    { type: 'authRequired', at: 9 },
    [
      ['status', { type: 'idle' }],
      ['status', { type: 'authRequired', required: true }],
      ['event', { type: 'authRequired', at: 9 }],
    ],
  ],
];

describe('fanOutOutcome', () => {
  test.each(rows)('%s', (_name, outcome, expected) => {
    const calls: Array<readonly [string, unknown]> = [];
    fanOutOutcome(outcome, {
      event: (e) => calls.push(['event', e]),
      status: (a) => calls.push(['status', a]),
      result: (r) => calls.push(['result', r]),
    });
    // toStrictEqual: no extra keys (no `data` on events, none from the outcome).
    expect(calls).toStrictEqual(expected);
  });
});
