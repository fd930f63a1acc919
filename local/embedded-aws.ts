import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { resolveConfig, type DispatchConfig } from '../lambdas/core/config';
import { Env, LEDGER_TABLE, MEMBERS_TABLE, SES_CONFIGURATION_SET } from '../lambdas/tables';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { LocalPipelineError } from './errors';
import { createOutcomeQueue, createQueues, createTables, createTablesIfMissing, createTemplates } from './provision';
import { assertPortsFree } from './port-check';
import { SES_QUOTA_PATH, type SesQuotaSettings, type SesQuotaStats } from './ses-quota';
import { startSqsSesEmulators, type SqsSesEmulators } from './sqs-ses-emulators';

export interface EmbeddedAwsOptions {
  /** Dispatch settings (fan-in, batch size, maxReceiveCount): the queue's redrive policy and the handler env use them. */
  readonly config?: Partial<DispatchConfig>;
  /** The dispatch queue's visibility timeout; shorter than the stack's 180 s so retries come back quickly, long enough that a batch on a busy machine finishes within the function timeout (the same). @default 10 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Key of the address hash. @default a random key per start */
  readonly addressHashKey?: string;
  /** Fixed ports (for `npm run local`); @default free ports */
  readonly ports?: { readonly dynamodb?: number; readonly sqs?: number; readonly ses?: number };
  /**
   * Keep the registry, the ledger (DynamoDB Local's `-dbPath`) and the address hash key in this
   * directory across restarts. The queues and the SES store are in memory whatever this says.
   * @default nothing kept
   */
  readonly dataDir?: string;
  /** Let the SES emulator answer sends above a quota with 429, as SES does (`setSesQuota`). @default false */
  readonly sesQuota?: boolean;
  /**
   * Create the tables without streams. For the bench only, which runs no stream reader: DynamoDB
   * Local slows writes to a re-created stream-enabled table 3-5× (`npm run bench:emulator-streams`).
   * Nothing that reads a stream works without them (`ledgerStreamArn`/`membersStreamArn` are empty).
   * @default true
   */
  readonly streams?: boolean;
  /** DynamoDB Local compiles hot code fully (`DynamoDbLocalOptions.longRun`): for the bench. @default false */
  readonly longRun?: boolean;
}

/** One e-mail the SES emulator accepted (its `GET /store` shape). */
export interface StoredEmail {
  readonly messageId: string;
  readonly from: string;
  readonly destination: { readonly to: readonly string[]; readonly cc: readonly string[]; readonly bcc: readonly string[] };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
  /** Epoch seconds. */
  readonly at: number;
}

/** A message as the SQS emulator holds it (non-destructive inspection; fauxqs only). */
export interface InspectedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
  readonly approximateReceiveCount: number;
}

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly total: number;
}

export interface EmbeddedAws {
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly ses: string };
  /** What a Lambda function (or the ops CLI) gets as environment to run against these emulators. */
  readonly env: Readonly<Record<string, string>>;
  readonly config: DispatchConfig;
  readonly visibilityTimeoutSeconds: number;
  readonly region: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
  readonly tables: { readonly members: string; readonly ledger: string };
  /** The ledger table's stream (the outcome feed's outbox). */
  readonly ledgerStreamArn: string;
  /** The members table's stream (the registry watch reads it). */
  readonly membersStreamArn: string;
  /** The SQS queue that stands for the outcome bus. */
  readonly outcomeQueueUrl: string;
  readonly clients: {
    readonly dynamodb: DynamoDBClient;
    readonly sqs: SQSClient;
    readonly ses: SESv2Client;
    readonly dynamodbStreams: DynamoDBStreamsClient;
  };
  sesStore(): Promise<StoredEmail[]>;
  clearSes(): Promise<void>;
  queueDepth(queueUrl?: string): Promise<QueueDepth>;
  /**
   * Sets (or, with undefined, lifts) the SES send quota; returns the stats of the quota it
   * replaces. Only when started with `sesQuota: true`.
   */
  setSesQuota(settings: SesQuotaSettings | undefined): Promise<SesQuotaStats | null>;
  /** What the SES quota let through and throttled since it was set (null: no quota). */
  sesQuotaStats(): Promise<SesQuotaStats | null>;
  /** Every message a queue holds (ready, delayed and in flight), without receiving them. */
  inspectQueue(queueName: string): Promise<InspectedMessage[]>;
  stop(): Promise<void>;
}

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Starts DynamoDB Local, fauxqs (SQS) and aws-ses-v2-local (SES v2) and creates the project's
 * tables, queues and templates from the same descriptions the stack uses. The unmodified AWS SDK
 * clients reach them through the `AWS_ENDPOINT_URL_<SERVICE>` variables in `env`.
 */
