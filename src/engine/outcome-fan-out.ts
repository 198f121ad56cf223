import type { ProcessOutcome } from '../../streams/outcome';
import { CANCELLED_MESSAGE } from '../errors/user-messages';
import type { StatusAction } from './status-reducer';
import type { EngineEvent, OpResult } from './sync-engine';

/** Where the engine publishes: `events$`, the status reducer, `results$`. */
export interface OutcomeSinks {
  event(event: EngineEvent): void;
  status(action: StatusAction): void;
  result(result: OpResult): void;
}

/**
 * Publish one outcome of the streams: the lifecycle event(s), the
 * `results$` entry and the status action(s), in that order — status last,
 * so whoever waits for "idle" on `status$` has the result already.
 * Attempt outcomes are events as they are; `sending` and `waiting` are
 * status actions as they are (nothing allocated on the per-op path).
 *
 * @example
 * const report = (o: ProcessOutcome) => fanOutOutcome(o, { event: emit, status: dispatch, result: (r) => results.next(r) });
 */
export function fanOutOutcome(o: ProcessOutcome, to: OutcomeSinks): void {
  switch (o.type) {
    case 'attemptStarted':
    case 'attemptSucceeded':
    case 'attemptFailed':
      to.event(o);
      return;
    case 'sending':
    case 'waiting':
      to.status(o);
      return;
    case 'backoff':
      to.event({ type: 'backoff', at: o.at, op: o.op, delayMs: o.delayMs, retryAfter: o.retryAfter });
      to.status({ type: 'waiting', opId: o.op.id, nextAttemptAt: o.nextAttemptAt, error: o.error });
      return;
    case 'committed': {
      const { op } = o;
      to.event({ type: 'completed', at: o.at, op, fromLedger: o.fromLedger });
      to.result(
        o.fromLedger
          ? { opId: op.id, txToken: op.txToken, type: op.type, outcome: 'committed' }
          : { opId: op.id, txToken: op.txToken, type: op.type, outcome: 'committed', data: o.data },
      );
      to.status({ type: 'settled', opId: op.id });
      return;
    }
    case 'failed': {
      const { op, record } = o;
      to.event({ type: 'failed', at: o.at, record });
      to.result({ opId: op.id, txToken: op.txToken, type: op.type, outcome: 'failed', error: o.error, message: o.message, reason: record.reason });
      to.status({ type: 'settled', opId: op.id });
      return;
    }
    case 'conflict':
      fanOutConflict(o, to);
      return;
    case 'cancelled': {
      const { op } = o;
      to.event({ type: 'cancelled', at: o.at, op });
      to.result(
        op.lastError == null
          ? { opId: op.id, txToken: op.txToken, type: op.type, outcome: 'cancelled', message: CANCELLED_MESSAGE }
          : { opId: op.id, txToken: op.txToken, type: op.type, outcome: 'cancelled', message: CANCELLED_MESSAGE, error: op.lastError },
      );
      to.status({ type: 'settled', opId: op.id });
      return;
    }
    case 'authFailed':
      to.status({ type: 'error', error: o.error });
      return;
    case 'authRequired':
      to.status({ type: 'idle' });
      to.status({ type: 'authRequired', required: true });
      to.event({ type: 'authRequired', at: o.at });
      return;
  }
}

function fanOutConflict(o: Extract<ProcessOutcome, { type: 'conflict' }>, to: OutcomeSinks): void {
  const { op, resolution } = o;
  to.event({ type: 'conflict', at: o.at, op, resolution });
  if (o.resolution === 'fail') {
    to.event({ type: 'failed', at: o.at, record: o.record });
    to.result({ opId: op.id, txToken: op.txToken, type: op.type, outcome: 'conflict', error: o.error, message: o.message, reason: o.record.reason, resolution });
  } else {
    to.result({ opId: op.id, txToken: op.txToken, type: op.type, outcome: 'conflict', error: o.error, message: o.message, resolution });
  }
  // A retried op stays in the queue: it is not settled.
  if (resolution !== 'retry') to.status({ type: 'settled', opId: op.id });
}
