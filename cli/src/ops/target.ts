/**
 * Where the ops CLI acts: a deployed stack (outputs read through CloudFormation) or the local
 * pipeline (the variables `npm run local` prints). Every command gets one `OpsTarget` and never
 * asks where a resource lives.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  SetAlarmStateCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadAddressHashKey } from '../../../lambdas/adapters/address-hash-key';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { LambdaEventSourceSwitch } from '../../../lambdas/adapters/lambda-event-source-switch';
import type { MemberRegistryTables } from '../../../lambdas/adapters/dynamodb-member-registry';
import { DEFAULT_CONFIG } from '../../../lambdas/core/config';
import type { EventSourceSwitch, PauseSwitch } from '../../../lambdas/ports';
import { Env } from '../../../lambdas/tables';
import { StackOutput, type StackOutputKey } from '../../../lib/stack-outputs';
import type { AlarmStateValue, AlarmStatus } from './alarm-status';
import { explainAwsFailure } from './aws-failure';
import { TargetUnavailableError, UsageError } from './errors';
import { fetchLocalAlarms, HttpEventSourceSwitch, LOCAL_CONTROL_URL_ENV, setLocalAlarmState } from './local-control';

/** Variables of the local pipeline besides `Env` (the dispatch queue has no handler variable). */
export const LOCAL_QUEUE_URL_ENV = 'DISPATCH_QUEUE_URL';
/** Names the stack when neither `--stack` nor `--local` is given. */
export const STACK_ENV = 'MAIL_DISPATCH_STACK';

// Re-exported: the alarm state is part of the target's interface (./alarm-status breaks the
// import cycle with ./local-control).
export type { AlarmStateValue, AlarmStatus } from './alarm-status';

export interface OpsTarget {
  readonly kind: 'stack' | 'local';
  /** The stack name, or `local`. */
  readonly name: string;
  readonly tables: MemberRegistryTables;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Distinct members per address the registry guard allows (the dispatcher's limit). */
  readonly fanInLimit: number;
  readonly clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient };
  readonly pauseSwitch: PauseSwitch;
  /** The dispatcher's feed; absent locally when no poller control endpoint is configured. */
  readonly eventSource?: EventSourceSwitch;
  /** The alarm that pauses the queue; absent locally (no CloudWatch). */
  readonly fanInAlarmName?: string;
  /** The address-hash key (read lazily: only audit and members need it). */
  hashKey(): Promise<string>;
  /** The pipeline's alarms; `undefined` where there is no CloudWatch (local). */
  alarms(): Promise<AlarmStatus[] | undefined>;
  /**
   * Puts an alarm in a state as CloudWatch's `SetAlarmState` does (the post-deploy drill drives the
   * FanInSpike action with it); absent where no alarm can be reached.
   */
  setAlarmState?(name: string, state: 'ALARM' | 'OK', reason: string): Promise<void>;
  /** Age of the oldest message in a queue, seconds; `undefined` when unknown. */
  oldestMessageAgeSeconds(queueUrl: string): Promise<number | undefined>;
  close(): void;
}

export interface TargetOptions {
  /** A deployed stack's name. */
  readonly stack?: string;
  /** The local pipeline (`npm run local`), from the environment. */
  readonly local?: boolean;
  readonly region?: string;
}

export interface TargetDeps {
  /** Injected in tests. @default clients built from the environment */
  readonly cloudFormation?: CloudFormationClient;
}

/** Picks and builds the target: `--stack`, `--local`, or what the environment says. */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
  deps: TargetDeps = {},
): Promise<OpsTarget> {
  if (options.stack && options.local) throw new UsageError('Give either --stack NAME or --local, not both');
  if (options.local) return localTarget(env, options.region);
  const stack = options.stack ?? env[STACK_ENV];
  if (stack) return stackTarget(stack, options.region, deps);
  if (env.AWS_ENDPOINT_URL_DYNAMODB && env[Env.ledgerTable]) return localTarget(env, options.region);
  throw new UsageError(
    `Say where: --stack NAME (a deployed stack, or set ${STACK_ENV}) or --local (with the variables \`npm run local\` prints)`,
  );
}

async function localTarget(env: NodeJS.ProcessEnv, region: string | undefined): Promise<OpsTarget> {
  const names = [Env.membersTable, Env.ledgerTable, LOCAL_QUEUE_URL_ENV, Env.deadLetterQueueUrl, Env.addressHashKey];
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0)
    throw new TargetUnavailableError(`--local needs the variables \`npm run local\` prints; missing: ${missing.join(', ')}`);
  const config = { region: region ?? env.AWS_REGION ?? 'us-east-1' };
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const ledger = env[Env.ledgerTable] as string;
  const controlUrl = env[LOCAL_CONTROL_URL_ENV];
  const sqsEndpoint = env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL;
  // With `npm run local`'s control endpoint the poller and the local fan-in alarm are reachable;
  // without it (bare emulators) the pause flag alone holds the dispatcher and there are no alarms.
  const localAlarms = controlUrl ? await fetchLocalAlarms(controlUrl) : undefined;
  return {
    kind: 'local',
    name: 'local',
    tables: { members: env[Env.membersTable] as string, ledger },
    queueUrl: env[LOCAL_QUEUE_URL_ENV] as string,
    deadLetterQueueUrl: env[Env.deadLetterQueueUrl] as string,
    fanInLimit: positiveInteger(env[Env.fanInLimit]) ?? DEFAULT_CONFIG.fanInLimit,
    clients: { dynamodb, sqs },
    pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: ledger, client: dynamodb }),
    eventSource: controlUrl ? new HttpEventSourceSwitch(controlUrl) : undefined,
    fanInAlarmName: localAlarms?.fanInAlarmName,
    hashKey: () => loadAddressHashKey(env),
    alarms: async () =>
      controlUrl && localAlarms ? ((await fetchLocalAlarms(controlUrl))?.alarms ?? []).map((a) => ({ ...a })) : undefined,
    setAlarmState: controlUrl && localAlarms ? (name, state, reason) => setLocalAlarmState(controlUrl, name, state, reason) : undefined,
    oldestMessageAgeSeconds: (queueUrl) => (sqsEndpoint ? fauxqsOldestAge(sqsEndpoint, queueUrl) : Promise.resolve(undefined)),
    close() {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}

