/**
 * The verification harness over the real dispatcher (issue 13), randomised part: a fixed,
 * seeded budget of schedules per configuration, shrunk to a minimal failing choice list on a
 * violation (the seed and the list reproduce it; the trace reads as a story).
 */
import { RANDOM } from './configs';
import { newStats, randomSchedules } from './harness';

jest.setTimeout(300_000);

const SEED = 20000802;
/** ≥ 2,000 schedules in all (issue 13's budget for `npm test`). */
const RUNS_PER_CONFIG = Number(process.env.VERIFY_RANDOM_RUNS ?? Math.ceil(2000 / RANDOM.length));

describe('verification harness: seeded randomised schedules', () => {
  for (const [i, c] of RANDOM.entries()) {
    it(`randomised (seed ${SEED + i}, ${RUNS_PER_CONFIG} schedules): ${c.name}`, async () => {
      const stats = newStats();
      const { failure } = await randomSchedules({ config: c, runs: RUNS_PER_CONFIG, seed: SEED + i }, stats);
      if (failure) throw new Error(failure);
      console.log(
        `random "${c.name}": ${stats.schedules} schedules, ${stats.interleavings.size} distinct interleavings, ${stats.steps} steps, ` +
          `${stats.checks} checks, 0 violations`,
      );
      expect(stats.schedules).toBe(RUNS_PER_CONFIG);
      expect(stats.interleavings.size).toBeGreaterThan(RUNS_PER_CONFIG / 4);
    });
  }
});
