import { sentUnder } from '../../src/op/sent-under';

describe('sentUnder: the ops sent while an account is signed in', () => {
  test.each([
    ['its own op', 'ada', 'ada', true],
    ["another account's op", 'ada', 'bob', false],
    ['an op with no account, under any account', undefined, 'bob', true],
    ['an op with no account, with none signed in', undefined, null, true],
    ["an account's op, with none signed in", 'ada', null, false],
  ] as const)('%s', (_name, accountId, account, sent) => {
    expect(sentUnder(accountId === undefined ? {} : { accountId }, account)).toBe(sent);
  });
});
