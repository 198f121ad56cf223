import type { ErrorInfo } from '../errors/sync-error';
import type { OpId } from '../op/pending-op';
import type { StoreChange } from '../store/op-store';
import type { EngineStatus, GateReason } from './sync-engine';

/** Everything the status is made of; `EngineStatus` is its public projection. */
export interface StatusState {
  readonly started: boolean;
  readonly online: boolean;
  readonly lockHeld: boolean;
  readonly authRequired: boolean;
  /** Accounts are in use (`account$`) and none is signed in. */
  readonly signedOut: boolean;
  readonly powerSaving: boolean;
  readonly visible: boolean;
  readonly pending: number;
  readonly failed: number;
  /** A counts read has landed: `pending` is known, not the initial 0. */
  readonly counted: boolean;
  /** Pending ops of another account the drain's last full pass left in place. */
  readonly waitingForAccount: number;
  readonly inFlight?: OpId;
  readonly nextAttemptAt?: number;
  readonly lastError?: ErrorInfo;
  /**
   * The op that `inFlight`, `nextAttemptAt` and an attempt's `lastError`
   * describe (internal). A commit is written while the next op is already
   * sent, so its `settled` may come after the next op's `sending`: it then
   * leaves the next op's fields alone. Until the subject settles (its
   * result emitted) or the drain finds the queue empty, the state is not
   * `synced`: the store's `completed` change comes before the result.
   */
  readonly subject?: OpId;
  /** Keyed drain only (concurrency, batch): ops on the wire now; 0 otherwise. */
  readonly inFlightCount: number;
  /** Keyed drain only: ops waiting before their next try (each blocks its key); 0 otherwise. */
  readonly blockedKeys: number;
  /**
   * The op another engine on the store (the lock holder, another tab) says
   * it is sending (cross-tab `sending` messages); shown as `inFlight` while
   * this engine does not hold the lock.
   */
  readonly peerInFlight?: OpId;
}

/** The tagged actions the status is folded from (`scan(reduceStatus)`). */
export type StatusAction =
  | { readonly type: 'started'; readonly started: boolean }
  | { readonly type: 'online'; readonly online: boolean }
  | { readonly type: 'lock'; readonly held: boolean }
  | { readonly type: 'authRequired'; readonly required: boolean }
  /** Accounts in use: whether none is signed in (`account$` emitted null). */
  | { readonly type: 'account'; readonly signedOut: boolean }
  /** A full pass of the drain over the queue left this many ops of other accounts in place. */
  | { readonly type: 'waitingForAccount'; readonly count: number }
  | { readonly type: 'constraints'; readonly powerSaving: boolean; readonly visible: boolean }
  /** Counts read from the store (resynchronises what `change` maintains). */
  | { readonly type: 'counts'; readonly pending: number; readonly failed: number }
  | { readonly type: 'change'; readonly change: StoreChange['type'] }
  /** A request for this op is on the wire. */
  | { readonly type: 'sending'; readonly opId: OpId }
  /** The head op failed an attempt and waits until `nextAttemptAt`. */
  | { readonly type: 'waiting'; readonly opId: OpId; readonly nextAttemptAt: number; readonly error?: ErrorInfo }
  /** An op left the queue (committed, failed, dropped); possibly after the next op's `sending`. */
  | { readonly type: 'settled'; readonly opId: OpId }
  /** The drain stopped (gate closed): nothing in flight (a settlement may still be landing). */
  | { readonly type: 'idle' }
  /** The drain found the queue empty with every settlement landed and its result emitted. */
  | { readonly type: 'drained' }
  /** A failure that is not an op's (storage, bug): shown until the next success. */
  | { readonly type: 'error'; readonly error: ErrorInfo }
  /** Keyed drain: how many ops are on the wire and how many wait before their next try. */
  | { readonly type: 'load'; readonly inFlight: number; readonly blocked: number }
  /** The lock holder (another engine on the store) is sending this op; none: it is not sending any. */
  | { readonly type: 'peerSending'; readonly opId?: OpId };

