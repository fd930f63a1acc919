import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS, rangeProblems, relatedSettingProblems, sendsPerSecondPerEnvironment } from '../../lambdas/core/defaults';
import { METRIC_NAMESPACE } from '../../lambdas/core/outcomes';
import { DISPATCHER_TIMEOUT_SECONDS } from '../../lambdas/dispatcher/time-budget';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { METRICS_SERVICE_NAME } from '../dispatch-metrics';
import { ServiceFunction } from './service-function';

export interface DispatcherProps {
  readonly encryptionKey: kms.IKey;
  /** The dispatch queue: the event source. */
  readonly queue: sqs.IQueue;
  /** Its dead-letter queue: the dispatcher moves rejected messages there itself. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The queue's `maxReceiveCount` (the last receive fails a message for good instead of retrying it). */
  readonly maxReceiveCount: number;
  /** The member registry (read and condition-checked only). */
  readonly members: dynamodb.ITable;
  /** The dispatch ledger (dispatch records, fan-in counters, the pause flag). */
  readonly ledger: dynamodb.ITable;
  /** The only address it sends from (its SES permission is given by whoever owns the identity). */
  readonly fromAddress: string;
  /** The SES configuration set every send names. */
  readonly configurationSetName: string;
  /** What the sender puts before a logical template name (see sesTemplateName). */
  readonly templatePrefix: string;
  /** @default 3 */
  readonly fanInLimit?: number;
  /** @default 86400 */
  readonly fanInWindowSeconds?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default Duration.seconds(1) */
  readonly maxBatchingWindow?: Duration;
  /** Concurrent invocations the event source may run (the cap on the dispatcher). @default 10 */
  readonly maxConcurrency?: number;
  /** Reserved concurrency: 0 for none, otherwise at least maxConcurrency. @default 0 */
  readonly reservedConcurrentExecutions?: number;
  /** The SES account's sending quota; each of the maxConcurrency environments paces to its share. @default 14 */
  readonly maxSendRatePerSecond?: number;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * Messages of one batch the function works on at once. 1 keeps a crashed invocation's
   * in-doubt messages to the one it was sending, plus at most one SES already accepted whose
   * `sent` write was in flight, which its Send event reconciles (see DispatchConfig.handlerConcurrency).
   * @default 1
   */
  readonly handlerConcurrency?: number;
}

/**
 * The dispatcher: the Lambda function behind the dispatch queue's event source mapping, the
 * address-hash key it reads at cold start, and exactly the permissions its one job needs on what it
 * is given. The permissions another construct owns (SES sending, tripping the breaker, the link
 * key) are added by MailDispatch, where the wiring is.
 */
export class Dispatcher extends Construct {
  /** Function timeout; the queue's visibility timeout must be at least six times this. */
  public static readonly TIMEOUT = Duration.seconds(DISPATCHER_TIMEOUT_SECONDS);
  /** How long a claim is live: it outlives any invocation that could still hold it (the DLQ watch reads it too). */
  public static readonly CLAIM_LEASE = Duration.seconds(DISPATCHER_TIMEOUT_SECONDS * 2);

  public readonly service: ServiceFunction;
  public readonly eventSource: eventSources.SqsEventSource;
  /** HMAC key for address hashes (ledger `toHash`, logs, fan-in keys). Never rotated: see below. */
  public readonly addressHashSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const fanInLimit = props.fanInLimit ?? DEFAULTS.fanInLimit;
    const fanInWindowSeconds = props.fanInWindowSeconds ?? DEFAULTS.fanInWindowSeconds;
    const batchSize = props.batchSize ?? DEFAULTS.batchSize;
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(DEFAULTS.maxBatchingWindowSeconds);
    const maxConcurrency = props.maxConcurrency ?? DEFAULTS.maxConcurrency;
    const maxSendRatePerSecond = props.maxSendRatePerSecond ?? DEFAULTS.maxSendRatePerSecond;
    const reserved = props.reservedConcurrentExecutions ?? DEFAULTS.dispatcherReservedConcurrency;
    const handlerConcurrency = props.handlerConcurrency ?? DEFAULTS.handlerConcurrency;
    const problems = [
      ...rangeProblems({ fanInLimit, fanInWindowSeconds, batchSize, maxConcurrency, maxSendRatePerSecond, handlerConcurrency }),
      ...rangeProblems({ dispatcherReservedConcurrency: reserved }),
      ...relatedSettingProblems({
        batchSize,
        maxBatchingWindowSeconds: maxBatchingWindow.toSeconds(),
        maxConcurrency,
        dispatcherReservedConcurrency: reserved,
      }),
    ];
    if (problems.length > 0) throw new Error(`Dispatcher ${id}: ${problems.join('; ')}`);

    const region = Stack.of(this).region;
    const { members, ledger } = props;
    const access = TABLE_ACCESS.dispatcher;

