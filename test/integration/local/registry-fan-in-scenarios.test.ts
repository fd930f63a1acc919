import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

jest.setTimeout(180_000);

const run = async (name: string) =>
  (await runScenario(readScenarioFile(join(__dirname, '../../scenarios', `${name}.json`)), { concurrency: 2 })).report;

describe('registry watch through the scenario runner (12.2c)', () => {
  it('12.2c: a raw write of 12 members onto one mailbox (+tag and case variants, limit 3) pauses before any message is sent', async () => {
    const report = await run('registry-fan-in-raw');
    expect(report.paused).toBe(true);
    expect(report.deliveries).toEqual([]);
    expect(report.counts).toMatchObject({ sent: 0, pending: 12 });
    expect(report.queueDepth).toBe(12);
  });

  it('12.2c: at the limit mail flows; the raw write that takes the mailbox past it pauses before its message goes', async () => {
    const report = await run('registry-fan-in-at-limit');
    expect(report.outcomes.map((o) => `${o.dispatchId}:${o.state}`)).toEqual([
      'tag-01:sent',
      'tag-02:sent',
      'tag-03:sent',
      'tag-04:pending',
    ]);
    expect(report.deliveries).toHaveLength(3);
    expect(report.paused).toBe(true);
  });
});
