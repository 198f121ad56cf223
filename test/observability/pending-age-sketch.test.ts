import fc from 'fast-check';
import { PendingAgeSketch } from '../../src/observability/pending-age-sketch';

const exactAgeQuantile = (createdAts: number[], q: number, now: number): number => {
  const ages = createdAts.map((c) => now - c).sort((a, b) => a - b);
  return ages.length === 0 ? 0 : ages[Math.max(1, Math.ceil(q * ages.length)) - 1]!;
};

describe('PendingAgeSketch', () => {
  it('is 0 when nothing is pending', () => {
    expect(new PendingAgeSketch().ageQuantile(0.99, 5_000)).toBe(0);
  });

  it('ages grow with the clock without new events', () => {
    const s = new PendingAgeSketch();
    [1_000, 2_000, 3_000].forEach((t) => s.add(t));
    expect(s.ageQuantile(0.99, 4_000)).toBe(3_000);
    expect(s.ageQuantile(0.5, 4_000)).toBe(2_000);
    expect(s.ageQuantile(0.99, 10_000)).toBe(9_000);
  });

  it('removing the head (FIFO completion) lowers p99', () => {
    const s = new PendingAgeSketch();
    [1_000, 2_000, 3_000].forEach((t) => s.add(t));
    expect(s.remove(1_000)).toBe(true);
    expect(s.ageQuantile(0.99, 4_000)).toBe(2_000);
    expect(s.remove(999)).toBe(false);
    expect(s.size).toBe(2);
  });

  it('is exact while distinct enqueue times fit in its capacity (property, with removals)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 0, maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.75, 0.99, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        (createdAts, removals, q) => {
          const s = new PendingAgeSketch(64);
          createdAts.forEach((c) => s.add(c));
          const live = [...createdAts];
          for (const r of removals) {
            if (live.length === 0) break;
            const [c] = live.splice(r % live.length, 1);
            s.remove(c!);
          }
          return s.ageQuantile(q, 2_000_000) === exactAgeQuantile(live, q, 2_000_000);
        },
      ),
    );
  });

  it('keeps at most `capacity` ranges for a 10,000-op queue and stays close', () => {
    const s = new PendingAgeSketch(64);
    const createdAts = Array.from({ length: 10_000 }, (_, i) => i * 100); // one op every 100 ms
    createdAts.forEach((c) => s.add(c));
    const now = 1_000_000;
    for (const q of [0.5, 0.99]) {
      const exact = exactAgeQuantile(createdAts, q, now);
      // error bounded by one range's width: 10 000 ops over 64 ranges ≈ 157 ops ≈ 16 s
      expect(Math.abs(s.ageQuantile(q, now) - exact)).toBeLessThanOrEqual(16_000);
    }
    expect(s.size).toBe(10_000);
    expect(s.rangeCount).toBeLessThanOrEqual(64);
    // draining the queue FIFO empties it
    createdAts.forEach((c) => expect(s.remove(c)).toBe(true));
    expect(s.size).toBe(0);
  });
});
