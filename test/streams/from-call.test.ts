import { defer, firstValueFrom, from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { fromCall } from '../../streams/from-call';

/** `fromCall(fn)` must behave as `defer(() => from(fn()))`: every case runs both. */
const impls: ReadonlyArray<readonly [string, <T>(fn: () => Promise<T>) => Observable<T>]> = [
  ['fromCall', fromCall],
  ['defer + from', (fn) => defer(() => from(fn()))],
];

describe.each(impls)('%s', (_label, make) => {
  it('calls once per subscription, not before', async () => {
    let calls = 0;
    const value$ = make(async () => ++calls);
    expect(calls).toBe(0);
    expect(await lastValueFrom(value$.pipe(toArray()))).toEqual([1]);
    expect(await firstValueFrom(value$)).toBe(2);
  });

  it('turns a rejection and a synchronous throw into the error', async () => {
    const boom = new Error('boom');
    await expect(firstValueFrom(make(() => Promise.reject(boom)))).rejects.toBe(boom);
    await expect(
      firstValueFrom(
        make((): Promise<number> => {
          throw boom;
        }),
      ),
    ).rejects.toBe(boom);
  });

  it('unsubscribed before the promise settles: nothing is delivered', async () => {
    const seen: unknown[] = [];
    let resolve!: (n: number) => void;
    const sub = make(() => new Promise<number>((r) => (resolve = r))).subscribe({
      next: (v) => seen.push(v),
      complete: () => seen.push('complete'),
    });
    sub.unsubscribe();
    resolve(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(seen).toEqual([]);
  });
});
