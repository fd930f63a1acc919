import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { LedgerKey } from '../../../lambdas/tables';
import type { EventSourceSwitch } from '../../../lambdas/ports';
import { LOCAL_FAN_IN_ALARM_NAME } from '../../../local/alarm-evaluator';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { LOCAL_CONTROL_URL_ENV, startLocalControlServer, type LocalControlServer } from '../../../cli/src/ops/local-control';
import type { AlarmStatus } from '../../../cli/src/ops/target';
import type { StatusReport } from '../../../cli/src/ops/status';
import { json, runOpsCli } from './run-ops-cli';

/** Stands in for the local poller behind `npm run local`'s control endpoint. */
class PollerSwitch implements EventSourceSwitch {
  enabled = true;
  async enable() {
    this.enabled = true;
  }
  async disable() {
    this.enabled = false;
  }
  async isEnabled() {
    return this.enabled;
  }
}

describe('mail-dispatch status / pause / resume (CLI process, local pipeline)', () => {
  let aws: EmbeddedAws;
  let control: LocalControlServer;
  let poller: PollerSwitch;
  let fanInState: AlarmStatus['state'];
  let pauseSwitch: DynamoDbPauseSwitch;
  let env: Record<string, string>;

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    poller = new PollerSwitch();
    control = await startLocalControlServer({
      eventSource: poller,
      alarms: () => ({
        fanInAlarmName: LOCAL_FAN_IN_ALARM_NAME,
        alarms: [{ name: LOCAL_FAN_IN_ALARM_NAME, state: fanInState, since: '2000-08-02T09:20:00.000Z' }],
      }),
    });
    pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    env = { ...aws.env, [LOCAL_CONTROL_URL_ENV]: control.url, MAIL_DISPATCH_OPERATOR: 'alice' };
  });
  afterAll(async () => {
    await control?.stop();
    await aws?.stop();
  });
  beforeEach(async () => {
    fanInState = 'OK';
    poller.enabled = true;
    await pauseSwitch.resume('test-reset', new Date());
  });

  it('status reports queues, the event source, the flag, alarms and the last hour by state', async () => {
    const now = new Date();
    const recent = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
    const ledger = (pk: string, state: string, claimedAt: string) =>
      aws.clients.dynamodb.send(
        new PutItemCommand({
          TableName: aws.tables.ledger,
          Item: marshall({
            pk,
            dispatchId: pk,
            state,
            memberId: 'M1',
            toHash: 'h',
            template: 'advice-nurse-reply',
            claimedAt,
            auditDay: claimedAt.slice(0, 10),
          }),
        }),
      );
    await Promise.all([
      ledger('s1', 'sent', recent(5)),
      ledger('s2', 'sent', recent(59)),
      ledger('b1', 'blocked', recent(1)),
      ledger('old', 'sent', recent(61)),
    ]);
    await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: 'x' }));

    const run = await runOpsCli(['--local', '--json', 'status'], env);
    expect(run.code).toBe(0);
    const report = json<StatusReport>(run);
    expect(report.target).toEqual({ kind: 'local', name: 'local' });
    expect(report.deadLetterQueue).toMatchObject({ name: 'mail-dispatch-dlq', visible: 1, oldestMessageAgeSeconds: expect.any(Number) });
    expect(report.queue).toMatchObject({ name: 'mail-dispatch-queue', visible: 0 });
    expect(report.mapping).toEqual({ enabled: true });
    expect(report.pause).toMatchObject({ paused: false, resumedBy: 'test-reset' });
    expect(report.alarms).toEqual([{ name: LOCAL_FAN_IN_ALARM_NAME, state: 'OK', since: '2000-08-02T09:20:00.000Z' }]);
    expect(report.lastHour.byState).toMatchObject({ sent: 2, blocked: 1, claimed: 0 });
    expect(report.lastHour.total).toBe(3);

    const human = await runOpsCli(['--local', 'status'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/mail-dispatch-dlq\s*│\s*1/);
    expect(human.stdout).toContain('not paused');
  });

  it('pause sets the flag (who, why, when) and disables the event source; a second pause keeps the first cause', async () => {
    const first = await runOpsCli(['--local', 'pause', '--reason', 'misdelivery reported'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Paused by operator:alice');
    expect(poller.enabled).toBe(false);
    const second = await runOpsCli(['--local', '--json', '--operator', 'bob', 'pause', '--reason', 'again'], env);
    expect(json(second)).toMatchObject({
      newlyPaused: false,
      cause: { by: 'operator:alice', reason: 'misdelivery reported' },
      mapping: 'disabled',
    });
    expect(await pauseSwitch.read()).toMatchObject({ paused: true, cause: { by: 'operator:alice', reason: 'misdelivery reported' } });

    const status = json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env));
    expect(status.pause).toMatchObject({ paused: true, by: 'operator:alice', reason: 'misdelivery reported' });
    expect(status.mapping).toEqual({ enabled: false });
  });

  it('resume refuses while FanInSpike is in ALARM, and --force overrides (reported)', async () => {
    await pauseSwitch.pause({ reason: 'alarm', by: 'breaker', at: new Date().toISOString(), alarmName: LOCAL_FAN_IN_ALARM_NAME });
    poller.enabled = false;
    fanInState = 'ALARM';
    const refused = await runOpsCli(['--local', 'resume'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`alarm ${LOCAL_FAN_IN_ALARM_NAME} is in ALARM`);
    expect((await pauseSwitch.read()).paused).toBe(true);
    expect(poller.enabled).toBe(false);

    const forced = await runOpsCli(['--local', '--json', 'resume', '--force'], env);
    expect(forced.code).toBe(0);
    expect(json(forced)).toMatchObject({
      resumedBy: 'operator:alice',
      mapping: 'enabled',
      overridden: [expect.stringContaining('is in ALARM')],
    });
    expect((await pauseSwitch.read()).paused).toBe(false);
    expect(poller.enabled).toBe(true);
  });

  it('resume refuses a pause whose cause is not understood', async () => {
    await aws.clients.dynamodb.send(
      new PutItemCommand({
        TableName: aws.tables.ledger,
        Item: marshall({ pk: LedgerKey.pauseFlag, paused: true, reason: 'unknown', by: 'unknown', at: '' }),
      }),
    );
    const refused = await runOpsCli(['--local', 'resume'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cause is not understood');
    expect((await runOpsCli(['--local', 'resume', '--force'], env)).code).toBe(0);
  });

  it('resume after a dispatcher fan-in pause with the alarm back to OK: clears the flag, records who, enables the event source', async () => {
    await pauseSwitch.pause({ reason: 'fan-in-limit', by: 'dispatcher', at: new Date().toISOString(), addressHash: 'abc123' });
    poller.enabled = false;
    const run = await runOpsCli(['--local', 'resume'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('fan-in limit for address abc123');
    const status = json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], env));
    expect(status.pause).toMatchObject({ paused: false, resumedBy: 'operator:alice', reason: 'fan-in-limit', by: 'dispatcher' });
    expect(poller.enabled).toBe(true);
  });

  it('without the control endpoint the pause flag alone holds the dispatcher, and status says so', async () => {
    const bare = { ...aws.env, MAIL_DISPATCH_OPERATOR: 'carol' };
    expect((await runOpsCli(['--local', 'pause', '--reason', 'drill'], bare)).code).toBe(0);
    expect(poller.enabled).toBe(true);
    const status = json<StatusReport>(await runOpsCli(['--local', '--json', 'status'], bare));
    expect(status.mapping.enabled).toBeNull();
    expect(status.alarms).toBeNull();
    expect(status.pause).toMatchObject({ paused: true, by: 'operator:carol' });
  });

  it.each([
    ['both targets', ['--local', '--stack', 'x', 'status']],
    ['pause without a reason', ['--local', 'pause']],
    ['an unknown command', ['--local', 'frobnicate']],
  ])('exits 2 on %s', async (_name, args) => {
    const run = await runOpsCli(args, env);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toBe('');
  });

  it('exits 2 with a clear message when no target is given', async () => {
    const run = await runOpsCli(['status'], { MAIL_DISPATCH_OPERATOR: 'x' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stack NAME');
  });
});
