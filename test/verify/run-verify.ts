/**
 * `npm run verify`: the long budget of the verification harness (issue 13). Runs the exhaustive
 * configurations, then randomised schedules over larger configurations until the budget
 * (VERIFY_SCHEDULES, default 100,000) is spent, and prints: schedules explored, distinct
 * interleavings, steps, invariant checks, violations, wall time. Exits 1 on a violation, with
 * the seed, the shrunk choice list and the trace.
 *
 *   VERIFY_SCHEDULES=100000 VERIFY_SEED=1 npm run verify
 */
import { EXHAUSTIVE, EXHAUSTIVE_LONG, LARGE, RANDOM } from './configs';
import { exhaustiveSchedules, newStats, randomSchedules } from './harness';

async function main(): Promise<void> {
  const budget = Number(process.env.VERIFY_SCHEDULES ?? 100_000);
  const seed = Number(process.env.VERIFY_SEED ?? 20000802);
  const started = Date.now();
  const stats = newStats();
  const report = () => {
    const wall = ((Date.now() - started) / 1000).toFixed(1);
    return (
      `schedules explored ${stats.schedules}, distinct interleavings ${stats.interleavings.size}, steps ${stats.steps}, ` +
      `invariant checks ${stats.checks}, violations ${stats.violations}, truncated ${stats.truncated}, wall time ${wall} s`
    );
  };
  for (const c of [...EXHAUSTIVE, ...EXHAUSTIVE_LONG]) {
    const before = stats.schedules;
    const r = await exhaustiveSchedules(c, { limit: 200_000 }, stats);
    if (r.failure) return fail(r.failure, report());
    console.log(`exhaustive "${c.name}": ${stats.schedules - before} orderings${r.complete ? '' : ' (limit reached)'}`);
  }
  const configs = [...RANDOM, ...LARGE];
  const perConfig = Math.ceil(Math.max(0, budget - stats.schedules) / configs.length);
  const chunk = 2_000;
  for (const [i, c] of configs.entries()) {
    for (let done = 0, round = 0; done < perConfig; done += chunk, round++) {
      const runs = Math.min(chunk, perConfig - done);
      const s = seed + i * 1000 + round;
      const r = await randomSchedules({ config: c, runs, seed: s, maxChoices: 400 }, stats);
      if (r.failure) return fail(r.failure, report());
      console.error(`  "${c.name}" seed ${s}: ${runs} schedules (${report()})`);
    }
    console.log(`random "${c.name}": ${perConfig} schedules`);
  }
  console.log(report());
}

function fail(story: string, summary: string): void {
  console.log(story);
  console.log(summary);
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 2;
});