/** The state before any input: stopped, online, nothing known. */
export const INITIAL_STATUS_STATE: StatusState = Object.freeze({
  started: false,
  online: true,
  lockHeld: false,
  authRequired: false,
  signedOut: false,
  powerSaving: false,
  visible: true,
  pending: 0,
  failed: 0,
  counted: false,
  waitingForAccount: 0,
  inFlightCount: 0,
  blockedKeys: 0,
});

const nonNegative = (n: number): number => (n > 0 ? n : 0);

/** What an action changes; an optional key present with `undefined` clears it. */
interface Patch {
  readonly started?: boolean;
  readonly online?: boolean;
  readonly lockHeld?: boolean;
  readonly authRequired?: boolean;
  readonly signedOut?: boolean;
  readonly powerSaving?: boolean;
  readonly visible?: boolean;
  readonly pending?: number;
  readonly failed?: number;
  readonly counted?: boolean;
  readonly waitingForAccount?: number;
  readonly inFlight?: OpId | undefined;
  readonly nextAttemptAt?: number | undefined;
  readonly lastError?: ErrorInfo | undefined;
  readonly subject?: OpId | undefined;
  readonly inFlightCount?: number;
  readonly blockedKeys?: number;
  readonly peerInFlight?: OpId | undefined;
}

// Every key of StatusState is written by `next`: adding one fails to compile here.
const everyKeyWritten: Exclude<keyof StatusState, keyof Patch> extends never ? true : never = true;
void everyKeyWritten;

/**
 * The state with `patch` applied. Every state has the same keys in
 * the same order (a cleared optional one holds `undefined`; `toEngineStatus`
 * leaves it out), so the fold, the gate and every status subscriber read
 * one object shape — three folds per op (docs/performance.md, "Why the hot
 * path looks like this").
 */
function next(s: StatusState, p: Patch): StatusState {
  const n: StatusState = {
    started: p.started ?? s.started,
    online: p.online ?? s.online,
    lockHeld: p.lockHeld ?? s.lockHeld,
    authRequired: p.authRequired ?? s.authRequired,
    signedOut: p.signedOut ?? s.signedOut,
    powerSaving: p.powerSaving ?? s.powerSaving,
    visible: p.visible ?? s.visible,
    pending: p.pending ?? s.pending,
    failed: p.failed ?? s.failed,
    counted: p.counted ?? s.counted,
    waitingForAccount: p.waitingForAccount ?? s.waitingForAccount,
    inFlight: 'inFlight' in p ? p.inFlight : s.inFlight,
    nextAttemptAt: 'nextAttemptAt' in p ? p.nextAttemptAt : s.nextAttemptAt,
    lastError: 'lastError' in p ? p.lastError : s.lastError,
    subject: 'subject' in p ? p.subject : s.subject,
    inFlightCount: p.inFlightCount ?? s.inFlightCount,
    blockedKeys: p.blockedKeys ?? s.blockedKeys,
    peerInFlight: 'peerInFlight' in p ? p.peerInFlight : s.peerInFlight,
  };
  // Nothing changed: the same object, so the engine wakes no observer.
  return sameGateInputs(n, s) &&
    n.pending === s.pending &&
    n.failed === s.failed &&
    n.counted === s.counted &&
    n.waitingForAccount === s.waitingForAccount &&
    n.inFlight === s.inFlight &&
    n.nextAttemptAt === s.nextAttemptAt &&
    n.lastError === s.lastError &&
    n.subject === s.subject &&
    n.inFlightCount === s.inFlightCount &&
    n.blockedKeys === s.blockedKeys &&
    n.peerInFlight === s.peerInFlight
    ? s
    : n;
}

/**
 * Same inputs to the gate (`gateReasons` reads only these fields).
 *
 * @example
 * state$.pipe(distinctUntilChanged(sameGateInputs), map(gateReasons));
 */
export function sameGateInputs(a: StatusState, b: StatusState): boolean {
  return (
    a.started === b.started &&
    a.online === b.online &&
    a.lockHeld === b.lockHeld &&
    a.authRequired === b.authRequired &&
    a.signedOut === b.signedOut &&
    a.powerSaving === b.powerSaving &&
    a.visible === b.visible
  );
}

/**
 * New counts, with `waitingForAccount` kept within `pending`: an op that
 * left the queue may have been another account's (`discardAccount`), and
 * a count of waiting ops larger than the queue would let a new op of the
 * signed-in account look settled.
 */
