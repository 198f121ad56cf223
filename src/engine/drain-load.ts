import type { ProcessOutcome } from '../../streams/outcome';
import type { OpId } from '../op/pending-op';
import type { StatusAction } from './status-reducer';

/** Follows the keyed drain's outcomes into `load` status actions. */
export interface DrainLoad {
  /** An outcome of the keyed drain (before it is fanned out). */
  observe(outcome: ProcessOutcome): void;
  /** The drain stopped: nothing on the wire, nothing waiting. */
  reset(): void;
}

/**
 * How many ops are on the wire (`sending` until their attempt ends) and
 * how many wait before their next try (`backoff`, `waiting` until they are
 * sent again or settle), dispatched as a `load` action whenever either
 * count changes. Only the keyed drain (concurrency, batch) uses it: in
 * strict FIFO `inFlight` and `nextAttemptAt` already say it all, and the
 * hot path stays as it was.
 *
 * @example
 * const load = createDrainLoad(dispatch);
 * const report = (o: ProcessOutcome) => { load.observe(o); fanOut(o); };
 */
export function createDrainLoad(dispatch: (action: StatusAction) => void): DrainLoad {
  const onWire = new Set<OpId>();
  const waiting = new Set<OpId>();
  let last = { inFlight: 0, blocked: 0 };
  const publish = (): void => {
    if (onWire.size === last.inFlight && waiting.size === last.blocked) return;
    last = { inFlight: onWire.size, blocked: waiting.size };
    dispatch({ type: 'load', ...last });
  };
  return {
    observe(o) {
      switch (o.type) {
        case 'sending':
          onWire.add(o.opId);
          waiting.delete(o.opId);
          break;
        case 'attemptSucceeded':
        case 'attemptFailed':
          onWire.delete(o.op.id);
          break;
        case 'backoff':
          onWire.delete(o.op.id);
          waiting.add(o.op.id);
          break;
        case 'waiting':
          onWire.delete(o.opId);
          waiting.add(o.opId);
          break;
        case 'committed':
        case 'failed':
        case 'cancelled':
        case 'conflict':
          onWire.delete(o.op.id);
          waiting.delete(o.op.id);
          break;
        default:
          return;
      }
      publish();
    },
    reset() {
      onWire.clear();
      waiting.clear();
      last = { inFlight: 0, blocked: 0 };
    },
  };
}
