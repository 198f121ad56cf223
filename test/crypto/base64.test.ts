import fc from 'fast-check';
import { fromBase64, toBase64 } from '../../src/crypto/base64';

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