function withPending(s: StatusState, pending: number, failed: number, counted: boolean): StatusState {
  return next(s, { pending, failed, counted, waitingForAccount: Math.min(s.waitingForAccount, pending) });
}

/**
 * The pure status reducer. Counts follow the store's change feed
 * (`appended` +1 pending, `completed` −1, `failed` moves one from pending to
 * failed, `retried` back, `discarded` −1 failed) and are resynchronised by
 * `counts` actions.
 *
 * @example
 * const s = [{ type: 'started', started: true }, { type: 'lock', held: true }].reduce(reduceStatus, INITIAL_STATUS_STATE);
 * toEngineStatus(s).processing; // true
 */
export function reduceStatus(state: StatusState, action: StatusAction): StatusState {
  switch (action.type) {
    case 'started':
      return action.started
        ? next(state, { started: true })
        : next(state, { started: false, inFlight: undefined, nextAttemptAt: undefined });
    case 'online':
      return next(state, { online: action.online });
    case 'lock':
      // Holding the lock, this engine sends: another's word on what is sent is moot.
      return action.held ? next(state, { lockHeld: true, peerInFlight: undefined }) : next(state, { lockHeld: false });
    case 'authRequired':
      return next(state, { authRequired: action.required });
    case 'account':
      return next(state, { signedOut: action.signedOut });
    case 'waitingForAccount':
      return next(state, { waitingForAccount: nonNegative(action.count) });
    case 'constraints':
      return next(state, { powerSaving: action.powerSaving, visible: action.visible });
    case 'counts':
      return withPending(state, nonNegative(action.pending), nonNegative(action.failed), true);
    case 'change':
      switch (action.change) {
        case 'appended':
          return next(state, { pending: state.pending + 1 });
        case 'completed':
          return withPending(state, nonNegative(state.pending - 1), state.failed, state.counted);
        case 'failed':
          return withPending(state, nonNegative(state.pending - 1), state.failed + 1, state.counted);
        case 'retried':
          return next(state, { pending: state.pending + 1, failed: nonNegative(state.failed - 1) });
        case 'discarded':
          return next(state, { failed: nonNegative(state.failed - 1) });
        case 'updated':
          return state;
      }
      return state;
    case 'sending':
      // The previous op's error is moot once the next one is sent: it succeeded.
      return state.subject !== undefined && state.subject !== action.opId
        ? next(state, { inFlight: action.opId, nextAttemptAt: undefined, lastError: undefined, subject: action.opId })
        : next(state, { inFlight: action.opId, nextAttemptAt: undefined, subject: action.opId });
    case 'waiting':
      return action.error === undefined
        ? next(state, { nextAttemptAt: action.nextAttemptAt, inFlight: undefined, subject: action.opId })
        : next(state, { nextAttemptAt: action.nextAttemptAt, inFlight: undefined, lastError: action.error, subject: action.opId });
    case 'settled':
      // A commit landing while the next op is already sent (or waiting).
      if (state.subject !== undefined && state.subject !== action.opId) return state;
      return next(state, { inFlight: undefined, nextAttemptAt: undefined, lastError: undefined, subject: undefined });
    case 'idle':
      return next(state, { inFlight: undefined, nextAttemptAt: undefined, inFlightCount: 0, blockedKeys: 0 });
    case 'drained':
      return next(state, { inFlight: undefined, nextAttemptAt: undefined, subject: undefined, inFlightCount: 0, blockedKeys: 0 });
    case 'error':
      return next(state, { lastError: action.error });
    case 'load':
      return next(state, { inFlightCount: nonNegative(action.inFlight), blockedKeys: nonNegative(action.blocked) });
    case 'peerSending':
      return next(state, { peerInFlight: action.opId });
  }
}

/**
 * Why processing may not run, in a fixed order; empty when it may.
 *
 * @example
 * gateReasons(INITIAL_STATUS_STATE); // ['stopped', 'lockNotHeld']
 */
