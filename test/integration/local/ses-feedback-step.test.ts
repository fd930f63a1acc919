import { parseScenario } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

const message = (dispatchId: string, memberId = 'S1', to = 's1@example.org') => ({
  dispatchId,
  memberId,
  to,
  template: 'advice-nurse-reply',
  data: {},
});

describe('the sesFeedback step', () => {
  it('reports SES events through the real feedback handler: a permanent bounce blocks the next message to that address', async () => {
    const scenario = parseScenario({
      name: 'ses-feedback-step',
      steps: [
        { putMembers: [{ memberId: 'S1', email: 's1@example.org', status: 'active' }] },
        { publish: [message('fb-1'), message('fb-2')] },
        { drain: { maxSeconds: 60 } },
        // fb-never was never published: SES never accepted it, and its event changes nothing.
        {
          sesFeedback: [
            { dispatchId: 'fb-1', type: 'Delivery' },
            { dispatchId: 'fb-never', type: 'Bounce', bounceType: 'Permanent' },
          ],
        },
        { publish: [message('fb-3')] },
        { drain: { maxSeconds: 60 } },
        { sesFeedback: [{ dispatchId: 'fb-2', type: 'Bounce', bounceType: 'Permanent' }] },
        { publish: [message('fb-4')] },
        { drain: { maxSeconds: 60 } },
      ],
    });
    const lines: string[] = [];
    const { report } = await runScenario(scenario, { concurrency: 1, log: (line) => lines.push(line) });
    expect(report.outcomes.map((o) => [o.dispatchId, o.state, o.reason])).toEqual([
      ['fb-1', 'sent', undefined],
      ['fb-2', 'sent', undefined],
      ['fb-3', 'sent', undefined],
      ['fb-4', 'blocked', 'suppressed'],
    ]);
    expect(lines).toContainEqual(expect.stringContaining('SES never accepted fb-never'));
  }, 120_000);

  it('refuses an unknown SES event type with the step path', () => {
    expect(() => parseScenario({ name: 'x', steps: [{ sesFeedback: [{ dispatchId: 'd', type: 'Open' }] }] })).toThrow(/steps\.0/);
  });
});
