/**
 * Where the smoke test runs: the embedded local pipeline (`npm run local`, read from the variables it
 * prints), a stack deployed on LocalStack, or a stack deployed on AWS (both read from the stack's
 * outputs through CloudFormation). No aws-cdk-lib here: the smoke test must start fast.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadAddressHashKey } from '../../../lambdas/adapters/address-hash-key';
import { DEFAULT_CONFIG } from '../../../lambdas/core/config';
import { explainAwsFailure } from '../ops/aws-failure';
import { TargetUnavailableError } from '../ops/errors';
import { Env } from '../../../lambdas/tables';
import { localStackMailbox, sesEmulatorMailbox, type Mailbox } from './mailbox';

export const SMOKE_TARGETS = ['local', 'localstack', 'aws'] as const;
export type SmokeTargetKind = (typeof SMOKE_TARGETS)[number];

/**
 * Stack outputs the smoke test reads: the names `StackOutput` in lib/mail-dispatch-stack.ts gives
 * them (a test compares the two).
 */
export const SMOKE_STACK_OUTPUTS = {
  queueUrl: 'QueueUrl',
  membersTableName: 'MembersTableName',
  ledgerTableName: 'LedgerTableName',
  addressHashSecretArn: 'AddressHashSecretArn',
} as const;

/** The stack `bin/mail-dispatch.ts` deploys. */
export const DEFAULT_STACK_NAME = 'MailDispatch';
/** Set by `npm run local` beside `Env` (the dispatch queue has no handler variable). */
export const LOCAL_QUEUE_URL_ENV = 'DISPATCH_QUEUE_URL';
export const DEFAULT_LOCALSTACK_ENDPOINT = 'http://localhost:4566';

export interface SmokeTargetOptions {
  readonly target: SmokeTargetKind;
  /** @default MAIL_DISPATCH_STACK, then 'MailDispatch' */
  readonly stack?: string;
  /** @default AWS_REGION, then 'us-east-1' for local and localstack */
  readonly region?: string;
  /** LocalStack's edge endpoint. @default LOCALSTACK_ENDPOINT, then http://localhost:4566 */
  readonly endpoint?: string;
}

export interface SmokeTarget {
  readonly kind: SmokeTargetKind;
  /** `local`, or the stack name. */
  readonly name: string;
  readonly queueUrl: string;
  readonly tables: { readonly members: string; readonly ledger: string };
  /** Distinct members per address the registry guard allows. */
  readonly fanInLimit: number;
  readonly clients: { readonly sqs: SQSClient; readonly dynamodb: DynamoDBClient };
  /** What the mail service accepted, where the target can show it (not on AWS). */
  readonly mailbox?: Mailbox;
  hashKey(): Promise<string>;
  close(): void;
}

/** Builds the target; every missing variable or output is reported at once. */
export async function resolveSmokeTarget(options: SmokeTargetOptions, env: NodeJS.ProcessEnv = process.env): Promise<SmokeTarget> {
  if (options.target === 'local') return localTarget(options, env);
  const stack = options.stack ?? env.MAIL_DISPATCH_STACK ?? DEFAULT_STACK_NAME;
  if (options.target === 'localstack') {
    const endpoint = (options.endpoint ?? env.LOCALSTACK_ENDPOINT ?? DEFAULT_LOCALSTACK_ENDPOINT).replace(/\/+$/, '');
    // LocalStack accepts any credentials; `test` is its convention. Never fall back to real ones.
    const config = {
      region: options.region ?? env.AWS_REGION ?? 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    return stackTarget('localstack', stack, config, localStackMailbox(endpoint));
  }
  return stackTarget('aws', stack, options.region ? { region: options.region } : {}, undefined);
}

function localTarget(options: SmokeTargetOptions, env: NodeJS.ProcessEnv): SmokeTarget {
  const names = [
    'AWS_ENDPOINT_URL_SQS',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_ENDPOINT_URL_SESV2',
    LOCAL_QUEUE_URL_ENV,
    Env.membersTable,
    Env.ledgerTable,
    Env.addressHashKey,
  ];
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0)
    throw new TargetUnavailableError(`--target local needs the variables \`npm run local\` prints; missing: ${missing.join(', ')}`);
  const config = {
    region: options.region ?? env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local' },
  };
  const sqs = new SQSClient({ ...config, endpoint: env.AWS_ENDPOINT_URL_SQS });
  const dynamodb = new DynamoDBClient({ ...config, endpoint: env.AWS_ENDPOINT_URL_DYNAMODB });
  return {
    kind: 'local',
    name: 'local',
    queueUrl: env[LOCAL_QUEUE_URL_ENV] as string,
    tables: { members: env[Env.membersTable] as string, ledger: env[Env.ledgerTable] as string },
    fanInLimit: positiveInteger(env[Env.fanInLimit]) ?? DEFAULT_CONFIG.fanInLimit,
    clients: { sqs, dynamodb },
    mailbox: sesEmulatorMailbox(env.AWS_ENDPOINT_URL_SESV2 as string),
    hashKey: () => loadAddressHashKey(env),
    close() {
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

type ClientConfig = { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };

async function stackTarget(
  kind: 'localstack' | 'aws',
  stack: string,
  config: ClientConfig,
  mailbox: Mailbox | undefined,
): Promise<SmokeTarget> {
  const cloudFormation = new CloudFormationClient(config);
  let outputs: Map<string, string>;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    const failure = explainAwsFailure(error, { action: `read the outputs of stack ${stack} on ${kind}`, stack, region: config.region });
    throw new TargetUnavailableError(failure.message, { cause: error });
  } finally {
    cloudFormation.destroy();
  }
  const missing = Object.values(SMOKE_STACK_OUTPUTS).filter((key) => !outputs.get(key));
  if (missing.length > 0)
    throw new TargetUnavailableError(`Stack ${stack} has no output ${missing.join(', ')}: is it a deployed mail-dispatch stack?`);
  const output = (key: keyof typeof SMOKE_STACK_OUTPUTS) => outputs.get(SMOKE_STACK_OUTPUTS[key]) as string;
  const sqs = new SQSClient(config);
  const dynamodb = new DynamoDBClient(config);
  let hashKey: Promise<string> | undefined;
  return {
    kind,
    name: stack,
    queueUrl: output('queueUrl'),
    tables: { members: output('membersTableName'), ledger: output('ledgerTableName') },
    // Older stacks lack the FanInLimit output; the smoke member's address is its own alone, so any limit fits.
    fanInLimit: positiveInteger(outputs.get('FanInLimit')) ?? DEFAULT_CONFIG.fanInLimit,
    clients: { sqs, dynamodb },
    mailbox,
    hashKey: () => {
      if (!hashKey) {
        const secrets = new SecretsManagerClient(config);
        hashKey = loadAddressHashKey({ [Env.addressHashSecretArn]: output('addressHashSecretArn') }, secrets).finally(() =>
          secrets.destroy(),
        );
      }
      return hashKey;
    },
    close() {
      sqs.destroy();
      dynamodb.destroy();
    },
  };
}

function positiveInteger(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n > 0 ? n : undefined;
}
