import { VirtualTimeScheduler } from 'rxjs';
import { ValidationError } from '../../src/errors/sync-error';
import type { PendingOp } from '../../src/op/pending-op';
import { EngineHarness } from '../support/engine-harness';
import { fail, hang, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

// engine.cancel(opId) in virtual time: the storage lock is acquired at t=50,
// every scripted answer takes 10 ms; backoff base 60 s with random 0.5 and
// full jitter waits 30 s after the first failure.

async function setup(...steps: Parameters<EngineHarness['server']['script']>) {
  const scheduler = new VirtualTimeScheduler();
  const h = new EngineHarness(scheduler, { backoff: { baseMs: 60_000, capMs: 120_000 } });
  h.server.script(...steps);
  const ops: PendingOp[] = [];
  for (const id of ['a', 'b', 'c']) ops.push(await h.engine.enqueue({ type: 'todo.create', payload: { id, title: id }, txToken: `tx-${id}` }));
  return { scheduler, h, ops };
}

function settle(p: Promise<void>) {
  const t: { done?: boolean; error?: unknown } = {};
  p.then(
    () => (t.done = true),
    (err: unknown) => (t.error = err),
  );
  return t;
}

describe('engine.cancel (virtual time)', () => {
  test('a queued op behind the one in flight: removed, cancelled result, never sent; the queue goes on in order', async () => {
    const { scheduler, h, ops } = await setup(ok({}, 500), ok(), ok());
    h.engine.start();
    await runUntil(scheduler, 100); // a is in flight until 550; b and c are in the drain's read batch
    const cancelled = settle(h.engine.cancel(ops[1]!.id));
    await runUntil(scheduler, 5_000);
    expect(cancelled).toEqual({ done: true });
    expect(h.sentIds()).toEqual(['a', 'c']);
    expect(h.results.map((r) => `${r.txToken}:${r.outcome}`)).toEqual(['tx-b:cancelled', 'tx-a:committed', 'tx-c:committed']);
    expect(h.results[0]).toMatchObject({ message: 'This change was cancelled.' });
    expect(h.results[0]!.error).toBeUndefined(); // never tried
    expect(h.store.data.failed.size).toBe(0);
    expect(h.eventTypes('cancelled')).toEqual(['cancelled']);
    expect(h.status).toMatchObject({ pending: 0, failed: 0, synced: true });
  });

  test('the op in flight cannot be cancelled: rejects with opInFlight, and it commits', async () => {
    const { scheduler, h, ops } = await setup(ok({}, 500));
    h.engine.start();
    await runUntil(scheduler, 100);
    const cancelled = settle(h.engine.cancel(ops[0]!.id));
    await runUntil(scheduler, 5_000);
    expect(cancelled.error).toBeInstanceOf(ValidationError);
    expect(cancelled.error).toMatchObject({ reason: 'opInFlight' });
    expect((cancelled.error as Error).message).toContain('in flight');
    expect(h.results.map((r) => `${r.txToken}:${r.outcome}`)).toEqual(['tx-a:committed', 'tx-b:committed', 'tx-c:committed']);
  });

  test('the head waiting in backoff is not in flight: its wait ends, it leaves unsent, the next op is sent at once', async () => {
    const { scheduler, h, ops } = await setup(fail(503), ok(), ok());
    h.engine.start();
    await runUntil(scheduler, 1_000); // a failed at 60, waits until 30 060
    expect(h.status.nextAttemptAt).toBe(30_060);
    h.at(1_000, () => void h.engine.cancel(ops[0]!.id));
    await runUntil(scheduler, 5_000);
    expect(h.sentIds()).toEqual(['a', 'b', 'c']);
    expect(h.server.requests.map((r) => r.sentAt)).toEqual([50, 1_000, 1_010]);
    expect(h.results[0]).toMatchObject({ txToken: 'tx-a', outcome: 'cancelled', error: { kind: 'server', status: 503 } });
  });

  test('an op that is not pending (settled already): rejects with unknownOp', async () => {
    const { scheduler, h, ops } = await setup(ok(), ok(), ok());
    h.engine.start();
    await runUntil(scheduler, 5_000);
    const cancelled = settle(h.engine.cancel(ops[0]!.id));
    await runUntil(scheduler, 5_001);
    expect(cancelled.error).toMatchObject({ reason: 'unknownOp' });
    expect(h.results).toHaveLength(3);
  });

  test('an engine that does not hold the processor lock refuses (lockNotHeld): only the holder knows what is in flight', async () => {
    const { scheduler, h, ops } = await setup();
    const cancelled = settle(h.engine.cancel(ops[0]!.id));
    await runUntil(scheduler, 10);
    expect(cancelled.error).toMatchObject({ reason: 'lockNotHeld' });
    expect(h.store.pendingOps()).toHaveLength(3);
  });

  test('a cancel whose write fails rejects, and the op is processed in its turn (FIFO kept)', async () => {
    const { scheduler, h, ops } = await setup(ok({}, 500), ok(), ok());
    h.engine.start();
    await runUntil(scheduler, 100);
    h.store.failNext('fail');
    const cancelled = settle(h.engine.cancel(ops[1]!.id));
    await runUntil(scheduler, 5_000);
    expect(cancelled.error).toMatchObject({ kind: 'storage' });
    expect(h.sentIds()).toEqual(['a', 'b', 'c']);
    expect(h.results.map((r) => r.outcome)).toEqual(['committed', 'committed', 'committed']);
  });
});
