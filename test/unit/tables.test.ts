import fc from 'fast-check';
import { AuditDay, LEDGER_TABLE } from '../../lambdas/tables';

describe('AuditDay', () => {
  const day = '2026-11-23';

  it('puts a record on one of the shards of the day it was claimed, the same one every time', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        (pk, at) => {
          const iso = at.toISOString();
          const partition = AuditDay.of(iso, pk);
          expect(AuditDay.partitions(iso.slice(0, 10))).toContain(partition);
          expect(partition).not.toBe(iso.slice(0, 10));
          expect(AuditDay.of(iso, pk)).toBe(partition);
        },
      ),
    );
  });

  it('keeps the shard a record has across runtimes and releases (the hash is pinned)', () => {
    // FNV-1a 32: a change here moves new records to other shards (harmless to readers, which read
    // them all), but it should be a decision, not an accident.
    expect(['d-1', 'd-2', 'rejected#sqs-1', 'dispatch-000123'].map((pk) => AuditDay.of(`${day}T10:00:00.000Z`, pk))).toEqual([
      `${day}#${fnv('d-1')}`,
      `${day}#${fnv('d-2')}`,
      `${day}#${fnv('rejected#sqs-1')}`,
      `${day}#${fnv('dispatch-000123')}`,
    ]);
    expect(AuditDay.of(`${day}T10:00:00.000Z`, 'a')).toBe(`${day}#4`);
  });

  it('spreads a day of dispatch ids evenly over the shards', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 8000; i++) {
      const partition = AuditDay.of(`${day}T00:00:00.000Z`, `bench-${String(i).padStart(6, '0')}`);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
    }
    expect(counts.size).toBe(LEDGER_TABLE.byDayIndex.shards);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
    for (const count of counts.values()) expect(count).toBeLessThan(1200);
  });

  it('lists the bare day first (records from before the sharding), then every shard', () => {
    expect(AuditDay.partitions(day)).toEqual([day, ...Array.from({ length: 8 }, (_, n) => `${day}#${n}`)]);
  });
});

/** The reference FNV-1a 32 (offset basis 2166136261, prime 16777619), mod the shard count. */
function fnv(text: string): number {
  let hash = 2166136261n;
  for (const char of text) hash = ((hash ^ BigInt(char.charCodeAt(0))) * 16777619n) % 2n ** 32n;
  return Number(hash % BigInt(LEDGER_TABLE.byDayIndex.shards));
}
