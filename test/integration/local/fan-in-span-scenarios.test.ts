import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

jest.setTimeout(180_000);

/** The fan-in promise through the scenario runner, with its `clock` step driving the dispatcher's now. */
const run = async (name: string) =>
  (await runScenario(readScenarioFile(join(__dirname, '../../scenarios', `${name}.json`)), { concurrency: 2 })).report;

describe('fan-in span scenarios (clock step, raw registry writes)', () => {
  it('12.2a: a burst across midnight is one burst (six members two seconds apart, limit 3)', async () => {
    const report = await run('fan-in-midnight');
    expect(report.deliveries).toHaveLength(3);
    const states = report.outcomes.map((o) => o.state);
    expect(states.slice(0, 4)).toEqual(['sent', 'sent', 'sent', 'blocked']);
    // After the block the pipeline pauses: a message already being decided is blocked too, the rest
    // wait in the queue; none is sent (which of the two depends on where the pause lands).
    for (const state of states.slice(4)) expect(['blocked', 'pending']).toContain(state);
    expect(report.outcomes[3]).toMatchObject({ reason: 'fan-in-limit' });
    expect(report.paused).toBe(true);
  });

  it('12.2a: three new members a day are blocked where the span says, and allowed once it has moved on', async () => {
    const report = await run('fan-in-span-days');
    expect(report.outcomes.map((o) => `${o.dispatchId}:${o.state}`)).toEqual([
      'day1-A1:sent',
      'day1-A2:sent',
      'day1-A3:sent',
      // Day 2, 08:00: A1-A3 were mailed 23 hours ago.
      'day2-B1:blocked',
      // Day 2, 10:00: they have left the span; B1's corrected re-publish is sent.
      'day2-B1:sent',
      'day2-B2:sent',
      'day2-B3:sent',
      // Day 3, 09:59: B1-B3 were mailed 23 h 59 min ago.
      'day3-C1:blocked',
    ]);
    expect(report.deliveries).toHaveLength(6);
    expect(report.paused).toBe(true);
  });

  it('12.2b: the registry guard takes +tag sub-addresses for one mailbox: one owner, one e-mail', async () => {
    const report = await run('fan-in-plus-tag');
    expect(report.refusedMembers).toHaveLength(11);
    expect(report.refusedMembers.every((r) => r.reason === 'address-shared')).toBe(true);
    expect(report.deliveries).toHaveLength(1);
    expect(report.counts).toMatchObject({ sent: 1, blocked: 11 });
  });
});
