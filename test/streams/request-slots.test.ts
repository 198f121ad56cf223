import { marbles } from 'rxjs-marbles/jest';
import { createRequestSlots } from '../../streams/request-slots';

describe('createRequestSlots', () => {
  test(
    'at most `limit` requests subscribed at once, granted in the order asked; a slot frees on complete, error and unsubscribe',
    marbles((m) => {
      const slots = createRequestSlots(2);
      const a = m.cold('-----a|');
      const b = m.cold('--#');
      const c = m.cold('---c|');
      const d = m.cold('-d|');
      m.expect(slots.run(a)).toBeObservable('-----a|');
      m.expect(slots.run(b)).toBeObservable('--#');
      m.expect(slots.run(c)).toBeObservable('-----c|');
      m.expect(slots.run(d)).toBeObservable('-------d|');
      m.expect(a).toHaveSubscriptions('^-----!');
      m.expect(b).toHaveSubscriptions('^-!');
      m.expect(c).toHaveSubscriptions('--^---!');
      m.expect(d).toHaveSubscriptions('------^-!');
    }),
  );

  test(
    'leaving while waiting gives up the place in line; leaving while granted frees the slot',
    marbles((m) => {
      const slots = createRequestSlots(1);
      const a = m.cold('-----a|');
      const b = m.cold('-b|');
      const c = m.cold('-c|');
      m.expect(slots.run(a), '^--!').toBeObservable('---');
      m.expect(slots.run(b), '^-!').toBeObservable('--');
      m.expect(slots.run(c)).toBeObservable('----c|');
      m.expect(a).toHaveSubscriptions('^--!');
      m.expect(b).toHaveSubscriptions([]);
      m.expect(c).toHaveSubscriptions('---^-!');
    }),
  );
});
