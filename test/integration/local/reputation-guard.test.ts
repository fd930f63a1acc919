import { PauseReason, PausedBy } from '../../../lambdas/core/outcomes';
import { LOCAL_REPUTATION_ALARM_NAMES, type LocalPipeline } from '../../../local/local-pipeline';
import { parseScenario } from '../../../local/scenario-file';
import { runScenario } from '../../../local/scenario-runner';
import { explainPause } from '../../../cli/src/ops/pause-cause';
import { renderStatus } from '../../../cli/src/ops/render';
import { readStatus } from '../../../cli/src/ops/status';

jest.setTimeout(240_000);

const SENDS = 20;
const ids = Array.from({ length: SENDS }, (_, i) => `R${String(i + 1).padStart(2, '0')}`);
const members = ids.map((memberId) => ({ memberId, email: `${memberId.toLowerCase()}@example.org`, status: 'active' }));
const message = (dispatchId: string, memberId: string) => ({
  dispatchId,
  memberId,
  to: `${memberId.toLowerCase()}@example.org`,
  template: 'advice-nurse-reply',
  data: {},
});

/** Pause state and what `status` prints after a step, while the pipeline runs. */
async function pauseAfter(pipeline: LocalPipeline) {
  // The local alarm evaluates each EMF line as it arrives; the breaker it fires runs just after.
  for (let i = 0; i < 50 && !(await pipeline.pauseSwitch.read()).paused; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const status = await readStatus(pipeline.opsTarget);
  const alarms = pipeline.alarmStatus().alarms.map((alarm) => alarm.name);
  const flag = await pipeline.pauseSwitch.read();
  return { paused: flag.paused, cause: flag.cause, explained: explainPause(flag.cause, alarms), printed: renderStatus(status) };
}

describe('the reputation guard, through the local pipeline (feedback function → ReputationBreached → alarm → breaker)', () => {
  it(`pauses with reason bounce-rate once hard bounces reach the threshold over ${SENDS} sends, not before`, async () => {
    const scenario = parseScenario({
      name: 'reputation-guard-bounces',
      steps: [
        { putMembers: members },
        { publish: ids.map((id) => message(`rg-${id}`, id)) },
        { drain: { maxSeconds: 120 } },
        // 1 of 20 sends: 5 %, below the 10 % set here.
        { sesFeedback: [{ dispatchId: 'rg-R01', type: 'Bounce', bounceType: 'Permanent' }] },
        // Transient bounces are not hard bounces: AWS's rate does not count them, nor does the guard.
        {
          sesFeedback: [
            { dispatchId: 'rg-R03', type: 'Bounce', bounceType: 'Transient' },
            { dispatchId: 'rg-R04', type: 'Delivery' },
          ],
        },
        // 2 of 20: 10 %.
        { sesFeedback: [{ dispatchId: 'rg-R02', type: 'Bounce', bounceType: 'Permanent' }] },
        { publish: [message('rg-after', 'R05')] },
        { drain: { maxSeconds: 30 } },
      ],
    });
    const after: Awaited<ReturnType<typeof pauseAfter>>[] = [];
    const { report } = await runScenario(scenario, {
      concurrency: 1,
      reputation: { windowSends: SENDS, bounceRatePercent: 10, complaintRatePercent: 5 },
      afterStep: async (index, pipeline) => {
        if (index >= 3 && index <= 5) after.push(await pauseAfter(pipeline));
      },
    });
    expect(report.counts.sent).toBe(SENDS);
    expect(after[0].paused).toBe(false);
    expect(after[1].paused).toBe(false);
    expect(after[2]).toMatchObject({
      paused: true,
      cause: { by: PausedBy.Breaker, reason: PauseReason.BounceRate, alarmName: LOCAL_REPUTATION_ALARM_NAMES.bounce },
    });
    expect(after[2].explained).toMatch(/reputation guard: .* the pipeline's own \(over its last sends\) hard-bounce rate/);
    expect(after[2].printed).toContain('reputation guard');
    expect(after[2].printed).not.toContain('NOT UNDERSTOOD');
    // Paused: the message published after the trip waits in the queue, nothing more is sent.
    expect(report.outcomes.at(-1)).toMatchObject({ dispatchId: 'rg-after', state: 'pending' });
    expect(report.paused).toBe(true);
  });

  it('pauses with reason complaint-rate on complaints over the window', async () => {
    const scenario = parseScenario({
      name: 'reputation-guard-complaints',
      steps: [
        { putMembers: members },
        { publish: ids.map((id) => message(`rc-${id}`, id)) },
        { drain: { maxSeconds: 120 } },
        { sesFeedback: [{ dispatchId: 'rc-R07', type: 'Complaint' }] },
      ],
    });
    let after: Awaited<ReturnType<typeof pauseAfter>> | undefined;
    await runScenario(scenario, {
      concurrency: 1,
      reputation: { windowSends: SENDS, bounceRatePercent: 10, complaintRatePercent: 5 },
      afterStep: async (index, pipeline) => {
        if (index === 3) after = await pauseAfter(pipeline);
      },
    });
    expect(after).toMatchObject({
      paused: true,
      cause: { by: PausedBy.Breaker, reason: PauseReason.ComplaintRate, alarmName: LOCAL_REPUTATION_ALARM_NAMES.complaint },
    });
    expect(after?.explained).toMatch(/complaint rate/);
  });
});
