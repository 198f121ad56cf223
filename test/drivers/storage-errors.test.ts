import { isSqliteBusy, toStorageError } from '../../src/drivers/storage-errors';
import { StorageError } from '../../src/errors/sync-error';

describe('toStorageError', () => {
  it.each([
    ['SQLITE_BUSY', true],
    ['SQLITE_BUSY_SNAPSHOT', true],
    ['SQLITE_LOCKED', true],
    ['SQLITE_LOCKED_SHAREDCACHE', true],
    ['SQLITE_FULL', false],
    ['SQLITE_BUSYNESS', false],
    [undefined, false],
  ])('isSqliteBusy(%s) is %s', (code, expected) => {
    expect(isSqliteBusy(Object.assign(new Error('x'), { code }))).toBe(expected);
  });

  it.each([
    [{ code: 'SQLITE_BUSY' }, 'busy'],
    [{ code: 'SQLITE_LOCKED' }, 'busy'],
    [{ code: 'SQLITE_FULL' }, 'quota'],
    [{ name: 'QuotaExceededError' }, 'quota'],
    [{ code: 'SQLITE_IOERR' }, 'unavailable'],
  ])('maps %j to StorageError(%s), keeping the original as cause', (raw, reason) => {
    const err = toStorageError(Object.assign(new Error('x'), raw));
    expect(err).toBeInstanceOf(StorageError);
    expect(err.reason).toBe(reason);
    expect(err.cause).toMatchObject(raw);
  });
});