export async function startEmbeddedAws(options: EmbeddedAwsOptions = {}): Promise<EmbeddedAws> {
  if (options.dataDir && options.streams === false) {
    throw new LocalPipelineError('startEmbeddedAws: streams: false creates fresh tables and cannot be combined with dataDir (kept tables)');
  }
  const config = resolveConfig(options.config ?? {});
  const region = options.region ?? 'us-east-1';
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 10;
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.splice(0).map((service) => service.stop()));
  };
  // A fixed port another program holds: DynamoDB Local would fail to bind while our client reached the
  // other program; say so instead.
  await assertPortsFree({ dynamodb: options.ports?.dynamodb, sqs: options.ports?.sqs, ses: options.ports?.ses });
  try {
    // Settled, not Promise.all: when one fails (no Java) the other may still be starting, and an
    // emulator that finishes starting after the failure would keep the process alive forever.
    const [dynamoStart, sqsSesStart] = await Promise.allSettled([
      startDynamoDbLocal({
        port: options.ports?.dynamodb,
        dbPath: options.dataDir ? keptDir(options.dataDir, 'dynamodb') : undefined,
        longRun: options.longRun,
      }).then((service: DynamoDbLocal) => {
        started.push(service);
        return service;
      }),
      startSqsSesEmulators({ sqsPort: options.ports?.sqs, sesPort: options.ports?.ses, sesQuota: options.sesQuota }).then(
        (service: SqsSesEmulators) => {
          started.push(service);
          return service;
        },
      ),
    ]);
    if (dynamoStart.status === 'rejected') throw dynamoStart.reason;
    if (sqsSesStart.status === 'rejected') throw sqsSesStart.reason;
    const [dynamo, sqsSes] = [dynamoStart.value, sqsSesStart.value];
    const endpoints = { dynamodb: dynamo.endpoint, sqs: sqsSes.sqsEndpoint, ses: sqsSes.sesEndpoint };
    const clients = {
      dynamodb: new DynamoDBClient({ region, endpoint: endpoints.dynamodb, credentials: CREDENTIALS }),
      sqs: new SQSClient({ region, endpoint: endpoints.sqs, credentials: CREDENTIALS }),
      ses: new SESv2Client({ region, endpoint: endpoints.ses, credentials: CREDENTIALS }),
      dynamodbStreams: new DynamoDBStreamsClient({ region, endpoint: endpoints.dynamodb, credentials: CREDENTIALS }),
    };
    const tables = { members: MEMBERS_TABLE.name, ledger: LEDGER_TABLE.name };
    const [queues, { ledgerStreamArn, membersStreamArn }, { outcomeQueueUrl }] = await Promise.all([
      createQueues(clients.sqs, { maxReceiveCount: config.maxReceiveCount, visibilityTimeoutSeconds }),
      options.dataDir
        ? createTablesIfMissing(clients.dynamodb, tables)
        : createTables(clients.dynamodb, tables, { streams: options.streams }),
      createOutcomeQueue(clients.sqs),
      createTemplates(clients.ses),
    ]);
    const env: Record<string, string> = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SESV2: endpoints.ses,
      [Env.membersTable]: tables.members,
      [Env.ledgerTable]: tables.ledger,
      [Env.deadLetterQueueUrl]: queues.dlqUrl,
      DISPATCH_QUEUE_URL: queues.queueUrl,
      [Env.fromAddress]: 'portal-notifications@example.org',
      [Env.configurationSet]: SES_CONFIGURATION_SET,
      [Env.fanInLimit]: String(config.fanInLimit),
      [Env.fanInWindowSeconds]: String(config.fanInWindowSeconds),
      [Env.maxReceiveCount]: String(config.maxReceiveCount),
      [Env.claimLeaseSeconds]: String(config.claimLeaseSeconds),
      [Env.handlerConcurrency]: String(config.handlerConcurrency),
      [Env.addressHashKey]: options.addressHashKey ?? (options.dataDir ? keptHashKey(options.dataDir) : randomBytes(32).toString('hex')),
      // The "not for me" link key: its own secret, as deployed (the page cannot hash addresses).
      [Env.reportLinkKey]: randomBytes(32).toString('hex'),
      // The emulators alone serve no page: links point at a closed port. LocalPipeline serves the
      // real page handler and gives the dispatcher its URL instead.
      [Env.reportPageUrl]: 'http://127.0.0.1:1/no-report-page',
      [Env.eventSourceMappingId]: 'local-event-source-mapping',
      POWERTOOLS_SERVICE_NAME: 'mail-dispatch',
      POWERTOOLS_METRICS_NAMESPACE: 'MailDispatch',
    };
    const sesFetch = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${endpoints.ses}${path}`, init);
      if (!response.ok) throw new LocalPipelineError(`SES emulator ${path} answered ${response.status}`);
      return response;
    };
    return {
      endpoints,
      env,
      config,
      visibilityTimeoutSeconds,
      region,
      ...queues,
      tables,
      ledgerStreamArn,
      membersStreamArn,
      outcomeQueueUrl,
      clients,
      async sesStore() {
        const store = (await (await sesFetch('/store')).json()) as { emails: StoredEmail[] };
        return store.emails;
      },
      async clearSes() {
        // `/clear-store` also drops the templates: put them back.
        await sesFetch('/clear-store', { method: 'POST' });
        await createTemplates(clients.ses);
      },
      async setSesQuota(settings) {
        if (!options.sesQuota) throw new LocalPipelineError('The SES quota needs startEmbeddedAws({ sesQuota: true })');
        const init: RequestInit = settings
          ? { method: 'PUT', body: JSON.stringify(settings), headers: { 'content-type': 'application/json' } }
          : { method: 'DELETE' };
        const previous = await (await sesFetch(SES_QUOTA_PATH, { method: 'GET' })).json();
        await sesFetch(SES_QUOTA_PATH, init);
        return previous as SesQuotaStats | null;
      },
      async sesQuotaStats() {
        if (!options.sesQuota) return null;
        return (await (await sesFetch(SES_QUOTA_PATH)).json()) as SesQuotaStats | null;
      },
      async queueDepth(queueUrl = queues.queueUrl) {
        const { Attributes: a = {} } = await clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrl,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        );
        const visible = Number(a.ApproximateNumberOfMessages ?? 0);
        const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
        const delayed = Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
        return { visible, inFlight, delayed, total: visible + inFlight + delayed };
      },
      async inspectQueue(queueName) {
        const response = await fetch(`${endpoints.sqs}/_fauxqs/queues/${encodeURIComponent(queueName)}`);
        if (!response.ok) throw new LocalPipelineError(`SQS emulator cannot inspect ${queueName} (${response.status})`);
        const result = (await response.json()) as {
          messages: { ready: InspectedMessage[]; delayed: InspectedMessage[]; inflight: { message: InspectedMessage }[] };
        };
        return [...result.messages.ready, ...result.messages.delayed, ...result.messages.inflight.map((entry) => entry.message)];
      },
      async stop() {
        for (const client of Object.values(clients)) client.destroy();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A subdirectory of the data directory, created if needed. */
function keptDir(dataDir: string, name: string): string {
  const dir = join(dataDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The address hash key kept with the data (the ledger's and registry's hashes only match under it), made once. */
function keptHashKey(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'address-hash-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}
