import type { ProcessOutcome } from '../../streams/outcome';
import type { ProcessContext } from '../../streams/process-op';
import type { SettleLane } from '../../streams/settle-lane';
import type { EngineDeps } from './engine-deps';

/**
 * What `processOp` is given by the engine: its ports and policies, the
 * settle lane, power saving's backoff multiplier while `powerSaving()`,
 * where every outcome goes, and the signals that end its waits ("sync
 * now", cancel requests).
 *
 * @example
 * const ctx = processContextOf(deps, lane, () => state.powerSaving, (o) => fanOutOutcome(o, sinks), { syncNow$, cancel$ });
 */
export function processContextOf(
  deps: EngineDeps,
  lane: SettleLane,
  powerSaving: () => boolean,
  report: (outcome: ProcessOutcome) => void,
  signals: Pick<ProcessContext, 'syncNow$' | 'cancel$'> = {},
): ProcessContext {
  return {
    ...signals,
    store: deps.store,
    lane,
    api: deps.api,
    auth: deps.auth,
    router: deps.router,
    scheduler: deps.scheduler,
    now: deps.now,
    random: deps.random,
    backoff: deps.backoff,
    backoffFactor: () => (powerSaving() ? deps.powerSavingBackoffFactor : 1),
    reconcile: deps.reconcile,
    requestHeaders: deps.requestHeaders,
    rateLimiter: deps.rateLimiter,
    admit: deps.admit,
    report,
  };
}
