import { VirtualTimeScheduler } from 'rxjs';
import { UNANSWERED_PROBES, holderLiveness } from '../../src/lock/holder-liveness';
import { FakeChannelBus } from '../support/fake-channel-bus';
import { runUntil } from '../support/virtual-time';

/**
 * The holder's liveness, in virtual time: a holder answers each probe from
 * a task on its own scheduler, so a holder whose scheduler does not run
 * (a page frozen without a `freeze` event, paused in a debugger) never
 * answers, while its message events may still be delivered.
 */
describe('holderLiveness', () => {
  const setup = () => {
    const bus = new FakeChannelBus();
    const waiter = new VirtualTimeScheduler();
    const holder = new VirtualTimeScheduler();
    return {
      bus,
      waiter,
      holder,
      waiting: holderLiveness('lock-1', bus.Channel, 1000, waiter),
      holding: holderLiveness('lock-1', bus.Channel, 1000, holder),
    };
  };

  test('a holder whose tasks run answers every probe: no silence, however long', async () => {
    const { waiter, holder, waiting, holding } = setup();
    const stop = holding.serve();
    let silent = false;
    const sub = waiting.silence$.subscribe(() => (silent = true));
    for (let t = 500; t <= 20_000; t += 500) {
      await runUntil(waiter, t);
      await runUntil(holder, t);
    }
    expect(silent).toBe(false);
    sub.unsubscribe();
    stop();
  });

  test(`a holder whose tasks do not run: silence after ${UNANSWERED_PROBES} probes in a row, then complete`, async () => {
    const { waiter, waiting, holding, bus } = setup();
    const stop = holding.serve(); // its scheduler is never run: frozen
    const seen: number[] = [];
    let completed = false;
    waiting.silence$.subscribe({ next: () => seen.push(waiter.frame), complete: () => (completed = true) });
    await runUntil(waiter, 10_000);
    expect(seen).toEqual([UNANSWERED_PROBES * 1000]);
    expect(completed).toBe(true);
    // The probes were delivered to the frozen holder: it just never answered.
    expect(bus.posted.filter((m) => (m.data as { kind: string }).kind === 'ping')).toHaveLength(UNANSWERED_PROBES);
    stop();
    expect(bus.openCount).toBe(0);
  });

  test('no holder at all answers (none serving): silent too; unsubscribing closes the channel', async () => {
    const { waiter, waiting, bus } = setup();
    let silent = false;
    const sub = waiting.silence$.subscribe(() => (silent = true));
    await runUntil(waiter, 2_000);
    expect(silent).toBe(false);
    expect(bus.openCount).toBe(1);
    sub.unsubscribe();
    expect(bus.openCount).toBe(0);
  });

  test('a holder that answers late but before the next probe counts as alive', async () => {
    const { waiter, holder, waiting, holding } = setup();
    const stop = holding.serve();
    let silent = false;
    waiting.silence$.subscribe(() => (silent = true));
    for (let t = 0; t <= 10_000; t += 1000) {
      await runUntil(waiter, t);
      // The holder runs its tasks only every 900 ms (throttled), after the probe went out.
      await runUntil(holder, t + 900);
    }
    expect(silent).toBe(false);
    stop();
  });
});
