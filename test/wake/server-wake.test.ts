import { marbles } from 'rxjs-marbles/jest';
import { Observable } from 'rxjs';
import { isAnnouncement, serverWakeFrom, type ChannelEvent } from '../../src/wake/server-wake';
import { eventSourceWake, type EventSourceConstructor } from '../../src/wake/event-source-wake';
import { EngineHarness } from '../support/engine-harness';
import { FakeChannel } from '../support/fake-channels';
import { fail, ok } from '../support/scripted-transport';

describe('serverWakeFrom (virtual time)', () => {
  test(
    'emits each ready; a dropped channel is reconnected after a backoff wait that grows, and resets once a connection opens',
    marbles((m) => {
      // random 0.5 with ±20 % jitter: exactly base × 2^n.
      const connections = [m.cold<ChannelEvent>('#'), m.cold<ChannelEvent>('#'), m.cold<ChannelEvent>('o 9ms r 9ms #', { o: 'open', r: 'ready' }), m.cold<ChannelEvent>('o 4ms r', { o: 'open', r: 'ready' })];
      let n = 0;
      const wake = serverWakeFrom(() => connections[n++]!, { scheduler: m.scheduler, random: () => 0.5 });
      // 0 drop, 1000 drop, 3000 open, 3010 ready, 3020 drop, 4020 (reset to base) open, 4025 ready.
      m.expect(wake.ready$, '^ 5000ms !').toBeObservable('3010ms r 1014ms r', { r: 'ready' });
      m.expect(connections[2]!).toHaveSubscriptions('3000ms ^ 19ms !');
      m.expect(connections[3]!).toHaveSubscriptions('4020ms ^ 980ms !');
    }),
  );

  test(
    'one connection is shared by every subscriber, and closed when the last leaves',
    marbles((m) => {
      const channel = m.cold<ChannelEvent>('o', { o: 'open' });
      const wake = serverWakeFrom(() => channel, { scheduler: m.scheduler });
      m.expect(wake.ready$, '^ 100ms !').toBeObservable('-');
      m.expect(wake.ready$, '^ 50ms !').toBeObservable('-');
      m.expect(channel).toHaveSubscriptions('^ 100ms !');
    }),
  );

  test(
    'a channel that completes is a drop too: reconnected',
    marbles((m) => {
      let n = 0;
      const wake = serverWakeFrom(() => new Observable<ChannelEvent>((s) => (n++, s.complete())), { scheduler: m.scheduler, random: () => 0.5 });
      m.expect(wake.ready$, '^ 1500ms !').toBeObservable('-');
      m.flush();
      expect(n).toBe(2);
    }),
  );
});

describe('isAnnouncement', () => {
  test.each([
    ['ready', true],
    ['{"type":"ready"}', true],
    ['{"type":"other"}', false],
    ['readyx', false],
    ['{not json', false],
    [42, false],
  ])('%p → %p', (data, expected) => {
    expect(isAnnouncement(data, 'ready')).toBe(expected);
  });
});

describe('the engine with a server push channel (virtual time)', () => {
  test(
    'a queue waiting on a 60 s backoff is sent within 100 ms of the server\'s ready announcement; the channel lives while started',
    marbles((m) => {
      FakeChannel.reset(() => m.scheduler.now());
      const serverWake = eventSourceWake('http://127.0.0.1:8080/events', {
        EventSource: FakeChannel as unknown as EventSourceConstructor,
        scheduler: m.scheduler,
      });
      // Full jitter with random 0.5: a 60 s wait after the first failure.
      const h = new EngineHarness(m.scheduler, { backoff: { baseMs: 120_000, capMs: 120_000 }, serverWake });
      h.server.script(fail(503), ok());
      h.enqueue('a');
      h.engine.start();
      h.at(0, () => FakeChannel.last.fire('open'));
      h.at(5_000, () => FakeChannel.last.fire('ready'));
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(h.status.nextAttemptAt).toBeUndefined();
      const backoff = h.events.find((e) => e.type === 'backoff');
      expect(backoff).toMatchObject({ delayMs: 60_000 });
      const [first, second] = h.server.requests.map((r) => r.sentAt);
      expect(first).toBe(50);
      expect(second).toBe(5_000); // virtual time: in the announcement's own frame (the issue asks ≤ 100 ms)
      expect(h.results.map((r) => r.outcome)).toEqual(['committed']);
      expect(FakeChannel.instances).toHaveLength(1);
      expect(FakeChannel.last.closedAt).toBe(10_000);
    }),
  );
});
