import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { LocalPipeline } from '../../../local/local-pipeline';
import { LOCAL_CONTROL_URL_ENV, startLocalControlServer, type LocalControlServer } from '../../../cli/src/ops/local-control';
import type { AuditReport } from '../../../cli/src/ops/audit';
import type { ImportReport } from '../../../cli/src/ops/members';
import type { StatusReport } from '../../../cli/src/ops/status';
import { putMembersRaw } from '../../support/members';
import { json, runOpsCli } from './run-ops-cli';

jest.setTimeout(180_000);

const MEMBERS = Array.from({ length: 12 }, (_, i) => `K${String(i + 1).padStart(2, '0')}`);

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The runbook's FanInSpike drill against the whole local pipeline (real poller, dispatcher,
 * alarm and breaker), driven only through the CLI: 12 members written raw onto one address,
 * the breaker pauses, on-call audits the address, fixes the registry through the guard, resumes.
 */
describe('FanInSpike drill through the CLI (LocalPipeline + control endpoint)', () => {
  let pipeline: LocalPipeline;
  let control: LocalControlServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The drill is the dispatcher's own fan-in guard: the registry watch (12.2c) would pause on the raw
    // writes before any message flows, so it is off here, as when the watch lags or has failed.
    pipeline = await LocalPipeline.start({
      config: { fanInLimit: 3 },
      concurrency: 2,
      visibilityTimeoutSeconds: 5,
      alarmPeriodMs: 500,
      registryWatch: false,
    });
    // As `npm run local` (local/serve.ts) starts it.
    control = await startLocalControlServer({ eventSource: pipeline.eventSource, alarms: () => pipeline.alarmStatus() });
    env = { ...pipeline.aws.env, [LOCAL_CONTROL_URL_ENV]: control.url, MAIL_DISPATCH_OPERATOR: 'oncall' };
  });
  afterAll(async () => {
    await control?.stop();
    await pipeline?.stop();
  });

  it('pauses on fan-in, shows why, lists the affected members, and resumes only after the fix', async () => {
    const { aws } = pipeline;
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      MEMBERS.map((memberId) => ({ memberId, email: 'shared@example.org', status: 'active' })),
    );
    await aws.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: aws.queueUrl,
        Entries: MEMBERS.slice(0, 10).map((memberId, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({
            dispatchId: `drill-${memberId}`,
            memberId,
            to: 'shared@example.org',
            template: 'advice-nurse-reply',
            data: {},
          }),
        })),
      }),
    );
    await waitFor(async () => !(await pipeline.eventSource.isEnabled()), 60_000);

    const status = json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env));
    expect(status.mapping).toEqual({ enabled: false });
    expect(status.pause).toMatchObject({
      paused: true,
      by: 'dispatcher',
      reason: 'fan-in-limit',
      addressHash: expect.stringMatching(/^[0-9a-f]{32}$/),
    });

    const audit = json<AuditReport>(await runOpsCli(['--local', '--json', 'audit', '--address-hash', status.pause.addressHash!], env));
    const sent = audit.rows.filter((r) => r.state === 'sent');
    expect(sent.length).toBeLessThanOrEqual(3);
    expect(audit.rows.filter((r) => r.state === 'blocked').every((r) => r.reason === 'fan-in-limit')).toBe(true);
    expect((await aws.sesStore()).length).toBe(sent.length);

    // The registry guard will not take the corrupt state back: importing it refuses all but three.
    const corrupt = json<ImportReport>(
      await runOpsCli(
        ['--local', '--json', 'members', 'import', '-'],
        env,
        `memberId,email,status\n${MEMBERS.map((m) => `${m},shared@example.org,active`).join('\n')}\n`,
      ),
    );
    expect(corrupt.refused.length).toBe(MEMBERS.length - 1);
    expect(corrupt.refused.every((r) => r.reason === 'address-shared')).toBe(true);
    // The source of truth: one address each.
    const fixed = await runOpsCli(
      ['--local', '--json', 'members', 'import', '-'],
      env,
      `memberId,email,status\n${MEMBERS.map((m) => `${m},${m.toLowerCase()}@example.org,active`).join('\n')}\n`,
    );
    expect(fixed.code).toBe(0);

    await waitFor(async () => pipeline.alarm.state === 'OK', 10_000);
    const resumed = await runOpsCli(['--local', 'resume'], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('fan-in limit for address');
    expect(await pipeline.eventSource.isEnabled()).toBe(true);
    expect((await pipeline.pauseSwitch.read()).paused).toBe(false);
  });
});
