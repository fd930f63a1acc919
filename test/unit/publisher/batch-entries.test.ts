import fc from 'fast-check';
import { batchEntries } from '../../../publisher/batch-entries';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES } from '../../../publisher/publish-options';
import type { SerialisedDispatch } from '../../../publisher/serialise-dispatch';

const entry = (index: number, bytes: number): SerialisedDispatch => ({ index, dispatchId: `d${index}`, body: '', bytes });

describe('batchEntries', () => {
  it('makes batches of ten', () => {
    const batches = batchEntries(Array.from({ length: 25 }, (_, i) => entry(i, 100)));
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
  });

  it('starts a new batch before the 256 KiB payload limit', () => {
    const batches = batchEntries([entry(0, 100_000), entry(1, 100_000), entry(2, 100_000), entry(3, 62_144)]);
    expect(batches.map((b) => b.map((e) => e.index))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('puts a body of the full limit alone', () => {
    expect(batchEntries([entry(0, 1), entry(1, MAX_BATCH_BYTES), entry(2, 1)]).map((b) => b.length)).toEqual([1, 1, 1]);
  });

  it('returns no batch for no entry', () => {
    expect(batchEntries([])).toEqual([]);
  });

  it('keeps every entry once, in order, within both limits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: MAX_BATCH_BYTES }), { maxLength: 60 }), (sizes) => {
        const entries = sizes.map((bytes, i) => entry(i, bytes));
        const batches = batchEntries(entries);
        expect(batches.flat()).toEqual(entries);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(MAX_BATCH_ENTRIES);
          expect(batch.reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
        }
      }),
    );
  });
});
