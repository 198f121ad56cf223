import { BroadcastChannel as NodeBroadcastChannel } from 'node:worker_threads';
import { broadcastChannelWake, type BroadcastChannelConstructor } from '../../src/engine/wake-port';
import { fakeBroadcastChannels, withoutGlobalBroadcastChannel } from '../support/fake-broadcast-channel';

const NodeChannel = NodeBroadcastChannel as unknown as BroadcastChannelConstructor;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('broadcastChannelWake', () => {
  test('opens one channel lazily, posts a content-free message, delivers its messages on wake$, closes once', () => {
    const { Ctor, made } = fakeBroadcastChannels();
    const port = broadcastChannelWake('sync-engine:app', Ctor)!;
    expect(made).toEqual([]);
    let wakes = 0;
    const sub = port.wake$.subscribe(() => (wakes += 1));
    const sub2 = port.wake$.subscribe(() => undefined);
    port.post();
    port.post();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ name: 'sync-engine:app', posted: [1, 1], listeners: 1 });
    made[0]!.fire();
    expect(wakes).toBe(1);
    port.close();
    port.close();
    expect(made[0]).toMatchObject({ closed: true, listeners: 0 });
    // After close: no new channel, posting is a no-op, wake$ has completed.
    port.post();
    expect(made).toHaveLength(1);
    expect(sub.closed).toBe(true);
    sub2.unsubscribe();
  });

  test('a channel the platform closed does not make post() throw', () => {
    const { Ctor, made } = fakeBroadcastChannels();
    const port = broadcastChannelWake('x', Ctor)!;
    port.post();
    made[0]!.closed = true;
    expect(() => port.post()).not.toThrow();
    port.close();
  });

  test('undefined where the platform has no BroadcastChannel', () => {
    expect(withoutGlobalBroadcastChannel(() => broadcastChannelWake('x'))).toBeUndefined();
  });

  test('over a real BroadcastChannel (Node): wakes the other ports of the same name, never the poster', async () => {
    const a = broadcastChannelWake('sync-engine:wake-test', NodeChannel)!;
    const b = broadcastChannelWake('sync-engine:wake-test', NodeChannel)!;
    const other = broadcastChannelWake('sync-engine:another-store', NodeChannel)!;
    const got = { a: 0, b: 0, other: 0 };
    const subs = [
      a.wake$.subscribe(() => (got.a += 1)),
      b.wake$.subscribe(() => (got.b += 1)),
      other.wake$.subscribe(() => (got.other += 1)),
    ];
    try {
      a.post();
      a.post();
      for (let i = 0; i < 100 && got.b < 2; i += 1) await sleep(10);
      await sleep(50);
      expect(got).toEqual({ a: 0, b: 2, other: 0 });
      b.post();
      for (let i = 0; i < 100 && got.a < 1; i += 1) await sleep(10);
      await sleep(50);
      expect(got).toEqual({ a: 1, b: 2, other: 0 });
    } finally {
      subs.forEach((s) => s.unsubscribe());
      a.close();
      b.close();
      other.close();
    }
  });
});
