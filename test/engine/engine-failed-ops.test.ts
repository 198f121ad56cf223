import { VirtualTimeScheduler } from 'rxjs';
import { EngineHarness } from '../support/engine-harness';
import { fail, ok } from '../support/scripted-transport';
import { runUntil } from '../support/virtual-time';

describe('engine.failedOps.retryAll / discardAll (virtual time)', () => {
  async function twoFailed() {
    const scheduler = new VirtualTimeScheduler();
    const h = new EngineHarness(scheduler);
    h.server.script(fail(404), fail(422), ok(), ok());
    h.enqueue('a');
    h.enqueue('b');
    h.engine.start();
    await runUntil(scheduler, 1_000);
    expect(h.results.map((r) => `${r.txToken}:${r.outcome}`)).toEqual(['tx-a:failed', 'tx-b:failed']);
    return { scheduler, h };
  }

  test('retryAll re-queues every record in the original order under new op ids; results correlate by txToken', async () => {
    const { scheduler, h } = await twoFailed();
    const failedIds = [...h.store.data.failed.keys()];
    let retried: readonly { id: string; txToken: string }[] = [];
    void h.engine.failedOps.retryAll().then((ops) => (retried = ops));
    await runUntil(scheduler, 2_000);
    expect(retried.map((op) => op.txToken)).toEqual(['tx-a', 'tx-b']);
    expect(retried.map((op) => op.id)).not.toContain(failedIds[0]);
    expect(h.sentIds()).toEqual(['a', 'b', 'a', 'b']);
    expect(h.results.slice(2).map((r) => [r.txToken, r.outcome, r.opId])).toEqual([
      ['tx-a', 'committed', retried[0]!.id],
      ['tx-b', 'committed', retried[1]!.id],
    ]);
    expect(h.status).toMatchObject({ pending: 0, failed: 0 });
  });

  test('retryAll leaves a corrupt record (no op) for discard; discardAll drops every record and says how many', async () => {
    const { scheduler, h } = await twoFailed();
    h.store.data.failed.set('raw', { id: 'raw', reason: 'corrupt', error: { kind: 'storage', code: 'corrupt' }, attempts: 0, failedAt: 0, raw: 'x' });
    let retried = -1;
    void h.engine.failedOps.retryAll().then((ops) => (retried = ops.length));
    await runUntil(scheduler, 2_000);
    expect(retried).toBe(2);
    expect([...h.store.data.failed.keys()]).toEqual(['raw']);
    let discarded = -1;
    void h.engine.failedOps.discardAll().then((n) => (discarded = n));
    await runUntil(scheduler, 2_001);
    expect(discarded).toBe(1);
    expect(h.store.data.failed.size).toBe(0);
  });
});
