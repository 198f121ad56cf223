import { marbles } from 'rxjs-marbles/jest';
import { defer, of } from 'rxjs';
import type { LockState, ProcessorLock } from '../../src/lock/processor-lock';
import { releaseWhileSuspended } from '../../src/lock/release-while-suspended';

describe('releaseWhileSuspended', () => {
  test(
    'gives the lock up (reported first, then released) while suspended, and contends again on resume',
    marbles((m) => {
      const held: LockState = { held: true, fencingToken: 1, takeover: false };
      const released: number[] = [];
      const inner: ProcessorLock = {
        hold: () => m.cold('-h', { h: held }),
        release: () => defer(() => (released.push(m.scheduler.now()), of(true))),
      };
      const suspended$ = m.hot('f---t---f---', { f: false, t: true });
      const expected = /*    */ '-h--n----h--';
      m.expect(releaseWhileSuspended(inner, suspended$).hold()).toBeObservable(expected, { h: held, n: { held: false, lost: false } });
      m.flush();
      expect(released).toEqual([4]);
    }),
  );
});