    this.addressHashSecret = new secretsmanager.Secret(this, 'AddressHashKey', {
      description: 'mail-dispatch: HMAC key for address hashes (the SecretString is the key itself)',
      encryptionKey: props.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const noRotation =
      'The secret is an HMAC key, not a credential: it turns addresses into the stable pseudonyms stored in the ledger (toHash, the by-address audit index, fan-in counters). Rotating it would orphan every stored hash and silently break audits and fan-in limits. It is CMK-encrypted, readable only by the dispatcher role and operators, and retained.';
    Validations.of(this.addressHashSecret).acknowledge(
      { id: 'AwsSolutions-SMG4', reason: noRotation },
      { id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason: noRotation },
    );

    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/dispatcher/handler.ts',
      description: 'mail-dispatch: checks each message against the member registry and the ledger, then sends it through SES',
      encryptionKey: props.encryptionKey,
      timeout: Dispatcher.TIMEOUT,
      memorySize: props.memorySize,
      reservedConcurrentExecutions: reserved,
      unreservedReason:
        'The event source mapping caps the dispatcher at maxConcurrency; if the account is saturated, messages wait safely in the queue.',
      environment: {
        [Env.membersTable]: members.tableName,
        [Env.ledgerTable]: ledger.tableName,
        [Env.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
        [Env.fromAddress]: props.fromAddress,
        [Env.configurationSet]: props.configurationSetName,
        [Env.templatePrefix]: props.templatePrefix,
        [Env.fanInLimit]: String(fanInLimit),
        [Env.fanInWindowSeconds]: String(fanInWindowSeconds),
        [Env.maxReceiveCount]: String(props.maxReceiveCount),
        // A claim older than two function timeouts belongs to an attempt that has died.
        [Env.claimLeaseSeconds]: String(Dispatcher.CLAIM_LEASE.toSeconds()),
        [Env.addressHashSecretArn]: this.addressHashSecret.secretArn,
        // Each concurrent execution environment paces itself to its share of the SES quota.
        [Env.maxSendsPerSecond]: String(sendsPerSecondPerEnvironment(maxSendRatePerSecond, maxConcurrency)),
        [Env.handlerConcurrency]: String(Math.min(handlerConcurrency, batchSize)),
        POWERTOOLS_SERVICE_NAME: METRICS_SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });
    const fn = this.service.function;
    Validations.of(fn).acknowledge({
      id: 'HIPAA.Security-LambdaDLQ',
      reason:
        "The dispatcher is only invoked synchronously by its SQS event source mapping, where a function DLQ is never used: failed messages go to the dispatch queue's redrive DLQ (maxReceiveCount) and rejected ones are moved there by the dispatcher itself.",
    });

    this.service.allow(
      new iam.PolicyStatement({
        sid: 'ConsumeDispatchQueue',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [props.queue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'MoveRejectedMessagesToDlq',
        actions: ['sqs:SendMessage'],
        resources: [props.deadLetterQueue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRegistryAndCheckRecipient',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
        resources: [members.tableArn],
        // Only what the decision and the claim's checks name (reads are projected): no names, nothing else.
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.memberAttributes] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      }),
      // TransactWriteItems is authorised per item: ConditionCheckItem and UpdateItem (no code puts
      // whole items, so no PutItem).
      new iam.PolicyStatement({
        sid: 'ReadLedger',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
        resources: [ledger.tableArn],
        conditions: { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.ledgerReadDeniedKeys] } },
      }),
      // Dispatch records and fan-in counters, only the attributes the code writes (issue 12.11):
      // never the registry's address index, the pause flag or another function's items.
      new iam.PolicyStatement({
        sid: 'ClaimAndSettleInLedger',
        actions: ['dynamodb:UpdateItem'],
        resources: [ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.ledgerUpdateDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.ledgerAttributes] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      }),
      // Setting the pause flag (a fan-in block, SES pausing the account): its attributes only, so
      // not the resume's; IAM cannot tell `paused = true` from `false`, the attributes are the limit.
      new iam.PolicyStatement({
        sid: 'SetPauseFlag',
        actions: ['dynamodb:UpdateItem'],
        resources: [ledger.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [...access.pauseFlagKeys],
            'dynamodb:Attributes': [...access.pauseFlagAttributes],
          },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReadAddressHashKey',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.addressHashSecret.secretArn],
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughSqsDynamoDbSecretsManager',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': ['sqs', 'dynamodb', 'secretsmanager'].map((service) => `${service}.${region}.amazonaws.com`),
          },
        },
      }),
    );

    this.eventSource = new eventSources.SqsEventSource(props.queue, {
      batchSize,
      maxBatchingWindow: maxBatchingWindow.toSeconds() === 0 ? undefined : maxBatchingWindow,
      maxConcurrency,
      reportBatchItemFailures: true,
      // Per-mapping metrics (PolledEventCount...) let the dashboard show a paused mapping.
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
    });
    fn.addEventSource(this.eventSource);
  }
}
