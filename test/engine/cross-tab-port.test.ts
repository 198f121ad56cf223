import { BroadcastChannel as NodeBroadcastChannel } from 'node:worker_threads';
import * as t from 'io-ts';
import { Subject } from 'rxjs';
import { createSyncEngine } from '../../src/create-sync-engine';
import { generateStoreKey } from '../../src/crypto/record-cipher';
import { defineMemoryDriver } from '../../src/drivers/memory-driver';
import {
  broadcastChannelCrossTab,
  crossTabWake,
  pollOnlyCrossTab,
  type CrossTabMessage,
  type MessageChannelConstructor,
} from '../../src/engine/cross-tab-port';
import { nodeAesGcm } from '../../src/node/node-aes-gcm';
import type { PendingOp } from '../../src/op/pending-op';
import { defineRoutes } from '../../src/router/op-router';
import { createOpStore } from '../../src/store/create-op-store';
import { fakeBroadcastChannels, withoutGlobalBroadcastChannel } from '../support/fake-broadcast-channel';

const NodeChannel = NodeBroadcastChannel as unknown as MessageChannelConstructor;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const op = { id: 'op-1', txToken: 'tx-1', type: 'todo.create', payload: { id: 'a' } } as unknown as PendingOp;
const appended: CrossTabMessage = { kind: 'change', change: { type: 'appended', op } };

describe('broadcastChannelCrossTab', () => {
  test('opens one channel lazily, wraps what it posts, delivers only its own protocol, survives an uncloneable message, closes once', async () => {
    const { Ctor, made } = fakeBroadcastChannels();
    const port = broadcastChannelCrossTab('sync-engine:tabs:app', Ctor)!;
    expect(port.live).toBe(true);
    expect(made).toEqual([]);
    const got: CrossTabMessage[] = [];
    const sub = port.messages$.subscribe((m) => got.push(m));
    expect(made).toHaveLength(1);
    port.post(appended);
    await Promise.resolve(); // posted at the end of the task
    expect(made[0]!.name).toBe('sync-engine:tabs:app');
    expect(made[0]!.posted).toEqual([{ protocol: 'sync-engine/tabs/1', body: appended }]);
    // A wake port's `1`, another library's message, an unknown kind: ignored.
    for (const foreign of [1, 'hello', null, { protocol: 'other', body: appended }, { protocol: 'sync-engine/tabs/1', body: { kind: 'nope' } }]) made[0]!.fire(foreign);
    made[0]!.fire({ protocol: 'sync-engine/tabs/1', body: appended });
    expect(got).toEqual([appended]);
    made[0]!.throwOnPost = true;
    expect(() => port.post(appended)).not.toThrow();
    await Promise.resolve();
    port.close();
    port.close();
    expect(made[0]!.closed).toBe(true);
    expect(sub.closed).toBe(true);
    port.post(appended); // after close: no new channel
    expect(made).toHaveLength(1);
  });

  test('the messages of one task go out as one channel message, in order; a batch that cannot be cloned goes one by one, losing only the bad one', async () => {
    const { Ctor, made } = fakeBroadcastChannels();
    const port = broadcastChannelCrossTab('sync-engine:tabs:batch', Ctor)!;
    const completed: CrossTabMessage = { kind: 'change', change: { type: 'completed', op } };
    const result: CrossTabMessage = { kind: 'result', result: { opId: op.id, txToken: 'tx-1', type: 'todo.create', outcome: 'committed' } };
    port.post(appended);
    port.post(completed);
    port.post(result);
    expect(made).toEqual([]); // nothing until the task ends
    await Promise.resolve();
    expect(made[0]!.posted).toEqual([{ protocol: 'sync-engine/tabs/1', bodies: [appended, completed, result] }]);
    // The receiving side: each message, in order (and a lone `body` as before).
    const got: CrossTabMessage[] = [];
    port.messages$.subscribe((m) => got.push(m));
    made[0]!.fire({ protocol: 'sync-engine/tabs/1', bodies: [appended, { kind: 'nope' }, completed, result] });
    made[0]!.fire({ protocol: 'sync-engine/tabs/1', body: appended });
    expect(got).toEqual([appended, completed, result, appended]);
    // A batch the channel refuses (one value cannot be cloned): every message goes alone.
    const bad = { kind: 'result', result: { opId: 'op-2', data: () => 1 } } as unknown as CrossTabMessage;
    const carries = (m: unknown, x: unknown): boolean => {
      const { body, bodies } = m as { body?: unknown; bodies?: unknown[] };
      return body === x || (bodies?.includes(x) ?? false);
    };
    made[0]!.refuse = (m) => carries(m, bad);
    made[0]!.posted.length = 0;
    port.post(completed);
    port.post(bad);
    port.post(result);
    await Promise.resolve();
    expect(made[0]!.posted).toEqual([
      { protocol: 'sync-engine/tabs/1', body: completed },
      { protocol: 'sync-engine/tabs/1', body: result },
    ]);
    // close() sends what is left of the task first.
    port.post(appended);
    port.close();
    expect(made[0]!.posted).toEqual([
      { protocol: 'sync-engine/tabs/1', body: completed },
      { protocol: 'sync-engine/tabs/1', body: result },
      { protocol: 'sync-engine/tabs/1', body: appended },
    ]);
  });

  test('undefined where the platform has no BroadcastChannel', () => {
    expect(withoutGlobalBroadcastChannel(() => broadcastChannelCrossTab('x'))).toBeUndefined();
  });

  test('over a real BroadcastChannel (Node): a structured clone reaches the other port of the name, never the poster', async () => {
    const a = broadcastChannelCrossTab('sync-engine:tabs:real', NodeChannel)!;
    const b = broadcastChannelCrossTab('sync-engine:tabs:real', NodeChannel)!;
    const atA: CrossTabMessage[] = [];
    const atB: CrossTabMessage[] = [];
    a.messages$.subscribe((m) => atA.push(m));
    b.messages$.subscribe((m) => atB.push(m));
    a.post(appended);
    await sleep(50);
    a.close();
    b.close();
    expect(atB).toEqual([appended]);
    expect(atA).toEqual([]);
  });
});

