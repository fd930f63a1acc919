import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

jest.setTimeout(180_000);

const run = async (name: string) =>
  (await runScenario(readScenarioFile(join(__dirname, '../../scenarios', `${name}.json`)), { concurrency: 2 })).report;

describe('proxy consent (12.3) through the scenario runner', () => {
  it('12.3: the registry refuses a proxy onto another member’s own mailbox without consent, and the run goes on', async () => {
    const report = await run('proxy-consent');
    expect(report.refusedMembers).toEqual([
      { memberId: 'K0002', reason: 'proxy-not-consented' },
      { memberId: 'M0002', reason: 'proxy-not-consented' },
    ]);
    expect(report.outcomes.map((o) => `${o.dispatchId}:${o.state}${o.reason ? `:${o.reason}` : ''}`)).toEqual([
      'pc-1:sent',
      'pc-2:blocked:unknown-member',
      'pc-3:blocked:unknown-member',
      'pc-4:sent',
    ]);
    expect(report.deliveries.map((d) => `${d.dispatchId}>${d.to}`).sort()).toEqual(['pc-1>guardian@example.org', 'pc-4>m0001@example.org']);
  });
});
