import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

jest.setTimeout(180_000);

describe('proxy consent through the scenario runner, past the guard (12.3)', () => {
  it("12.3: a raw write making another member's own address a proxy is blocked recipient-mismatch; consented and unowned proxies go", async () => {
    const { report } = await runScenario(readScenarioFile(join(__dirname, '../../scenarios', 'proxy-consent-raw.json')), {
      concurrency: 2,
    });
    expect(report.outcomes.map((o) => [o.dispatchId, o.state, o.reason])).toEqual([
      ['raw-typo', 'blocked', 'recipient-mismatch'],
      ['raw-consented', 'sent', undefined],
      ['raw-unowned', 'sent', undefined],
      ['raw-own', 'sent', undefined],
    ]);
    expect(report.deliveries.map((d) => d.to).sort()).toEqual(['caregiver@example.org', 'guardian@example.org', 'mo@example.org']);
    expect(report.paused).toBe(false);
  });
});
