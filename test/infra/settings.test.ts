import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ConfigurationError } from '../../lambdas/core/errors';
import { DEFAULT_SETTINGS, domainOf, readSettings, SETTING_KEYS } from '../../lib/settings';

const nodeWith = (context: Record<string, unknown>) => new App({ context }).node;
const ROOT = path.join(__dirname, '..', '..');

describe('readSettings', () => {
  it('gives the documented defaults when context is empty', () => {
    expect(readSettings(nodeWith({}))).toEqual(DEFAULT_SETTINGS);
  });

  it('reads numbers given as strings on the command line (-c key=value)', () => {
    const settings = readSettings(
      nodeWith({ fanInLimit: '5', maxConcurrency: '20', createEmailIdentity: 'true', enableBackupPlan: 'false' }),
    );
    expect(settings).toMatchObject({ fanInLimit: 5, maxConcurrency: 20, createEmailIdentity: true, enableBackupPlan: false });
  });

  it('normalises the from-address and the alarm e-mail', () => {
    const settings = readSettings(nodeWith({ fromAddress: ' No-Reply@Portal.Example.ORG ', alarmEmail: 'OnCall@Example.org' }));
    expect(settings).toMatchObject({ fromAddress: 'no-reply@portal.example.org', alarmEmail: 'oncall@example.org' });
  });

  it('reads publisherRoleArns comma-separated from the command line, or as a list from cdk.json', () => {
    const portal = 'arn:aws:iam::111122223333:role/portal-publisher';
    const withPath = 'arn:aws-us-gov:iam::444455556666:role/service/portal.dr';
    expect(readSettings(nodeWith({ publisherRoleArns: ` ${portal} , ${withPath},${portal}` })).publisherRoleArns).toEqual([
      portal,
      withPath,
    ]);
    expect(readSettings(nodeWith({ publisherRoleArns: [portal] })).publisherRoleArns).toEqual([portal]);
    expect(readSettings(nodeWith({ publisherRoleArns: '' })).publisherRoleArns).toEqual([]);
  });

  it('lets explicit overrides win over context', () => {
    expect(readSettings(nodeWith({ batchSize: 5 }), { batchSize: 7 }).batchSize).toBe(7);
  });

  it('reports every invalid key in one error', () => {
    const read = () =>
      readSettings(
        nodeWith({
          fromAddress: 'Portal <no-reply@portal.example.org>',
          maxConcurrency: 1,
          maxReceiveCount: 0,
          fanInAlarmPeriodSeconds: 45,
          alarmEmail: 'not an address',
          batchSize: 50,
          maxBatchingWindowSeconds: 0,
          publisherRoleArns: 'arn:aws:iam::111122223333:role/portal,arn:aws:iam::111122223333:user/alice,portal',
          enableBackupPlan: 'no',
        }),
      );
    expect(read).toThrow(ConfigurationError);
    const message = (() => {
      try {
        read();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const key of [
      'fromAddress',
      'maxConcurrency',
      'maxReceiveCount',
      'fanInAlarmPeriodSeconds',
      'alarmEmail',
      'batchSize above 10',
      'enableBackupPlan must be true or false (got "no")',
    ]) {
      expect(message).toContain(key);
    }
    expect(message).toContain(
      'publisherRoleArns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>); not one: "arn:aws:iam::111122223333:user/alice", "portal"',
    );
  });

  it.each([
    ['18.4: a sub-minute alarm period', { fanInAlarmPeriodSeconds: 30 }, /fanInAlarmPeriodSeconds must be an integer from 60/],
    [
      '18.4: an alarm period that is not whole minutes',
      { fanInAlarmPeriodSeconds: 90 },
      /fanInAlarmPeriodSeconds must be a multiple of 60/,
    ],
    [
      '18.1: a dispatcher reservation below maxConcurrency',
      { maxConcurrency: 10, dispatcherReservedConcurrency: 5 },
      /dispatcherReservedConcurrency must be 0 \(none\) or at least maxConcurrency \(10\)/,
    ],
    [
      '18.5: a DLQ retention not above the queue retention',
      { queueRetentionDays: 7, deadLetterRetentionDays: 7 },
      /deadLetterRetentionDays \(7\) must exceed queueRetentionDays \(7\)/,
    ],
    [
      "a bounce threshold at AWS's review rate",
      { reputationBounceRatePercent: 5 },
      /reputationBounceRatePercent must be a number from 0.5 to 4.9 \(got 5\)/,
    ],
    [
      "a complaint threshold at AWS's review rate",
      { reputationComplaintRatePercent: '0.1' },
      /reputationComplaintRatePercent must be a number from 0.01 to 0.09 \(got 0.1\)/,
    ],
    ['a window of too few sends', { reputationWindowSends: 10 }, /reputationWindowSends must be an integer from 100 to 1000000 \(got 10\)/],
    ['a fractional window', { reputationWindowSends: 150.5 }, /reputationWindowSends must be an integer/],
  ])('refuses %s', (_name, context, message) => {
    expect(() => readSettings(nodeWith(context))).toThrow(message);
  });

  it('18.1: accepts no reservations (the default) and a dispatcher reservation of at least maxConcurrency', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      dispatcherReservedConcurrency: 0,
      breakerReservedConcurrency: 0,
      feedbackReservedConcurrency: 0,
    });
    expect(readSettings(nodeWith({ maxConcurrency: 4, dispatcherReservedConcurrency: 4 })).dispatcherReservedConcurrency).toBe(4);
  });

  it('12.6: refuses settings under which one batch cannot finish in the function timeout, saying how to fix them', () => {
    // docs/deploy.md's SES sandbox before the fix: rate 1 over 10 environments is one send per 10 s
    // per environment, 100 s for a batch of 10 against a 30 s timeout.
    const sandbox = () => readSettings(nodeWith({ maxSendRatePerSecond: 1, maxConcurrency: 10 }));
    expect(sandbox).toThrow(ConfigurationError);
    expect(sandbox).toThrow(
      "one batch cannot finish in the dispatcher's 30 s timeout: batchSize (10) × maxConcurrency (10) / maxSendRatePerSecond (1) = 100 s of pacing, " +
        "plus 11 s for the last message's claim, send and settle; lower batchSize to at most 1, or raise maxSendRatePerSecond to at least 6 if the SES quota allows",
    );
    expect(() => readSettings(nodeWith({ batchSize: 100, maxBatchingWindowSeconds: 5 }))).toThrow(
      /lower maxConcurrency to at most 2, or lower batchSize to at most 26/,
    );
  });

  it('12.6: accepts the defaults and the SES sandbox combination docs/deploy.md gives', () => {
    expect(() => readSettings(nodeWith({}))).not.toThrow();
    const guide = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const example = /cdk deploy MailDispatch -c maxSendRatePerSecond=1 -c maxConcurrency=(\d+) -c batchSize=(\d+)/.exec(guide);
    expect(example).not.toBeNull();
    const [maxConcurrency, batchSize] = [Number(example![1]), Number(example![2])];
    expect(readSettings(nodeWith({ maxSendRatePerSecond: 1, maxConcurrency, batchSize }))).toMatchObject({
      maxSendRatePerSecond: 1,
      maxConcurrency,
      batchSize,
    });
  });

  it('takes the domain of an address', () => {
    expect(domainOf('no-reply@portal.example.org')).toBe('portal.example.org');
  });
});

describe('the context keys', () => {
  it('are all in cdk.json, at their defaults, so a newcomer sees every one', () => {
    const { context } = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    expect(
      Object.keys(context)
        .filter((key) => key !== 'cli-telemetry')
        .sort(),
    ).toEqual([...SETTING_KEYS].sort());
    expect(readSettings(nodeWith(context))).toEqual(DEFAULT_SETTINGS);
  });

  it('are all in the context-key table of docs/deploy.md', () => {
    const guide = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const key of SETTING_KEYS) expect(guide).toContain(`| \`${key}\` |`);
  });
});
