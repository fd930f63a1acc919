import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

/**
 * One scenario per fault kind (test/scenarios/fault-*.json): ten members, the fault armed, the
 * ten messages published, drained, then published again. Whatever the fault, every message is
 * delivered at most once and only to its member, nothing is left behind, and the re-publish
 * sends nothing. Only a send whose outcome was lost may stay in doubt, never more than the fault
 * itself caused.
 */
const cases: [string, number][] = [
  ['fault-ses-throttle', 0],
  ['fault-ses-error', 0],
  // 12.4: two 5xx with nothing sent stay in-doubt; two accepted before the 5xx are reconciled to sent.
  ['fault-ses-5xx', 2],
  ['fault-ses-timeout-after-send', 2],
  ['fault-ses-crash-after-send', 1],
  ['fault-dynamodb-throttle', 0],
  ['fault-sqs-duplicate-delivery', 0],
];

describe.each(cases)('%s', (name, maxInDoubt) => {
  it('delivers each message at most once, to its member, and loses none', async () => {
    const { report } = await runScenario(readScenarioFile(join(__dirname, '../../scenarios', `${name}.json`)), { concurrency: 2 });
    const first = report.outcomes.slice(0, 10);
    const again = report.outcomes.slice(10);
    const perDispatch = new Map<string, number>();
    for (const d of report.deliveries) {
      perDispatch.set(String(d.dispatchId), (perDispatch.get(String(d.dispatchId)) ?? 0) + 1);
      expect(d.to).toBe(`fault${String(d.memberId).slice(1)}@example.org`);
    }
    for (const count of perDispatch.values()) expect(count).toBe(1);
    expect(first.every((o) => o.state === 'sent' || o.state === 'in-doubt')).toBe(true);
    expect(first.filter((o) => o.state === 'in-doubt').length).toBeLessThanOrEqual(maxInDoubt);
    expect(report.counts.sent).toBe(report.deliveries.length);
    expect(again.every((o) => o.state === 'duplicate' || o.state === 'in-doubt')).toBe(true);
    expect(report).toMatchObject({ published: 20, queueDepth: 0, dlqDepth: 0, paused: false });
    if (name === 'fault-ses-5xx') {
      // Exactly what the faults caused: no 5xx was retried, and only the accepted ones reached SES.
      expect(first.filter((o) => o.state === 'in-doubt')).toHaveLength(2);
      expect(report.deliveries).toHaveLength(8);
      const inDoubt = new Set(first.filter((o) => o.state === 'in-doubt').map((o) => o.dispatchId));
      expect(report.deliveries.filter((d) => inDoubt.has(d.dispatchId))).toEqual([]);
    }
  }, 180_000);
});
