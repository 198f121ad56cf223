import { marbles } from 'rxjs-marbles/jest';
import { ValidationError } from '../../src/errors/sync-error';
import { eventSourceWake, type EventSourceConstructor } from '../../src/wake/event-source-wake';
import { FakeChannel } from '../support/fake-channels';

const EventSource = FakeChannel as unknown as EventSourceConstructor;

describe('eventSourceWake (virtual time)', () => {
  test(
    'the named event is a ready; an error closes the stream and reopens it after its own backoff wait',
    marbles((m) => {
      FakeChannel.reset(() => m.scheduler.now());
      const wake = eventSourceWake('https://api.example.com/events', { EventSource, scheduler: m.scheduler, random: () => 0.5, event: 'up' });
      const seen: number[] = [];
      const sub = wake.ready$.subscribe(() => seen.push(m.scheduler.now()));
      m.scheduler.schedule(() => FakeChannel.last.fire('up'), 10);
      m.scheduler.schedule(() => FakeChannel.last.fire('ready'), 20); // not the configured name
      m.scheduler.schedule(() => FakeChannel.last.fire('error'), 30);
      m.scheduler.schedule(() => FakeChannel.last.fire('up'), 1_100);
      m.scheduler.schedule(() => sub.unsubscribe(), 2_000);
      m.flush();
      expect(seen).toEqual([10, 1_100]);
      expect(FakeChannel.instances.map((c) => [c.url, c.openedAt, c.closedAt])).toEqual([
        ['https://api.example.com/events', 0, 30],
        ['https://api.example.com/events', 1_030, 2_000],
      ]);
    }),
  );

  test('refuses an insecure URL, and a platform without EventSource unless one is given', () => {
    expect(() => eventSourceWake('http://api.example.com/events', { EventSource })).toThrow(ValidationError);
    expect(() => eventSourceWake('http://localhost:8080/events', { EventSource })).not.toThrow();
    expect(() => eventSourceWake('https://api.example.com/events')).toThrow(/no EventSource/);
  });
});
