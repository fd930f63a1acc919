import { LOCAL_CONTROL_URL_ENV } from '../../../cli/src/ops/local-control';
import type { PauseResult } from '../../../cli/src/ops/pause';
import type { ResumeResult } from '../../../cli/src/ops/resume';
import type { StatusReport } from '../../../cli/src/ops/status';
import { LOCAL_FAN_IN_ALARM_NAME } from '../../../local/alarm-evaluator';
import { LOCAL_REPUTATION_ALARM_NAMES } from '../../../local/local-pipeline';
import { startNpmRunLocal, type NpmRunLocal } from '../../support/npm-run-local';
import { json, runOpsCli } from '../ops/run-ops-cli';

jest.setTimeout(240_000);

/** `npm run local` as a process, driven by the ops CLI with only the variables it printed. */
describe('npm run local (local/serve.ts)', () => {
  let local: NpmRunLocal | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    local = await startNpmRunLocal();
    env = { ...local.env, MAIL_DISPATCH_OPERATOR: 'dana' };
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('prints the control endpoint with the other variables, and takes port 0 as any free port', () => {
    expect(env[LOCAL_CONTROL_URL_ENV]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SESV2']) {
      expect(Number(new URL(env[name] as string).port)).toBeGreaterThan(0);
    }
    expect(local?.banner).toContain(`alarm ${LOCAL_FAN_IN_ALARM_NAME}`);
  });

  it('prints the outcome feed queue and the aws sqs receive-message line that reads it', () => {
    const sqs = env.AWS_ENDPOINT_URL_SQS as string;
    expect(local?.banner).toMatch(new RegExp(`outcome feed +${sqs}/\\S*mail-dispatch-outcomes`));
    expect(local?.banner).toMatch(
      new RegExp(`aws sqs receive-message --endpoint-url ${sqs} --region us-east-1 --queue-url ${sqs}/\\S*mail-dispatch-outcomes`),
    );
  });

  it('ops status sees the poller and the local fan-in alarm', async () => {
    const status = json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env));
    expect(status.mapping).toEqual({ enabled: true });
    expect(status.alarms).toEqual([
      { name: LOCAL_FAN_IN_ALARM_NAME, state: 'OK' },
      // The reputation guard's alarms on the pipeline's own rates.
      { name: LOCAL_REPUTATION_ALARM_NAMES.bounce, state: 'OK' },
      { name: LOCAL_REPUTATION_ALARM_NAMES.complaint, state: 'OK' },
    ]);
  });

  it('ops pause disables the poller and ops resume enables it again, recording who', async () => {
    const paused = json<PauseResult>(await runOpsCli(['--local', '--json', 'pause', '--reason', 'drill'], env));
    expect(paused).toMatchObject({ newlyPaused: true, mapping: 'disabled' });
    expect(json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env))).toMatchObject({
      mapping: { enabled: false },
      pause: { paused: true, by: 'operator:dana', reason: 'drill' },
    });

    const resumed = json<ResumeResult>(await runOpsCli(['--local', '--json', 'resume'], env));
    expect(resumed).toMatchObject({ resumedBy: 'operator:dana', mapping: 'enabled', overridden: [] });
    expect(json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env))).toMatchObject({
      mapping: { enabled: true },
      pause: { paused: false, resumedBy: 'operator:dana' },
    });
  });
});
