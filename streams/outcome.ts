import type { ErrorInfo } from '../src/errors/sync-error';
import type { OpId, PendingOp } from '../src/op/pending-op';
import type { FailedRecord } from '../src/store/op-store';

/**
 * An attempt of an op started, succeeded or failed. The engine passes these
 * to `events$` as they are (they are `EngineEvent`s too); they never carry a
 * payload's answer or a token.
 */
export type AttemptOutcome =
  | { readonly type: 'attemptStarted'; readonly at: number; readonly op: PendingOp; readonly attempt: number }
  | {
      readonly type: 'attemptSucceeded';
      readonly at: number;
      readonly op: PendingOp;
      readonly attempt: number;
      readonly status: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'attemptFailed';
      readonly at: number;
      readonly op: PendingOp;
      readonly attempt: number;
      readonly error: ErrorInfo;
      readonly durationMs: number;
    };

/**
 * Everything that happens to an op while the streams process it, reported
 * through one callback (`ProcessContext.report`) in the order it happens.
 * The engine fans each outcome out to `events$`, the status reducer and
 * `results$` (`src/engine/outcome-fan-out.ts`); the streams know none of
 * those.
 *
 * @example
 * const ctx: ProcessContext = { ...ports, report: (o) => (o.type === 'committed' ? commits.push(o.op.id) : undefined) };
 */
export type ProcessOutcome =
  | AttemptOutcome
  /** A request for this op is on the wire. */
  | { readonly type: 'sending'; readonly opId: OpId }
  /**
   * The op waits until `nextAttemptAt` (epoch ms): a wait stored by an
   * earlier session (no `error`), or a restart after storage trouble.
   */
  | { readonly type: 'waiting'; readonly opId: OpId; readonly nextAttemptAt: number; readonly error?: ErrorInfo }
  /** A failed attempt is retried after `delayMs`; the op (persisted) holds the new budget count and `lastError`. */
  | {
      readonly type: 'backoff';
      readonly at: number;
      readonly op: PendingOp;
      readonly delayMs: number;
      /** True when the wait came from a server `Retry-After`. */
      readonly retryAfter: boolean;
      readonly nextAttemptAt: number;
      readonly error: ErrorInfo;
    }
  /** The op left the queue committed: the server's 2xx (`data`, decoded), or its key was already in the ledger. */
  | { readonly type: 'committed'; readonly at: number; readonly op: PendingOp; readonly fromLedger: false; readonly data: unknown }
  | { readonly type: 'committed'; readonly at: number; readonly op: PendingOp; readonly fromLedger: true }
  /** The op was moved to `failed_ops` (`record.reason` says why); `message` is the fixed user-facing text. */
  | {
      readonly type: 'failed';
      readonly at: number;
      readonly op: PendingOp;
      readonly error: ErrorInfo;
      readonly message: string;
      readonly record: FailedRecord;
    }
  /**
   * A domain conflict and what reconciliation decided: `retry` (the op stays,
   * rewritten with a new key), `drop` (removed) or `fail` (moved to
   * `failed_ops` as `record`).
   */
  | {
      readonly type: 'conflict';
      readonly at: number;
      readonly op: PendingOp;
      readonly error: ErrorInfo;
      readonly message: string;
      readonly resolution: 'retry' | 'drop';
    }
  | {
      readonly type: 'conflict';
      readonly at: number;
      readonly op: PendingOp;
      readonly error: ErrorInfo;
      readonly message: string;
      readonly resolution: 'fail';
      readonly record: FailedRecord;
    }
  /** The app cancelled the op while it waited: it left the queue unsent (moved to `failed_ops` as `cancelled`, then discarded). */
  | { readonly type: 'cancelled'; readonly at: number; readonly op: PendingOp }
  /** Credentials were refused (a second 401, a failed or timed-out refresh): why. */
  | { readonly type: 'authFailed'; readonly error: ErrorInfo }
  /** Processing waits for credentials; reported once every earlier settlement has landed. */
  | { readonly type: 'authRequired'; readonly at: number };
