/**
 * The verification harness over the real dispatcher (issue 13): exhaustive enumeration of small
 * configurations and seeded randomised schedules, every invariant checked after every step.
 * A failure prints the seed, the shrunk choice list and the trace as a story.
 */
import { EXHAUSTIVE, RANDOM } from './configs';
import { exhaustiveSchedules, newStats, randomSchedules } from './harness';

jest.setTimeout(120_000);

const SEED = 20000802;
const RANDOM_RUNS = Number(process.env.VERIFY_RANDOM_RUNS ?? 1000);

describe('verification harness: the real dispatcher under every interleaving', () => {
  for (const c of EXHAUSTIVE) {
    it(`exhaustive: ${c.name}`, async () => {
      const { orderings, complete, failure, stats } = await exhaustiveSchedules(c, { limit: 50_000 });
      if (failure) throw new Error(failure);
      console.log(`exhaustive "${c.name}": ${orderings} orderings, ${stats.steps} steps, ${stats.checks} checks, 0 violations`);
      expect(complete).toBe(true);
      expect(orderings).toBeGreaterThan(1);
    });
  }

  for (const [i, c] of RANDOM.entries()) {
    it(`randomised (seed ${SEED + i}, ${RANDOM_RUNS} schedules): ${c.name}`, async () => {
      const stats = newStats();
      const { failure } = await randomSchedules({ config: c, runs: RANDOM_RUNS, seed: SEED + i }, stats);
      if (failure) throw new Error(failure);
      console.log(`random "${c.name}": ${stats.schedules} schedules, ${stats.interleavings.size} distinct interleavings, ${stats.steps} steps, ${stats.checks} checks, 0 violations`);
      expect(stats.schedules).toBe(RANDOM_RUNS);
      expect(stats.interleavings.size).toBeGreaterThan(RANDOM_RUNS / 10);
    });
  }
});
