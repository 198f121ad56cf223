import type { OpId } from '../../src/op/pending-op';
import { SENDING_QUIET_TICKS, createCrossTabSending, type SendingMessage } from '../../src/engine/cross-tab-sending';

const op = (n: number) => `op-${n}` as OpId;

function pair() {
  const posted: SendingMessage[] = [];
  const shown: Array<OpId | undefined> = [];
  const holder = createCrossTabSending((m) => posted.push(m), () => undefined);
  const other = createCrossTabSending(() => undefined, (id) => shown.push(id));
  return { posted, shown, holder, other };
}

describe('createCrossTabSending', () => {
  test('the holder says when an attempt starts and fails, and says it again on every tick while it lasts', () => {
    const { posted, holder } = pair();
    holder.own(op(1), 'started');
    holder.tick();
    holder.tick();
    holder.own(op(1), 'failed');
    holder.tick();
    expect(posted).toEqual([
      { kind: 'sending', opId: op(1), sending: true },
      { kind: 'sending', opId: op(1), sending: true },
      { kind: 'sending', opId: op(1), sending: true },
      { kind: 'sending', opId: op(1), sending: false },
    ]);
  });

  test('an answered attempt is not said to have ended (its result ends it in every tab); nor said again on ticks', () => {
    const { posted, shown, holder, other } = pair();
    holder.own(op(1), 'started');
    holder.own(op(1), 'answered');
    holder.tick();
    holder.own(op(2), 'started');
    holder.own(op(2), 'answered');
    expect(posted).toEqual([
      { kind: 'sending', opId: op(1), sending: true },
      { kind: 'sending', opId: op(2), sending: true },
    ]);
    // The other tab: op 1 until op 2's start, op 2 until its result.
    for (const m of posted) other.heard(m);
    other.settled(op(2));
    expect(shown).toEqual([op(1), op(2), undefined]);
  });

  test('a drain that stops says its attempt ended (once); with nothing in flight it says nothing', () => {
    const { posted, holder } = pair();
    holder.ownStopped();
    holder.own(op(1), 'started');
    holder.ownStopped();
    holder.ownStopped();
    expect(posted.map((m) => m.sending)).toEqual([true, false]);
  });

  test('the others show the op until its end, its result or departure; an end for another op changes nothing', () => {
    const { shown, other } = pair();
    other.heard({ kind: 'sending', opId: op(1), sending: true });
    other.heard({ kind: 'sending', opId: op(1), sending: true }); // said again: shown once
    other.heard({ kind: 'sending', opId: op(9), sending: false });
    other.heard({ kind: 'sending', opId: op(1), sending: false });
    other.heard({ kind: 'sending', opId: op(2), sending: true });
    other.settled(op(2));
    other.settled(op(2));
    expect(shown).toEqual([op(1), undefined, op(2), undefined]);
  });

  test(`a lost end: the op falls back after more than ${SENDING_QUIET_TICKS} ticks without a word; a word said again keeps it`, () => {
    const { shown, other } = pair();
    other.heard({ kind: 'sending', opId: op(1), sending: true });
    for (let i = 0; i < 10; i++) {
      other.tick();
      other.heard({ kind: 'sending', opId: op(1), sending: true }); // the holder's tick
    }
    expect(shown).toEqual([op(1)]);
    for (let i = 0; i < SENDING_QUIET_TICKS; i++) other.tick();
    expect(shown).toEqual([op(1)]);
    other.tick();
    expect(shown).toEqual([op(1), undefined]);
  });
});
