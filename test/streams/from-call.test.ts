import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { fromCall } from '../../streams/from-call';

describe('fromCall', () => {
  it('calls once per subscription, not before', async () => {
    let calls = 0;
    const value$ = fromCall(async () => ++calls);
    expect(calls).toBe(0);
    expect(await lastValueFrom(value$.pipe(toArray()))).toEqual([1]);
    expect(await firstValueFrom(value$)).toBe(2);
  });

  it('turns a rejection and a synchronous throw into the error', async () => {
    const boom = new Error('boom');
    await expect(firstValueFrom(fromCall(() => Promise.reject(boom)))).rejects.toBe(boom);
    await expect(
      firstValueFrom(
        fromCall((): Promise<number> => {
          throw boom;
        }),
      ),
    ).rejects.toBe(boom);
  });
});