async function stackTarget(stackName: string, region: string | undefined, deps: TargetDeps): Promise<OpsTarget> {
  const config = region ? { region } : {};
  const cloudFormation = deps.cloudFormation ?? new CloudFormationClient(config);
  let outputs: Map<string, string>;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    const failure = explainAwsFailure(error, { action: `read the outputs of stack ${stackName}`, stack: stackName, region });
    throw new TargetUnavailableError(failure.message, { cause: error });
  } finally {
    if (!deps.cloudFormation) cloudFormation.destroy();
  }
  const required = (key: StackOutputKey) => {
    const value = outputs.get(StackOutput[key]);
    if (!value)
      throw new TargetUnavailableError(`Stack ${stackName} has no output ${StackOutput[key]}: is it a mail-dispatch stack, deployed?`);
    return value;
  };
  // Every output is read before any client is built, so a missing one leaves nothing to close.
  const ledger = required('ledgerTableName');
  const members = required('membersTableName');
  const queueUrl = required('queueUrl');
  const deadLetterQueueUrl = required('deadLetterQueueUrl');
  const mappingId = required('eventSourceMappingId');
  const secretArn = required('addressHashSecretArn');
  const fanInAlarmName = required('fanInAlarmName');
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const lambda = new LambdaClient(config);
  const cloudWatch = new CloudWatchClient(config);
  let hashKey: Promise<string> | undefined;
  return {
    kind: 'stack',
    name: stackName,
    tables: { members, ledger },
    queueUrl,
    deadLetterQueueUrl,
    // Optional: a stack deployed before the FanInLimit output existed has the default limit.
    fanInLimit: positiveInteger(outputs.get(StackOutput.fanInLimit)) ?? DEFAULT_CONFIG.fanInLimit,
    clients: { dynamodb, sqs },
    pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: ledger, client: dynamodb }),
    eventSource: new LambdaEventSourceSwitch({ mappingId, client: lambda }),
    fanInAlarmName,
    hashKey: () => (hashKey ??= loadAddressHashKey({ [Env.addressHashSecretArn]: secretArn }, new SecretsManagerClient(config))),
    // Every alarm of the stack is named `<stack>-<Name>` (lib/constructs/pipeline-alarms.ts).
    alarms: () => describeAlarms(cloudWatch, `${stackName}-`),
    setAlarmState: async (name, state, reason) => {
      await cloudWatch.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: reason }));
    },
    oldestMessageAgeSeconds: (queueUrl) => sqsOldestAge(cloudWatch, queueUrl),
    close() {
      for (const client of [dynamodb, sqs, lambda, cloudWatch]) client.destroy();
    },
  };
}

async function describeAlarms(client: CloudWatchClient, prefix: string): Promise<AlarmStatus[]> {
  const alarms: MetricAlarm[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, NextToken }));
    alarms.push(...(page.MetricAlarms ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return alarms.map((a) => ({
    name: a.AlarmName ?? '',
    state: (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmStateValue,
    since: a.StateUpdatedTimestamp?.toISOString(),
  }));
}

/** SQS publishes the oldest message's age only as a CloudWatch metric. */
async function sqsOldestAge(client: CloudWatchClient, queueUrl: string): Promise<number | undefined> {
  const end = new Date();
  const { MetricDataResults } = await client.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 10 * 60_000),
      EndTime: end,
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: queueName(queueUrl) }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  return MetricDataResults?.[0]?.Values?.[0];
}

/** fauxqs lets a queue be inspected without receiving (which would count as a delivery). */
async function fauxqsOldestAge(endpoint: string, queueUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${endpoint.replace(/\/+$/, '')}/_fauxqs/queues/${encodeURIComponent(queueName(queueUrl))}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return undefined;
    const { messages } = (await response.json()) as {
      messages: {
        ready: { sentTimestamp?: number }[];
        delayed: { sentTimestamp?: number }[];
        inflight: { message: { sentTimestamp?: number } }[];
      };
    };
    const sent = [...messages.ready, ...messages.delayed, ...messages.inflight.map((entry) => entry.message)]
      .map((m) => m.sentTimestamp)
      .filter((t): t is number => typeof t === 'number');
    return sent.length === 0 ? 0 : Math.max(0, Math.round((Date.now() - Math.min(...sent)) / 1000));
  } catch {
    return undefined;
  }
}

export function queueName(queueUrl: string): string {
  return queueUrl.replace(/\/+$/, '').split('/').pop() ?? queueUrl;
}

function positiveInteger(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}
