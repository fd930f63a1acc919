import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, MetricName } from '../../lambdas/core/outcomes';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { dispatchMetric } from '../dispatch-metrics';
import { ServiceFunction } from './service-function';

export interface RegistryWatchProps {
  readonly encryptionKey: kms.IKey;
  /** The members table, with its stream (`NEW_AND_OLD_IMAGES`). */
  readonly members: dynamodb.ITable;
  /** Holds the address index items (`registry#*`) and the pause flag. */
  readonly ledger: dynamodb.ITable;
  /** The address-hash key (the dispatcher's): index items are keyed by the mailbox's hash. */
  readonly addressHashSecret: secretsmanager.ISecret;
  /** Most members one mailbox may hold. */
  readonly fanInLimit: number;
  /** The breaker's fixed function name: past the limit the watch trips it (disables the mapping). @default - the pause flag only */
  readonly breakerFunctionName?: string;
  /** `RegistryFanIn` and `RegistryWatchFailedRecords` notify this topic (on-call). @default - no action */
  readonly alarmTopic?: sns.ITopic;
  /** Stream records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Tries of a batch that keeps failing (bisected each time) before it goes to the on-failure queue. @default 10 */
  readonly retryAttempts?: number;
}

/**
 * The registry watch (issue 12.2c): the members table's stream → a function that keeps the
 * per-mailbox address index for every write, guarded or raw, and the moment a mailbox holds more
 * than `fanInLimit` members counts `RegistryFanIn`, sets the pause flag and trips the breaker,
 * before any message flows there. The `RegistryFanIn` alarm pages on-call. The function may read
 * the stream, read four attributes of a member, update the member sets of `registry#*` items and
 * the pause flag, and invoke the breaker: nothing else.
 */
export class RegistryWatch extends Construct {
  public readonly service: ServiceFunction;
  /** Where the mapping sends the stream position of a record it gave up on (alarmed). */
  public readonly failedRecords: sqs.Queue;
  public readonly eventSource: sources.DynamoEventSource;
  public readonly fanInAlarm: cloudwatch.Alarm;
  public readonly failedRecordsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RegistryWatchProps) {
    super(scope, id);
    if (!Number.isInteger(props.fanInLimit) || props.fanInLimit < 1)
      throw new Error(`RegistryWatch ${id}: fanInLimit must be a positive integer`);
    const stack = Stack.of(this);
    const streamArn = props.members.tableStreamArn;
    if (!streamArn) throw new Error('RegistryWatch: the members table has no stream (set `stream` on it)');

    this.failedRecords = new sqs.Queue(this, 'FailedRecords', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/registry-watch/handler.ts',
      description: 'mail-dispatch: members stream -> per-mailbox address index; pauses when a mailbox holds more than fanInLimit members',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(60),
      memorySize: 256,
      unreservedReason:
        "The stream keeps every record for 24 hours and the mapping retries: a throttled watch counts late, it loses nothing; the dispatcher's own fan-in guard holds meanwhile.",
      environment: {
        [Env.membersTable]: props.members.tableName,
        [Env.ledgerTable]: props.ledger.tableName,
        [Env.fanInLimit]: String(props.fanInLimit),
        [Env.addressHashSecretArn]: props.addressHashSecret.secretArn,
        ...(props.breakerFunctionName ? { [Env.breakerFunctionName]: props.breakerFunctionName } : {}),
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-registry-watch',
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });
    const access = TABLE_ACCESS.registryWatch;
    this.service.allow(
      new iam.PolicyStatement({
        sid: 'ReadMembersStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
      // ListStreams names no resource: IAM accepts only `*` for it. It lists stream ARNs, no data.
      new iam.PolicyStatement({ sid: 'ListStreams', actions: ['dynamodb:ListStreams'], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'ReadWhereMembersMailGoes',
        actions: ['dynamodb:GetItem'],
        resources: [props.members.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.memberAttributes] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'KeepTheAddressIndex',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...access.indexKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.indexAttributes] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD'] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'SetThePauseFlag',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...access.pauseKeys] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadAddressHashKey',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.addressHashSecret.secretArn],
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDbSecretsManager',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': ['dynamodb', 'secretsmanager'].map((service) => `${service}.${stack.region}.amazonaws.com`) },
        },
      }),
      new iam.PolicyStatement({ sid: 'KeepFailedRecordPositions', actions: ['sqs:SendMessage'], resources: [this.failedRecords.queueArn] }),
      new iam.PolicyStatement({
        sid: 'EncryptFailedRecordPositions',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${stack.region}.amazonaws.com` } },
      }),
    );
    if (props.breakerFunctionName) {
      this.service.allow(
        new iam.PolicyStatement({
          sid: 'TripTheBreaker',
          actions: ['lambda:InvokeFunction'],
          resources: [
            stack.formatArn({
              service: 'lambda',
              resource: 'function',
              resourceName: props.breakerFunctionName,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }

    Validations.of(this.failedRecords).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is itself a dead-letter destination: the members stream mapping's on-failure destination, holding the stream position of a registry record the watch gave up on (RegistryWatchFailedRecords alarms on it). A queue behind it would have nothing to catch.",
    });
    Validations.of(this.service.function).acknowledge({
      id: 'HIPAA.Security-LambdaDLQ',
      reason:
        "The watch is only invoked synchronously by its DynamoDB stream mapping, where a function DLQ is never used: the mapping retries, bisects and then sends the failed record's stream position to its on-failure queue (FailedRecords), which is alarmed on.",
    });
    Validations.of(this.service.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only dynamodb:ListStreams, which IAM authorises on * alone (it names no table or stream). Lambda asks for it to manage the members stream mapping; it returns stream ARNs, never items. Every data action is on one stream, table or item prefix.',
    });

    this.eventSource = new sources.DynamoEventSource(props.members, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: Duration.seconds(0),
      // One batch per shard at a time: one member's records are handled in order (the watch does
      // not depend on it, it follows the member's current item, but it keeps the index calm).
      parallelizationFactor: 1,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      reportBatchItemFailures: true,
      onFailure: new sources.SqsDlq(this.failedRecords),
    });
    this.service.function.addEventSource(this.eventSource);

    this.fanInAlarm = new cloudwatch.Alarm(this, 'RegistryFanIn', {
      alarmName: `${stack.stackName}-RegistryFanIn`,
      alarmDescription:
        `A registry write left one mailbox with more than ${props.fanInLimit} members: the watch set the pause flag and tripped the breaker. ` +
        'The log line carries the mailbox hash. See docs/runbook.md "RegistryFanIn".',
      metric: dispatchMetric(MetricName.RegistryFanIn, { period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failedRecordsAlarm = new cloudwatch.Alarm(this, 'RegistryWatchFailedRecords', {
      alarmName: `${stack.stackName}-RegistryWatchFailedRecords`,
      alarmDescription:
        'The registry watch gave up on a members stream record: the address index may miss that write (a raw over-limit write could go unnoticed ' +
        'until messages flow; the dispatcher\'s fan-in guard still holds). See docs/runbook.md "RegistryFanIn".',
      metric: this.failedRecords.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      for (const alarm of [this.fanInAlarm, this.failedRecordsAlarm]) {
        alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
        alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
      }
    }
  }
}
