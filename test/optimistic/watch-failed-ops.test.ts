import { firstValueFrom, filter } from 'rxjs';
import { userMessageFor } from '../../src/errors/user-messages';
import { CORRUPT_RECORD_MESSAGE, failedRecordMessage, watchFailedOps } from '../../src/optimistic/watch-failed-ops';
import { FakeEngine } from './fake-engine';

describe('watchFailedOps', () => {
  it('lists the dead-letter queue with user messages and follows retry and discard', async () => {
    const engine = new FakeEngine();
    await engine.enqueue({ type: 'todo.create', payload: { id: 'a' } });
    await engine.enqueue({ type: 'todo.create', payload: { id: 'b' } });
    const failed$ = watchFailedOps(engine);
    const seen: number[] = [];
    failed$.subscribe((list) => seen.push(list.length));
    await firstValueFrom(failed$); // the initial (empty) list

    engine.fail(engine.queue[0].id);
    engine.fail(engine.queue[0].id);
    const two = await firstValueFrom(failed$.pipe(filter((l) => l.length === 2)));
    expect(two.map((r) => r.message)).toEqual([userMessageFor('permanent'), userMessageFor('permanent')]);

    await engine.failedOps.retry(two[0].id);
    await engine.failedOps.discard(two[1].id);
    await firstValueFrom(failed$.pipe(filter((l) => l.length === 0)));
    expect(seen[0]).toBe(0);
    expect(seen).toContain(2);
    expect(seen.at(-1)).toBe(0);
  });

  it('gives quarantined records their own message', () => {
    expect(failedRecordMessage({ id: 'x', reason: 'corrupt', error: null, attempts: 0, failedAt: 0, raw: '{' })).toBe(
      CORRUPT_RECORD_MESSAGE,
    );
    expect(
      failedRecordMessage({ id: 'x', reason: 'exhausted', error: { kind: 'server', status: 503 }, attempts: 5, failedAt: 0 }),
    ).toBe(userMessageFor('server'));
  });
});
