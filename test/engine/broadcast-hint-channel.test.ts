import { broadcastChannelCtor, openHintChannel } from '../../src/engine/broadcast-hint-channel';
import { fakeBroadcastChannels, withoutGlobalBroadcastChannel } from '../support/fake-broadcast-channel';

describe('openHintChannel', () => {
  test('opens lazily and once, delivers only what decode accepts, swallows a failed post, closes once and never reopens', () => {
    const { Ctor, made } = fakeBroadcastChannels();
    const channel = openHintChannel('hint', Ctor, (data) => (typeof data === 'number' ? data : undefined));
    expect(made).toEqual([]);
    const got: number[] = [];
    const sub = channel.messages$.subscribe((n) => got.push(n));
    channel.messages$.subscribe(() => undefined);
    channel.post(7);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ name: 'hint', posted: [7], listeners: 1 });
    made[0]!.fire('not a number');
    made[0]!.fire(3);
    expect(got).toEqual([3]);
    made[0]!.throwOnPost = true;
    expect(() => channel.post(8)).not.toThrow();
    channel.close();
    channel.close();
    expect(made[0]).toMatchObject({ closed: true, listeners: 0 });
    expect(sub.closed).toBe(true);
    channel.post(9);
    expect(made).toHaveLength(1);
  });
});

describe('broadcastChannelCtor', () => {
  test('the given constructor first, else the platform one, else undefined', () => {
    const { Ctor } = fakeBroadcastChannels();
    expect(broadcastChannelCtor(Ctor)).toBe(Ctor);
    expect(broadcastChannelCtor(undefined)).toBe((globalThis as { BroadcastChannel?: unknown }).BroadcastChannel);
    expect(withoutGlobalBroadcastChannel(() => broadcastChannelCtor(undefined))).toBeUndefined();
  });
});
