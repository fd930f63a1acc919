import { parseScenario } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

const message = (dispatchId: string) => ({ dispatchId, memberId: 'R1', to: 'r1@example.org', template: 'advice-nurse-reply', data: {} });

describe('the releaseInDoubt step', () => {
  it('12.5: releaseInDoubt makes an in-doubt dispatchId sendable again; one that SES accepted stays unsent', async () => {
    const scenario = parseScenario({
      name: 'release-in-doubt-step',
      steps: [
        { putMembers: [{ memberId: 'R1', email: 'r1@example.org', status: 'active' }] },
        // SES answers 5xx and sent nothing / SES accepted and the caller saw a 5xx: both in doubt.
        { fault: { target: 'ses', kind: 'error-5xx', times: 1 } },
        { publish: [message('rid-1')] },
        { drain: { maxSeconds: 60 } },
        { fault: { target: 'ses', kind: 'error-5xx-after-send', times: 1 } },
        { publish: [message('rid-2')] },
        { drain: { maxSeconds: 60 } },
        { releaseInDoubt: { dispatchIds: ['rid-1', 'rid-2'] } },
        { publish: [message('rid-1'), message('rid-2')] },
        { drain: { maxSeconds: 60 } },
      ],
    });
    const lines: string[] = [];
    const { report } = await runScenario(scenario, { concurrency: 1, log: (line) => lines.push(line) });
    expect(report.outcomes.map((o) => [o.dispatchId, o.state])).toEqual([
      ['rid-1', 'in-doubt'],
      ['rid-2', 'sent'],
      ['rid-1', 'sent'],
      ['rid-2', 'duplicate'],
    ]);
    expect(report.deliveries.map((d) => d.dispatchId).sort()).toEqual(['rid-1', 'rid-2']);
    expect(lines).toContainEqual(expect.stringContaining('not rid-2: not-in-doubt (sent)'));
  }, 180_000);

  it('refuses a releaseInDoubt step without dispatchIds', () => {
    expect(() => parseScenario({ name: 'x', steps: [{ releaseInDoubt: { dispatchIds: [] } }] })).toThrow(/steps\.0/);
  });
});
