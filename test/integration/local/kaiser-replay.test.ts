import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_SCENARIO } from '../../../local/demo-scenario';
import { summariseReplay } from '../../../local/replay-summary';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

describe('the Kaiser 2000 replay (npm run demo)', () => {
  it('is a byte-for-byte copy of the shared scenario', () => {
    const shared = join(__dirname, '..', '..', '..', '..', 'shared', 'scenarios', 'kaiser-2000-replay.json');
    let original: Buffer | undefined;
    try {
      original = readFileSync(shared);
    } catch {
      // The project must not depend on ../shared at run time: only compare when it is there.
    }
    if (original) expect(readFileSync(DEMO_SCENARIO).equals(original)).toBe(true);
  });

  it('blocks the script backlog, delivers the real backlog once each to its own member, and sends nothing on replay', async () => {
    const scenario = readScenarioFile(DEMO_SCENARIO);
    // Nothing is retried here: a long visibility timeout (= function timeout) keeps a batch slowed
    // down by a busy test machine from timing out (which would, rightly, leave its claims in doubt).
    const run = await runScenario(scenario, { visibilityTimeoutSeconds: 60 });
    expect(run.report.counts).toEqual({ sent: 858, blocked: 858, rejected: 0, duplicate: 858, inDoubt: 0, failed: 0, pending: 0 });
    expect(run.report.deliveries).toHaveLength(858);
    expect(summariseReplay(scenario, run).problems).toEqual([]);
  }, 240_000);
});
