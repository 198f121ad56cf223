import fc from 'fast-check';
import { BucketHistogram } from '../../src/observability/bucket-histogram';

const exactQuantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
};

describe('BucketHistogram', () => {
  it('is empty at first', () => {
    const h = new BucketHistogram();
    expect([h.count, h.mean, h.max, h.quantile(0.5), h.quantile(0.99)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('keeps the exact mean and max', () => {
    const h = new BucketHistogram();
    [10, 20, 30, 940].forEach((v) => h.record(v));
    expect(h.count).toBe(4);
    expect(h.mean).toBe(250);
    expect(h.max).toBe(940);
  });

  it('ignores negative and non-finite samples', () => {
    const h = new BucketHistogram();
    [-1, NaN, Infinity].forEach((v) => h.record(v));
    expect(h.count).toBe(0);
  });

  it('p99 of 1..1000 ms is 990 ms within 2%', () => {
    const h = new BucketHistogram();
    for (let v = 1; v <= 1000; v++) h.record(v);
    expect(Math.abs(h.quantile(0.99) - 990) / 990).toBeLessThanOrEqual(0.02);
    expect(Math.abs(h.quantile(0.5) - 500) / 500).toBeLessThanOrEqual(0.02);
  });

  it('uses constant memory: a million samples change counts, not size', () => {
    const h = new BucketHistogram();
    for (let i = 0; i < 1_000_000; i++) h.record(i % 5_000);
    expect(h.count).toBe(1_000_000);
    expect(Math.abs(h.quantile(0.99) - 4_950) / 4_950).toBeLessThanOrEqual(0.02);
  });

  it('quantiles stay within the relative accuracy of the exact nearest-rank quantile (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 10_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.75, 0.99, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        (values, q) => {
          const h = new BucketHistogram(0.02);
          values.forEach((v) => h.record(v));
          const exact = exactQuantile(values, q);
          return Math.abs(h.quantile(q) - exact) <= exact * 0.02 + 1e-9;
        },
      ),
    );
  });

  it('reset forgets everything', () => {
    const h = new BucketHistogram();
    h.record(5);
    h.reset();
    expect([h.count, h.quantile(0.99)]).toEqual([0, 0]);
  });
});
