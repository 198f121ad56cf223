import { marbles } from 'rxjs-marbles/jest';
import { CancelSignal, waitBeforeRetry, type CancelRequest } from '../../streams/wait-before-retry';
import type { PendingOp } from '../../src/op/pending-op';

const op = { id: '018f0000-0000-7000-8000-00000000000a' } as PendingOp;
const request = (opId: string): CancelRequest & { claim: jest.Mock } => ({ opId: opId as PendingOp['id'], claim: jest.fn() });

describe('waitBeforeRetry (virtual time)', () => {
  test(
    'without signals: emits elapsed after ms and completes',
    marbles((m) => {
      m.expect(waitBeforeRetry(500, op, { scheduler: m.scheduler }, true)).toBeObservable('500ms (e|)', { e: 'elapsed' });
    }),
  );

  test(
    'syncNow$ ends an interruptible wait at once, and only the first one counts',
    marbles((m) => {
      const syncNow$ = m.hot('100ms s 9ms s');
      m.expect(waitBeforeRetry(500, op, { scheduler: m.scheduler, syncNow$ }, true)).toBeObservable('100ms (s|)', { s: 'syncNow' });
      m.expect(syncNow$).toHaveSubscriptions('^ 99ms !');
    }),
  );

  test(
    'a wait that is not interruptible (the server\'s Retry-After) does not listen to syncNow$',
    marbles((m) => {
      const syncNow$ = m.hot('100ms s');
      m.expect(waitBeforeRetry(500, op, { scheduler: m.scheduler, syncNow$ }, false)).toBeObservable('500ms (e|)', { e: 'elapsed' });
      m.expect(syncNow$).toHaveSubscriptions([]);
    }),
  );

  test(
    'a cancel request for the op is claimed and ends the wait with CancelSignal(op); one for another op is ignored',
    marbles((m) => {
      const other = request('018f0000-0000-7000-8000-0000000000ff');
      const mine = request(op.id);
      const cancel$ = m.hot('100ms o 99ms c', { o: other, c: mine });
      m.expect(waitBeforeRetry(500, op, { scheduler: m.scheduler, cancel$ }, false)).toBeObservable('200ms #', undefined, new CancelSignal(op));
      m.flush();
      expect(other.claim).not.toHaveBeenCalled();
      expect(mine.claim).toHaveBeenCalledTimes(1);
    }),
  );

  test(
    'a cancel request after the wait ended is not claimed (nobody listens any more)',
    marbles((m) => {
      const mine = request(op.id);
      const cancel$ = m.hot('600ms c', { c: mine });
      m.expect(waitBeforeRetry(500, op, { scheduler: m.scheduler, cancel$ }, true)).toBeObservable('500ms (e|)', { e: 'elapsed' });
      m.flush();
      expect(mine.claim).not.toHaveBeenCalled();
    }),
  );
});
