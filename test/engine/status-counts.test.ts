import { map, timer } from 'rxjs';
import { marbles } from 'rxjs-marbles/jest';
import { EngineHarness } from '../support/engine-harness';
import { MemoryStorePort } from '../support/memory-store-port';

describe('status counts', () => {
  afterEach(() => jest.restoreAllMocks());

  test(
    'a counts read that a change raced is read again, so pending never drifts from the store',
    marbles((m) => {
      // The store reads its counts at call time but answers 10 ms later: a
      // change landing in between is not in the answer.
      jest.spyOn(MemoryStorePort.prototype, 'counts').mockImplementation(function (this: MemoryStorePort) {
        const snapshot = { pending: this.data.pending.size, failed: this.data.failed.size };
        return timer(10, m.scheduler).pipe(map(() => snapshot));
      });
      const h = new EngineHarness(m.scheduler); // reads counts at 0
      h.at(5, () => h.enqueue('a'));
      h.at(7, () => h.enqueue('b'));
      m.flush();
      expect(h.store.data.pending.size).toBe(2);
      expect(h.status.pending).toBe(2);
    }),
  );
});
