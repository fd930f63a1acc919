import { join } from 'node:path';
import { readScenarioFile } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

describe('outcome-loop (issue 14, done when)', () => {
  it('gives the portal every fate: blocked, rejected, sent+delivered, sent+bounced (that address then suppressed, the consented proxy still sent), a complaint, a duplicate', async () => {
    const { report } = await runScenario(readScenarioFile(join(__dirname, '..', '..', 'scenarios', 'outcome-loop.json')), {
      concurrency: 1,
    });
    expect(report.outcomes.map((o) => [o.dispatchId, o.state, o.reason])).toEqual([
      ['loop-mismatch', 'blocked', 'recipient-mismatch'],
      ['loop-rejected', 'rejected', 'unknown-template'],
      ['loop-delivered', 'sent', undefined],
      ['loop-bounced', 'sent', undefined],
      ['loop-complained', 'sent', undefined],
      ['loop-after-bounce', 'blocked', 'suppressed'],
      ['loop-proxy', 'sent', undefined],
      ['loop-delivered', 'duplicate', undefined],
    ]);
    expect(report.deliveries.map((d) => d.dispatchId).sort()).toEqual(['loop-bounced', 'loop-complained', 'loop-delivered', 'loop-proxy']);
    expect(report.deliveries.find((d) => d.dispatchId === 'loop-proxy')?.to).toBe('guardian@example.org');

    const eventsOf = (dispatchId: string) =>
      report.outcomeEvents.filter((e) => e.dispatchId === dispatchId).map((e) => (e.reason ? `${e.event}(${e.reason})` : e.event));
    expect(
      Object.fromEntries(
        ['loop-mismatch', 'loop-rejected', 'loop-delivered', 'loop-bounced', 'loop-complained', 'loop-after-bounce', 'loop-proxy'].map(
          (id) => [id, eventsOf(id)],
        ),
      ),
    ).toEqual({
      'loop-mismatch': ['blocked(recipient-mismatch)'],
      'loop-rejected': ['rejected(unknown-template)'],
      'loop-delivered': ['sent', 'delivered', 'duplicate'],
      'loop-bounced': ['sent', 'bounced(permanent)'],
      'loop-complained': ['sent', 'complained'],
      'loop-after-bounce': ['blocked(suppressed)'],
      'loop-proxy': ['sent'],
    });
    // Exactly once per record version: nothing else, nothing twice; and every event names its member.
    expect(report.outcomeEvents).toHaveLength(11);
    expect(report.outcomeEvents.every((e) => e.memberId === (e.dispatchId === 'loop-complained' ? 'L0003' : 'L0001'))).toBe(true);
    expect(JSON.stringify(report.outcomeEvents)).not.toContain('@');
  }, 240_000);
});
