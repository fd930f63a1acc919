import { join } from 'node:path';
import { runScenario } from '../../../local/scenario-runner';
import { readScenarioFile } from '../../../local/scenario-file';

/**
 * The 2000 pattern at small scale (issue "Fan-in breaker", done-when): 60 members whose registry
 * entries (written raw, past the registry guard) all point at 3 addresses, fan-in limit 3.
 */
it('pauses with at most 9 deliveries, and every other message blocked or still queued: none lost', async () => {
  const { report } = await runScenario(readScenarioFile(join(__dirname, '../../scenarios/fan-in-60.json')), { concurrency: 2 });
  expect(report.paused).toBe(true);
  expect(report.deliveries.length).toBeLessThanOrEqual(9);
  const perAddress = new Map<string, number>();
  for (const d of report.deliveries) perAddress.set(d.to, (perAddress.get(d.to) ?? 0) + 1);
  for (const count of perAddress.values()) expect(count).toBeLessThanOrEqual(3);
  expect(report.counts.sent).toBe(report.deliveries.length);
  for (const outcome of report.outcomes) {
    expect(['sent', 'blocked', 'pending']).toContain(outcome.state);
    if (outcome.state === 'blocked') expect(outcome.reason).toBe('fan-in-limit');
  }
  expect(report.counts.sent + report.counts.blocked + report.counts.pending).toBe(60);
  expect(report.queueDepth).toBe(report.counts.pending);
  expect(report.dlqDepth).toBe(0);
}, 120_000);
