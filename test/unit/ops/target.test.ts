import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ConfigurationError } from '../../../lambdas/core/errors';
import { ExitCode, TargetUnavailableError, UsageError, exitCodeOf } from '../../../cli/src/ops/errors';
import { resolveTarget, queueName } from '../../../cli/src/ops/target';
import { StackOutput, type StackOutputKey } from '../../../lib/stack-outputs';

/** The outputs a stack target is built from, named through `StackOutput` (the names the stack declares). */
const values: Partial<Record<StackOutputKey, string>> = {
  queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
  deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/dlq',
  membersTableName: 'members-t',
  ledgerTableName: 'ledger-t',
  eventSourceMappingId: 'esm-1',
  addressHashSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:k',
  fanInAlarmName: 'prod-FanInSpike',
  fanInLimit: '5',
};
const outputs: Record<string, string> = Object.fromEntries(
  Object.entries(values).map(([key, value]) => [StackOutput[key as StackOutputKey], value]),
);
const REQUIRED: StackOutputKey[] = [
  'queueUrl',
  'deadLetterQueueUrl',
  'membersTableName',
  'ledgerTableName',
  'eventSourceMappingId',
  'addressHashSecretArn',
  'fanInAlarmName',
];

function cloudFormation(values: Record<string, string>): { client: CloudFormationClient; asked: unknown[] } {
  const asked: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      asked.push(command.input);
      return { Stacks: [{ Outputs: Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] };
    },
  } as unknown as CloudFormationClient;
  return { client, asked };
}

describe('resolveTarget', () => {
  it('reads a stack from its CloudFormation outputs', async () => {
    const { client, asked } = cloudFormation(outputs);
    const target = await resolveTarget({ stack: 'prod', region: 'eu-west-1' }, {}, { cloudFormation: client });
    try {
      expect(asked).toEqual([{ StackName: 'prod' }]);
      expect(target).toMatchObject({
        kind: 'stack',
        name: 'prod',
        tables: { members: 'members-t', ledger: 'ledger-t' },
        queueUrl: values.queueUrl,
        deadLetterQueueUrl: values.deadLetterQueueUrl,
        fanInLimit: 5,
        fanInAlarmName: 'prod-FanInSpike',
      });
      expect(target.eventSource).toBeDefined();
    } finally {
      target.close();
    }
  });

  it('takes the stack name from MAIL_DISPATCH_STACK', async () => {
    const { client, asked } = cloudFormation(outputs);
    (await resolveTarget({}, { MAIL_DISPATCH_STACK: 'staging' }, { cloudFormation: client })).close();
    expect(asked).toEqual([{ StackName: 'staging' }]);
  });

  it.each(REQUIRED)('needs the %s output, by the name StackOutput gives it', async (key) => {
    const { [StackOutput[key]]: _omit, ...rest } = outputs;
    const { client } = cloudFormation(rest);
    await expect(resolveTarget({ stack: 'other' }, {}, { cloudFormation: client })).rejects.toThrow(
      new ConfigurationError(`Stack other has no output ${StackOutput[key]}: is it a mail-dispatch stack, deployed?`),
    );
  });

  it('assumes the default fan-in limit when the stack has no FanInLimit output', async () => {
    const { [StackOutput.fanInLimit]: _omit, ...rest } = outputs;
    const target = await resolveTarget({ stack: 'old' }, {}, { cloudFormation: cloudFormation(rest).client });
    expect(target.fanInLimit).toBe(3);
    target.close();
  });

  it('builds the local target from the variables `npm run local` prints', async () => {
    const env = {
      MEMBERS_TABLE: 'm',
      LEDGER_TABLE: 'l',
      DISPATCH_QUEUE_URL: 'http://127.0.0.1:1/000000000000/mail-dispatch-queue',
      DLQ_URL: 'http://127.0.0.1:1/000000000000/mail-dispatch-dlq',
      ADDRESS_HASH_KEY: 'k',
      FAN_IN_LIMIT: '4',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:2',
    };
    for (const options of [{ local: true }, {}]) {
      const target = await resolveTarget(options, env);
      expect(target).toMatchObject({ kind: 'local', tables: { members: 'm', ledger: 'l' }, fanInLimit: 4 });
      expect(target.eventSource).toBeUndefined();
      expect(await target.alarms()).toBeUndefined();
      expect(await target.hashKey()).toBe('k');
      target.close();
    }
  });

  it.each([
    ['both targets', { stack: 'x', local: true }, {}, 'not both'],
    ['no target', {}, {}, '--stack NAME'],
  ])('is a usage error with %s', async (_name, options, env, message) => {
    const attempt = resolveTarget(options, env);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('is an environment error (exit 3, as in smoke) with --local but without the variables', async () => {
    const attempt = resolveTarget({ local: true }, { MEMBERS_TABLE: 'm' });
    await expect(attempt).rejects.toBeInstanceOf(TargetUnavailableError);
    await expect(attempt).rejects.toThrow('missing: LEDGER_TABLE, DISPATCH_QUEUE_URL, DLQ_URL, ADDRESS_HASH_KEY');
    expect(exitCodeOf(await attempt.catch((error: unknown) => error))).toBe(ExitCode.Environment);
  });
});

describe('queueName', () => {
  it('is the last path segment of a queue URL', () => {
    expect(queueName('https://sqs.eu-west-1.amazonaws.com/111122223333/mail-dispatch-dlq')).toBe('mail-dispatch-dlq');
  });
});