describe('crossTabWake and pollOnlyCrossTab', () => {
  test("the channel's wake: another engine's append or retry wakes; nothing else does; posting is a no-op", () => {
    const messages = new Subject<CrossTabMessage>();
    const posted: CrossTabMessage[] = [];
    const wake = crossTabWake({ live: true, post: (m) => posted.push(m), messages$: messages, close: () => undefined });
    let wakes = 0;
    wake.wake$.subscribe(() => (wakes += 1));
    messages.next(appended);
    messages.next({ kind: 'change', change: { type: 'retried', op, failedId: 'old' } });
    messages.next({ kind: 'change', change: { type: 'completed', op } });
    messages.next({ kind: 'result', result: { opId: op.id, txToken: 'tx-1', type: 'todo.create', outcome: 'committed' } });
    expect(wakes).toBe(2);
    wake.post();
    expect(posted).toEqual([]);
  });

  test('pollOnlyCrossTab carries nothing and says so', () => {
    const port = pollOnlyCrossTab();
    expect(port.live).toBe(false);
    let got = 0;
    port.messages$.subscribe(() => (got += 1));
    port.post(appended);
    port.close();
    expect(got).toBe(0);
  });
});

describe('createSyncEngine: the cross-tab channel by default in browsers', () => {
  const routes = defineRoutes({ 'todo.create': { method: 'POST', path: '/todos', payload: t.type({ id: t.string, title: t.string }), response: t.unknown } });
  let n = 0;
  async function engineWith(options: Record<string, unknown>, browser: boolean) {
    n += 1;
    const name = `cross-tab-default-${n}`;
    const store = await createOpStore({ name, driver: await defineMemoryDriver(), encryptionKey: await generateStoreKey(), aesGcm: nodeAesGcm });
    const g = globalThis as { document?: unknown };
    if (browser) g.document = {};
    try {
      const engine = createSyncEngine({ baseUrl: 'https://api.test', routes, store, online$: new Subject<boolean>(), ...options });
      return { engine, store, name };
    } finally {
      delete g.document;
    }
  }
  /** What another tab would hear on the store's channel while `fn` runs. */
  async function heard(name: string, fn: () => Promise<unknown>): Promise<unknown[]> {
    const other = new NodeBroadcastChannel(`sync-engine:tabs:${name}`);
    const got: unknown[] = [];
    other.onmessage = (e) => got.push((e as { data: unknown }).data);
    await fn();
    await sleep(50);
    other.close();
    return got;
  }

  test('in a browser, an engine posts its appends on sync-engine:tabs:<store name>', async () => {
    const { engine, store, name } = await engineWith({}, true);
    const got = await heard(name, () => engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' } }));
    await engine.dispose();
    await store.close();
    expect(got).toEqual([{ protocol: 'sync-engine/tabs/1', body: { kind: 'change', change: { type: 'appended', op: expect.objectContaining({ txToken: expect.any(String) }) } } }]);
  });

  test('crossTab: false turns it off; in Node it is off unless given', async () => {
    for (const [options, browser] of [[{ crossTab: false }, true], [{}, false]] as const) {
      const { engine, store, name } = await engineWith(options, browser);
      const got = await heard(name, () => engine.enqueue({ type: 'todo.create', payload: { id: '1', title: 'x' } }));
      await engine.dispose();
      await store.close();
      expect(got).toEqual([]);
    }
  });

  test('a crossTab that is not a CrossTabPort is refused at construction', async () => {
    await expect(engineWith({ crossTab: { post: () => undefined } }, false)).rejects.toMatchObject({ name: 'ValidationError', reason: 'invalidOptions' });
  });
});
