import { VirtualTimeScheduler } from 'rxjs';
import { BusyQueue, retryWhileBusy } from '../../src/node/busy-queue';
import { StorageError } from '../../src/errors/sync-error';

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/** Run the virtual scheduler until `p` settles (each wait resolves a promise, which schedules the next). */
async function settle<T>(scheduler: VirtualTimeScheduler, p: Promise<T>): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  for (let i = 0; i < 1000 && !done; i++) {
    await Promise.resolve();
    scheduler.flush();
  }
  return watched;
}

describe('retryWhileBusy', () => {
  it('retries while SQLITE_BUSY, waiting on the scheduler (5 ms doubling to 100 ms), never on the thread', async () => {
    const scheduler = new VirtualTimeScheduler();
    const triedAt: number[] = [];
    const result = retryWhileBusy(
      () => {
        triedAt.push(scheduler.now());
        if (triedAt.length < 7) throw busy();
        return 'ok';
      },
      { scheduler, timeoutMs: 5_000 },
    );
    expect(triedAt).toEqual([0]); // the first try is synchronous; the rest wait for the scheduler
    expect(await settle(scheduler, result)).toBe('ok');
    expect(triedAt).toEqual([0, 5, 15, 35, 75, 155, 255]);
  });

  it('gives up at the deadline with StorageError(busy), the SQLite error as cause; other errors are not retried', async () => {
    const scheduler = new VirtualTimeScheduler();
    let tries = 0;
    const err = await settle(
      scheduler,
      retryWhileBusy(
        () => {
          tries += 1;
          throw busy();
        },
        { scheduler, timeoutMs: 250 },
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ reason: 'busy', retryable: true });
    expect((err as StorageError).cause).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(scheduler.now()).toBe(250);
    expect(tries).toBe(7); // 0, 5, 15, 35, 75, 155, 250

    let once = 0;
    const io = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    await expect(
      retryWhileBusy(
        () => {
          once += 1;
          throw io;
        },
        { scheduler, timeoutMs: 250 },
      ),
    ).rejects.toBe(io);
    expect(once).toBe(1);
  });
});

describe('BusyQueue', () => {
  it('runs at once while the database is free, and keeps call order while a call waits for the lock', async () => {
    const scheduler = new VirtualTimeScheduler();
    const calls = new BusyQueue({ scheduler, timeoutMs: 5_000 });
    const log: string[] = [];
    let locked = true;
    const write = (name: string) => () => {
      if (locked) {
        log.push(`${name}: busy`);
        throw busy();
      }
      log.push(name);
      return name;
    };

    locked = false;
    const free = calls.run(write('free'));
    expect(log).toEqual(['free']); // synchronous, as better-sqlite3 itself
    await free;

    locked = true;
    const first = calls.run(write('first'));
    const second = calls.run(write('second'));
    expect(log).toEqual(['free', 'first: busy']); // second waits behind first, untried
    await Promise.resolve();
    scheduler.flush();
    locked = false;
    const both = Promise.all([first, second]);
    expect(await settle(scheduler, both)).toEqual(['first', 'second']);
    expect(log.filter((l) => !l.endsWith('busy'))).toEqual(['free', 'first', 'second']);

    // Idle again: the next call runs synchronously.
    log.length = 0;
    void calls.run(write('after'));
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    void calls.run(write('later'));
    expect(log).toContain('later');
  });

  it('measures each queued call against its own deadline: a long-locked database fails them all by then, not one after another', async () => {
    const scheduler = new VirtualTimeScheduler();
    const calls = new BusyQueue({ scheduler, timeoutMs: 300 });
    const always = () => {
      throw busy();
    };
    const results = Promise.allSettled([calls.run(always), calls.run(always), calls.run(always)]);
    const settled = await settle(scheduler, results);
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(scheduler.now()).toBe(300);
  });
});
