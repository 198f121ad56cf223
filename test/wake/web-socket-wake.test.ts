import { marbles } from 'rxjs-marbles/jest';
import { ValidationError } from '../../src/errors/sync-error';
import { webSocketWake, type WebSocketConstructor } from '../../src/wake/web-socket-wake';
import { FakeChannel } from '../support/fake-channels';

const WebSocket = FakeChannel as unknown as WebSocketConstructor;

describe('webSocketWake (virtual time)', () => {
  test(
    'a "ready" message (text or JSON type) is a ready, others are ignored; a closed socket is reopened after a backoff wait',
    marbles((m) => {
      FakeChannel.reset(() => m.scheduler.now());
      const wake = webSocketWake('wss://api.example.com/ws', { WebSocket, scheduler: m.scheduler, random: () => 0.5 });
      const seen: number[] = [];
      const sub = wake.ready$.subscribe(() => seen.push(m.scheduler.now()));
      m.scheduler.schedule(() => FakeChannel.last.fire('message', 'ready'), 10);
      m.scheduler.schedule(() => FakeChannel.last.fire('message', '{"type":"ready"}'), 20);
      m.scheduler.schedule(() => FakeChannel.last.fire('message', '{"type":"todo.changed"}'), 30);
      m.scheduler.schedule(() => FakeChannel.last.fire('close'), 40);
      m.scheduler.schedule(() => FakeChannel.last.fire('message', 'ready'), 1_500);
      m.scheduler.schedule(() => sub.unsubscribe(), 2_000);
      m.flush();
      expect(seen).toEqual([10, 20, 1_500]);
      expect(FakeChannel.instances.map((c) => [c.openedAt, c.closedAt])).toEqual([
        [0, 40],
        [1_040, 2_000],
      ]);
    }),
  );

  test('refuses ws:// to a non-loopback host, and a platform without WebSocket unless one is given', () => {
    expect(() => webSocketWake('ws://api.example.com/ws', { WebSocket })).toThrow(ValidationError);
    expect(() => webSocketWake('ws://127.0.0.1:8080/ws', { WebSocket })).not.toThrow();
    const had = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      expect(() => webSocketWake('wss://api.example.com/ws')).toThrow(/no WebSocket/);
    } finally {
      if (had !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = had;
    }
  });
});
