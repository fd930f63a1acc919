import fc from 'fast-check';
import { groupClaims } from '../../../lambdas/adapters/claim-groups';
import type { ClaimRequest } from '../../../lambdas/ports';

const claim = (dispatchId: string, memberId: string, fanInKey: string) =>
  ({ message: { dispatchId, memberId }, fanInKey }) as unknown as ClaimRequest;

describe('groupClaims', () => {
  it('puts claims on distinct items in one transaction', () => {
    expect(groupClaims([claim('d1', 'M1', 'f1'), claim('d2', 'M2', 'f2'), claim('d3', 'M3', 'f3')])).toEqual([[0, 1, 2]]);
  });

  it('separates claims that share a member, a dispatchId or a fan-in counter, keeping their order', () => {
    expect(
      groupClaims([
        claim('d1', 'M1', 'f1'),
        claim('d2', 'M1', 'f2'),
        claim('d3', 'M3', 'f3'),
        claim('d1', 'M4', 'f4'),
        claim('d5', 'M5', 'f1'),
      ]),
    ).toEqual([
      [0, 2],
      [1, 3, 4],
    ]);
  });

  it('caps a transaction at 33 claims (99 items)', () => {
    const requests = Array.from({ length: 70 }, (_, i) => claim(`d${i}`, `M${i}`, `f${i}`));
    expect(groupClaims(requests).map((g) => g.length)).toEqual([33, 33, 4]);
  });

  it('never puts one item twice in a transaction, never reorders claims on an item, loses none', () => {
    const arb = fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 6 }), (specs, max) => {
        const requests = specs.map(([d, m, f]) => claim(`d${d}`, `M${m}`, `f${f}`));
        const groups = groupClaims(requests, max);
        expect(groups.flat().sort((a, b) => a - b)).toEqual(requests.map((_, i) => i));
        const groupOf = new Map(groups.flatMap((g, gi) => g.map((i) => [i, gi] as const)));
        for (const g of groups) {
          expect(g.length).toBeLessThanOrEqual(max);
          const keys = g.flatMap((i) => [`m${specs[i][1]}`, `d${specs[i][0]}`, `f${specs[i][2]}`]);
          expect(new Set(keys).size).toBe(keys.length);
        }
        for (let i = 0; i < specs.length; i++)
          for (let j = i + 1; j < specs.length; j++) {
            const share = specs[i][0] === specs[j][0] || specs[i][1] === specs[j][1] || specs[i][2] === specs[j][2];
            if (share) expect(groupOf.get(i)!).toBeLessThan(groupOf.get(j)!);
          }
      }),
      { numRuns: 500 },
    );
  });
});
