/**
 * Each hole of issue 12 switched back on (test/verify/mutations.ts) must be caught by the
 * harness, with a readable trace, while the same configuration passes on the real code: a
 * harness that passes a mutation is broken, and this suite fails then.
 */
import { exhaustiveSchedules, randomSchedules } from './harness';
import { MUTATIONS } from './mutations';

jest.setTimeout(300_000);

describe('verification harness: every reopened hole is caught', () => {
  for (const m of MUTATIONS) {
    it(`catches "${m.hole}" and passes the same configuration on the real code`, async () => {
      const search = (patches: typeof m.patches) =>
        m.search === 'random'
          ? randomSchedules({ config: m.config, runs: 600, seed: 13, patches }).then((r) => ({
              ...r,
              orderings: r.stats.schedules,
              complete: true,
            }))
          : exhaustiveSchedules(m.config, { patches, limit: 20_000 });
      const control = await search([]);
      if (control.failure) throw new Error(`the real code fails the mutation's configuration:\n${control.failure}`);
      expect(control.complete).toBe(true);

      const mutant = await search(m.patches);
      if (!mutant.failure) throw new Error(`the harness did not catch "${m.hole}" in ${mutant.orderings} orderings: the harness is broken`);
      console.log(`mutation "${m.hole}" caught after ${mutant.orderings} of ${control.orderings} orderings:\n${mutant.failure}`);
      expect(m.caughtBy.some((name) => mutant.failure!.includes(`--- invariant ${name} broke`))).toBe(true);
    });
  }
});
