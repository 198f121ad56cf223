import { switchMap, type Observable } from 'rxjs';
import { marbles } from 'rxjs-marbles/jest';
import { switchTo } from '../../streams/switch-to';

/**
 * `switchTo(source, project)` must behave exactly like
 * `source.pipe(switchMap(project))`: each case runs both and expects the
 * same values, errors, completion and (inner) subscriptions.
 */
const cases: ReadonlyArray<{ name: string; source: string; inner: string; expected: string; innerSubs: string[] }> = [
  { name: 'one value, inner completes after the source', source: '-a|', inner: '--x|', expected: '---x|', innerSubs: ['-^--!'] },
  { name: 'inner completes before the source', source: '-a---|', inner: '(x|)', expected: '-x---|', innerSubs: ['-(^!)'] },
  { name: 'a new value switches to a new inner', source: '-a-b-----|', inner: '---x|', expected: '------x--|', innerSubs: ['-^-!', '---^---!'] },
  { name: 'inner error is the error', source: '-a--|', inner: '-#', expected: '--#', innerSubs: ['-^!'] },
  { name: 'source error is the error and ends the inner', source: '-a-#', inner: '-----x|', expected: '---#', innerSubs: ['-^-!'] },
  { name: 'empty source completes at once', source: '|', inner: 'x|', expected: '|', innerSubs: [] },
];

describe('switchTo', () => {
  for (const c of cases) {
    for (const [label, apply] of [
      ['switchTo', (s: Observable<string>, f: (v: string) => Observable<string>) => switchTo(s, f)],
      ['switchMap', (s: Observable<string>, f: (v: string) => Observable<string>) => s.pipe(switchMap(f))],
    ] as const) {
      it(
        `${c.name} (${label})`,
        marbles((m) => {
          const source = m.cold(c.source);
          const inner = m.cold(c.inner);
          m.expect(apply(source, () => inner)).toBeObservable(c.expected);
          m.expect(inner).toHaveSubscriptions(c.innerSubs);
        }),
      );
    }
  }

  it(
    'a throwing project is the error',
    marbles((m) => {
      const boom = new Error('boom');
      m.expect(
        switchTo(m.cold('-a|'), () => {
          throw boom;
        }),
      ).toBeObservable('-#', {}, boom);
    }),
  );

  it(
    'unsubscribing ends source and inner',
    marbles((m) => {
      const source = m.cold('-a-----|');
      const inner = m.cold('-----x|');
      m.expect(switchTo(source, () => inner), '^--!').toBeObservable('---');
      m.expect(source).toHaveSubscriptions('^--!');
      m.expect(inner).toHaveSubscriptions('-^-!');
    }),
  );
});