export function gateReasons(s: StatusState): readonly GateReason[] {
  const reasons: GateReason[] = [];
  if (!s.started) reasons.push('stopped');
  if (!s.online) reasons.push('offline');
  if (!s.lockHeld) reasons.push('lockNotHeld');
  if (s.signedOut) reasons.push('signedOut');
  if (s.authRequired) reasons.push('authRequired');
  // Power saving alone only stretches backoff; with the app hidden it pauses.
  if (s.powerSaving && !s.visible) reasons.push('powerSaving', 'hidden');
  return reasons;
}

/**
 * Pending ops waiting for their account to sign in: every one while signed
 * out, else those of other accounts the drain's last full pass left in
 * place (never more than are pending).
 *
 * @example
 * waitingForAccount(reduceStatus(INITIAL_STATUS_STATE, { type: 'account', signedOut: true })); // 0
 */
export function waitingForAccount(s: StatusState): number {
  return s.signedOut ? s.pending : Math.min(s.waitingForAccount, s.pending);
}

/**
 * Nothing left to sync and nothing owed: the queue's counts are known and
 * every pending op waits for another account (none without accounts), no
 * request is out, and the last op taken has settled with its result
 * emitted (or the drain found the queue empty since). What `whenIdle`
 * waits for, over the whole queue: another account's ops cannot be sent
 * now and do not hold it up (they show in `waitingForAccount`). Failed
 * ops do not count: they are settled.
 *
 * @example
 * isSynced(reduceStatus(INITIAL_STATUS_STATE, { type: 'counts', pending: 0, failed: 2 })); // true
 */
export function isSynced(s: StatusState): boolean {
  return s.counted && s.pending === waitingForAccount(s) && s.inFlight === undefined && s.subject === undefined && s.inFlightCount === 0;
}

/**
 * The public projection of the state (`processing` ⇔ no gate reason;
 * optional fields only when set).
 *
 * @example
 * engine.status$ = state$.pipe(map(toEngineStatus), distinctUntilChanged(sameStatus));
 */
export function toEngineStatus(s: StatusState): EngineStatus {
  const blockedBy = gateReasons(s);
  const status: { -readonly [K in keyof EngineStatus]: EngineStatus[K] } = {
    online: s.online,
    lockHeld: s.lockHeld,
    processing: blockedBy.length === 0,
    authRequired: s.authRequired,
    pending: s.pending,
    failed: s.failed,
    synced: isSynced(s),
    blockedBy,
  };
  const waiting = waitingForAccount(s);
  if (waiting > 0) status.waitingForAccount = waiting;
  // Another engine's op in flight shows only where this one does not send.
  const inFlight = s.inFlight ?? (s.lockHeld ? undefined : s.peerInFlight);
  if (inFlight !== undefined) status.inFlight = inFlight;
  if (s.inFlightCount > 0) status.inFlightCount = s.inFlightCount;
  if (s.blockedKeys > 0) status.blockedKeys = s.blockedKeys;
  if (s.nextAttemptAt !== undefined) status.nextAttemptAt = s.nextAttemptAt;
  if (s.lastError !== undefined) status.lastError = s.lastError;
  return status;
}

/**
 * Same gate reasons in the same order (element by element; no string joins,
 * it runs on every status fold).
 *
 * @example
 * sameReasons(['offline'], ['offline']); // true
 */
export function sameReasons(a: readonly GateReason[], b: readonly GateReason[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Structural equality of two statuses (for `distinctUntilChanged`).
 *
 * @example
 * status$.pipe(distinctUntilChanged(sameStatus));
 */
export function sameStatus(a: EngineStatus, b: EngineStatus): boolean {
  return (
    a.online === b.online &&
    a.lockHeld === b.lockHeld &&
    a.processing === b.processing &&
    a.authRequired === b.authRequired &&
    a.pending === b.pending &&
    a.failed === b.failed &&
    a.synced === b.synced &&
    a.waitingForAccount === b.waitingForAccount &&
    a.inFlight === b.inFlight &&
    a.inFlightCount === b.inFlightCount &&
    a.blockedKeys === b.blockedKeys &&
    a.nextAttemptAt === b.nextAttemptAt &&
    sameReasons(a.blockedBy, b.blockedBy) &&
    a.lastError?.kind === b.lastError?.kind &&
    a.lastError?.status === b.lastError?.status &&
    a.lastError?.code === b.lastError?.code &&
    a.lastError?.retryAfterMs === b.lastError?.retryAfterMs
  );
}
