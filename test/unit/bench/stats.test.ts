import fc from 'fast-check';
import { addCounts, median, percentile, perUnit } from '../../../bench/stats';

describe('median', () => {
  it.each([
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('of %o is %d', (values, expected) => expect(median(values)).toBe(expected));

  it('refuses an empty list', () => expect(() => median([])).toThrow(RangeError));

  it('lies between the smallest and the largest value and ignores order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1 }), (values) => {
        const m = median(values);
        expect(m).toBeGreaterThanOrEqual(Math.min(...values));
        expect(m).toBeLessThanOrEqual(Math.max(...values));
        expect(median([...values].reverse())).toBe(m);
      }),
    );
  });
});

describe('perUnit and addCounts', () => {
  it('divides, and gives 0 for nothing sent', () => {
    expect(perUnit(3, 2)).toBe(1.5);
    expect(perUnit(3, 0)).toBe(0);
  });

  it('adds counts key by key', () => expect(addCounts({ sent: 1 }, { sent: 2, retry: 1 })).toEqual({ sent: 3, retry: 1 }));
});

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it.each([
    [50, 50],
    [95, 95],
    [99, 99],
    [100, 100],
    [0, 1],
  ])('p%d of 1..100 is %d (nearest rank)', (p, expected) => expect(percentile(hundred, p)).toBe(expected));

  it('is a measured value, never interpolated', () => expect(percentile([10, 20], 50)).toBe(10));
  it('refuses an empty list and an out-of-range rank', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('never falls as the rank rises', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { minLength: 1 }), fc.integer({ min: 0, max: 99 }), (values, p) => {
        expect(percentile(values, p + 1)).toBeGreaterThanOrEqual(percentile(values, p));
      }),
    );
  });
});
