import type { OpId } from '../op/pending-op';

/** Audit ticks in a row without a word about the op shown `sending` before it falls back to its stored state. */
export const SENDING_QUIET_TICKS = 2;

/** What the lock holder tells the others of its attempts (a cross-tab `sending` message). */
export interface SendingMessage {
  readonly kind: 'sending';
  readonly opId: OpId;
  /** True: an attempt of `opId` is on the wire (said again every audit tick while it is); false: it ended. */
  readonly sending: boolean;
}

/**
 * An edge of one of the holder's attempts: it `started`, it `failed` (the op
 * waits or leaves as failed), or the server `answered` 2xx (its commit
 * follows, and the `committed` result ends it in every tab).
 */
export type AttemptEdge = 'started' | 'failed' | 'answered';

/** Both sides of "every tab shows what the holder is sending". */
export interface CrossTabSending {
  /**
   * This engine's attempt of `opId` reached `edge`: a start or a failure is
   * told to the others; an answer is not — the op's result, posted once
   * its commit lands, or the next attempt's start ends it there (so a
   * draining holder posts one message per op, not two).
   */
  own(opId: OpId, edge: AttemptEdge): void;
  /** This engine's drain stopped (gate closed, lock lost): what it said it was sending, it is not. */
  ownStopped(): void;
  /** Another engine's `sending` message. */
  heard(message: SendingMessage): void;
  /** The op left the queue (its result or departure seen here): not sent any more. */
  settled(opId: OpId): void;
  /**
   * The audit's clock (`idlePollMs`): the holder says again what it is
   * still sending; a peer's op not said again for more than
   * `SENDING_QUIET_TICKS` ticks is no longer shown (its `sent` message was
   * lost, its holder frozen or gone).
   */
  tick(): void;
}

/**
 * The holder's attempts, shown in every tab: the holder posts `sending`
 * when an attempt starts and when it fails, and again on every audit tick
 * while it lasts; the others show the op as in flight (`show(opId)`, the
 * engine's `status$.inFlight`, hence `pending$`'s `sending`) until it
 * fails, its result or departure arrives, another op is said to be in
 * flight, or nothing was heard of it for
 * more than `SENDING_QUIET_TICKS` ticks — a lost message never leaves an op
 * shown `sending` for good. Without audits (`idlePollMs: 0`) only a later
 * message clears it.
 *
 * ```
 * holder   s------t------t----e        s: started, t: said again, e: failed
 * other    S-------------------C       S: show(op), C: show(undefined)
 * lost e   S-------------------x--x--x-C   (x: quiet ticks)
 * ```
 *
 * @example
 * const sending = createCrossTabSending((m) => port.post(m), (opId) => dispatch({ type: 'peerSending', opId }));
 * sending.own(op.id, 'started');
 */
export function createCrossTabSending(post: (message: SendingMessage) => void, show: (opId: OpId | undefined) => void): CrossTabSending {
  let mine: OpId | undefined;
  let shown: OpId | undefined;
  let quiet = 0;
  const clear = (): void => {
    shown = undefined;
    show(undefined);
  };
  return {
    own(opId, edge) {
      if (edge === 'started') mine = opId;
      else if (mine === opId) mine = undefined;
      if (edge !== 'answered') post({ kind: 'sending', opId, sending: edge === 'started' });
    },
    ownStopped() {
      if (mine === undefined) return;
      const opId = mine;
      mine = undefined;
      post({ kind: 'sending', opId, sending: false });
    },
    heard(message) {
      if (message.sending) {
        quiet = 0;
        if (shown !== message.opId) show((shown = message.opId));
      } else if (shown === message.opId) clear();
    },
    settled(opId) {
      if (shown === opId) clear();
    },
    tick() {
      if (mine !== undefined) post({ kind: 'sending', opId: mine, sending: true });
      if (shown !== undefined && (quiet += 1) > SENDING_QUIET_TICKS) clear();
    },
  };
}
