/**
 * The verification harness over the real dispatcher (issue 13), exhaustive part: every ordering
 * of every choice (which await proceeds, which answer it meets, which fault is injected) of the
 * small configurations, each invariant checked after every step. A failure prints the choice
 * list and the trace as a story.
 */
import { EXHAUSTIVE } from './configs';
import { exhaustiveSchedules } from './harness';

jest.setTimeout(300_000);

describe('verification harness: every interleaving of small configurations', () => {
  for (const c of EXHAUSTIVE) {
    it(`exhaustive: ${c.name}`, async () => {
      const { orderings, complete, failure, stats } = await exhaustiveSchedules(c, { limit: 50_000 });
      if (failure) throw new Error(failure);
      console.log(`exhaustive "${c.name}": ${orderings} orderings, ${stats.steps} steps, ${stats.checks} checks, 0 violations`);
      expect(complete).toBe(true);
      expect(orderings).toBeGreaterThan(1);
    });
  }
});
