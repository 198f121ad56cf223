import fc from 'fast-check';
import { fromBase64, fromBase64Url, toBase64 } from '../../src/crypto/base64';

describe('base64', () => {
  it('encodes exactly like Buffer and decodes back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b64 = toBase64(bytes);
        expect(b64).toBe(Buffer.from(bytes).toString('base64'));
        expect(fromBase64(b64)).toEqual(new Uint8Array(bytes));
      }),
    );
  });

  it.each(['A', 'AB=', 'A===', '=AAA', 'AA=A', 'AAA!', 'ÀAAA', 'AAAA AAA'])('rejects non-canonical input %j', (s) => {
    expect(fromBase64(s)).toBeNull();
  });
});

describe('base64url', () => {
  it('decodes what Buffer encodes as base64url, unpadded or padded', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const url = Buffer.from(bytes).toString('base64url');
        expect(fromBase64Url(url)).toEqual(new Uint8Array(bytes));
        const padded = url + '='.repeat((4 - (url.length % 4)) % 4);
        expect(fromBase64Url(padded)).toEqual(new Uint8Array(bytes));
      }),
    );
  });

  it.each(['A', 'AAAAA', 'YQ=a', 'Y+Q', 'Y/Q', 'YW J', 'YQ===', '=YQ', 'ÀAA'])('rejects %j', (s) => {
    expect(fromBase64Url(s)).toBeNull();
  });
});
