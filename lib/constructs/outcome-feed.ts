import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OUTCOME_EVENT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from '../../lambdas/core/outcome-event';
import { METRIC_NAMESPACE } from '../../lambdas/core/outcomes';
import { Env } from '../../lambdas/tables';
import { ServiceFunction } from './service-function';

export interface OutcomeFeedProps {
  readonly encryptionKey: kms.IKey;
  /** The ledger table, with its stream (`NEW_AND_OLD_IMAGES`). */
  readonly ledger: dynamodb.ITable;
  /**
   * The portal's subscriptions: SQS queue ARNs or EventBridge bus ARNs, each the target of one
   * rule for every `Dispatch Outcome` event. @default [] (add a rule by hand, docs/deploy.md)
   */
  readonly subscriberArns?: readonly string[];
  /** Stream records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Tries of a batch that keeps failing (bisected each time) before it goes to the on-failure queue. @default 10 */
  readonly retryAttempts?: number;
}

/**
 * The outcome feed as an outbox: the ledger table's stream → the publisher function (one event per
 * change of a dispatch record) → an EventBridge custom bus. A batch that fails is retried and
 * bisected; a record that still fails (a poison record) goes, as a pointer to its place in the
 * stream, to the on-failure queue, which the stack alarms on. The function may read that one
 * stream and put events on that one bus, nothing else.
 */
export class OutcomeFeed extends Construct {
  public readonly bus: events.EventBus;
  public readonly service: ServiceFunction;
  /** Where the event source mapping sends the stream position of a record it gave up on. */
  public readonly failedRecords: sqs.Queue;
  public readonly eventSource: sources.DynamoEventSource;
  /** The rules to the portal's subscribers, in the order of `subscriberArns`. */
  public readonly subscriptions: events.Rule[];

  constructor(scope: Construct, id: string, props: OutcomeFeedProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const streamArn = props.ledger.tableStreamArn;
    if (!streamArn) throw new Error('OutcomeFeed: the ledger table has no stream (set `stream` on it)');

    // Ids, states, reasons and times only (lambdas/core/outcome-event.ts): the bus holds no
    // personal data, so AWS's own encryption at rest is the right key for it.
    this.bus = new events.EventBus(this, 'Bus', {
      description: 'mail-dispatch outcome feed: one Dispatch Outcome event per ledger change',
    });
    this.failedRecords = new sqs.Queue(this, 'FailedRecords', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/outcome-publisher/handler.ts',
      description: 'mail-dispatch: ledger stream -> Dispatch Outcome events on the outcome bus',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(60),
      memorySize: 256,
      unreservedReason:
        'The stream keeps every record for 24 hours and the mapping retries: a throttled publisher delays events, it loses none.',
      environment: {
        [Env.outcomeBusName]: this.bus.eventBusName,
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-outcome-publisher',
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });
    this.service.allow(
      new iam.PolicyStatement({
        sid: 'ReadLedgerStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
      // ListStreams names no resource: IAM accepts only `*` for it. It lists stream ARNs, no data.
      new iam.PolicyStatement({ sid: 'ListStreams', actions: ['dynamodb:ListStreams'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'DecryptLedgerStream',
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
      new iam.PolicyStatement({ sid: 'PublishOutcomes', actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
      new iam.PolicyStatement({ sid: 'KeepFailedRecordPositions', actions: ['sqs:SendMessage'], resources: [this.failedRecords.queueArn] }),
      new iam.PolicyStatement({
        sid: 'EncryptFailedRecordPositions',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${stack.region}.amazonaws.com` } },
      }),
    );

    Validations.of(this.failedRecords).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter destination: the stream mapping's on-failure destination, holding the stream position of a ledger record it gave up on (OutcomeFeedFailedRecords alarms on it). A queue behind it would have nothing to catch.",
    });
    Validations.of(this.service.function).acknowledge({
      id: 'HIPAA.Security-LambdaDLQ',
      reason:
        "The publisher is only invoked synchronously by its DynamoDB stream mapping, where a function DLQ is never used: the mapping retries, bisects and then sends the failed record's stream position to its on-failure queue (FailedRecords), which is alarmed on.",
    });
    Validations.of(this.service.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only dynamodb:ListStreams, which IAM authorises on * alone (it names no table or stream). Lambda asks for it to manage the ledger stream mapping; it returns stream ARNs, never items. Every data action is on the one stream ARN.',
    });

    this.eventSource = new sources.DynamoEventSource(props.ledger, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: Duration.seconds(0),
      // One batch per shard at a time: one dispatch's events stay in order.
      parallelizationFactor: 1,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      reportBatchItemFailures: true,
      onFailure: new sources.SqsDlq(this.failedRecords),
      // Only dispatch records carry a state: fan-in counters, the pause flag, registry index items
      // and deletions (TTL) never invoke the function.
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
          dynamodb: { NewImage: { state: { S: lambda.FilterRule.exists() } } },
        }),
      ],
    });
    // The grants are the statements above; the mapping would otherwise add broader ones to the role.
    this.service.function.addEventSource(this.eventSource);

    this.subscriptions = (props.subscriberArns ?? []).map((arn, index) => {
      const rule = new events.Rule(this, `Subscription${index + 1}`, {
        eventBus: this.bus,
        description: `Every Dispatch Outcome event to the portal's ${arn.includes(':sqs:') ? 'queue' : 'bus'} ${arn}`,
        eventPattern: { source: [OUTCOME_EVENT_SOURCE], detailType: [OUTCOME_EVENT_DETAIL_TYPE] },
      });
      rule.addTarget(subscriberTarget(this, `Subscriber${index + 1}`, arn));
      return rule;
    });
  }
}

/** A rule target for a subscriber's queue or bus, imported by ARN (it belongs to the portal). */
function subscriberTarget(scope: Construct, id: string, arn: string): events.IRuleTarget {
  if (arn.includes(':sqs:'))
    return new targets.SqsQueue(sqs.Queue.fromQueueArn(scope, id, arn), { retryAttempts: 185, maxEventAge: Duration.hours(24) });
  return new targets.EventBus(events.EventBus.fromEventBusArn(scope, id, arn));
}
