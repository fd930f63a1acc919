import { parseScenario } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';

const message = (dispatchId: string) => ({ dispatchId, memberId: 'S1', to: 's1@example.org', template: 'advice-nurse-reply', data: {} });

describe('the scenario report of a message dead-lettered with no recorded end (issue 14)', () => {
  it('14: shows it failed, still in the DLQ, and its failed(dead-lettered) event in outcomeEvents, once', async () => {
    const scenario = parseScenario({
      name: 'dlq-watch-report',
      config: { maxReceiveCount: 2 },
      steps: [
        { putMembers: [{ memberId: 'S1', email: 's1@example.org', status: 'active' }] },
        { publish: [message('dws-ok')] },
        { drain: { maxSeconds: 60 } },
        // From here every DynamoDB call of the dispatcher is throttled: on no receive can it record anything.
        { fault: { target: 'dynamodb', kind: 'throttle', times: 100000 } },
        { publish: [message('dws-dead')] },
        { drain: { maxSeconds: 120 } },
      ],
    });
    const { report } = await runScenario(scenario, { concurrency: 1 });
    expect(report.outcomes.map((o) => [o.dispatchId, o.state])).toEqual([
      ['dws-ok', 'sent'],
      ['dws-dead', 'failed'],
    ]);
    expect(report.dlqDepth).toBe(1);
    expect(report.outcomeEvents).toEqual([
      { dispatchId: 'dws-ok', memberId: 'S1', event: 'sent' },
      { dispatchId: 'dws-dead', memberId: 'S1', event: 'failed', reason: 'dead-lettered' },
    ]);
  }, 300_000);
});
