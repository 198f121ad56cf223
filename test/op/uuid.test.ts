import * as uuid from 'uuid';
import { formatUuid, isUuid, parseUuid, uuidV4, uuidV5, uuidV7 } from '../../src/op/uuid';

// `uuid` (a devDependency now) is the reference these functions replace in the package.
const NAMESPACE = '710631c6-238b-4a21-949d-3d177f3620cb';
const bytes = (seed: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (seed * 97 + i * 31) & 0xff);

describe('uuid', () => {
  it('v5 is the RFC 9562 example and byte for byte the uuid package\'s, ASCII and non-ASCII names', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    for (const name of ['', 'a', 'é→🙂', uuid.v4(), 'x'.repeat(300)]) {
      expect(uuidV5(name, NAMESPACE)).toBe(uuid.v5(name, NAMESPACE));
    }
  });

  it('v4 from given bytes is the uuid package\'s, and random v4s are valid and distinct', () => {
    for (let seed = 0; seed < 50; seed += 1) expect(uuidV4(bytes(seed))).toBe(uuid.v4({ random: bytes(seed) }));
    const many = Array.from({ length: 1000 }, () => uuidV4());
    expect(many.every((u) => uuid.validate(u) && uuid.version(u) === 4)).toBe(true);
    expect(new Set(many).size).toBe(1000);
  });

  it('validates as the uuid package does', () => {
    const cases = [uuid.v4(), uuid.v7(), uuid.v1(), uuid.NIL, uuid.MAX, uuid.v4().toUpperCase(), '', 'not-a-uuid', `${uuid.v4()}x`, '00000000-0000-0000-0000-00000000000g', '3b241101-e2bb-9255-8caf-4136c566a962', '3b241101-e2bb-4255-7caf-4136c566a962', 42];
    for (const c of cases) expect(isUuid(c)).toBe(typeof c === 'string' && uuid.validate(c));
  });

  it('parses and formats as the uuid package does; refuses a malformed one', () => {
    const u = uuid.v4();
    expect([...parseUuid(u)]).toEqual([...uuid.parse(u)]);
    expect(formatUuid(parseUuid(u))).toBe(u);
    expect(() => parseUuid('nope')).toThrow(TypeError);
  });

  it('v7 carries the ms time, version 7 and the variant; stays sorted within a ms and when the clock steps back', () => {
    const t = 1_764_460_800_123;
    const first = uuidV7(t, bytes(1));
    expect(uuid.version(first)).toBe(7);
    expect(parseInt(first.replace(/-/g, '').slice(0, 12), 16)).toBe(t);
    expect('89ab').toContain(first[19]);
    const sameMs = Array.from({ length: 500 }, (_, i) => uuidV7(t, bytes(i)));
    const backwards = Array.from({ length: 50 }, (_, i) => uuidV7(t - 1000, bytes(i)));
    const all = [first, ...sameMs, ...backwards];
    expect([...all].sort()).toEqual(all);
    expect(new Set(all).size).toBe(all.length);
    const later = uuidV7(t + 1, bytes(2));
    expect(later > all[all.length - 1]!).toBe(true);
  });
});
