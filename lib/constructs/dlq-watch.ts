import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEAD_LETTER_READ_ATTRIBUTES } from '../../lambdas/adapters/dynamodb-dead-letter-ledger';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { ServiceFunction } from './service-function';

export interface DlqWatchProps {
  readonly encryptionKey: kms.IKey;
  /** The dispatch queue's DLQ (encrypted with `encryptionKey`). */
  readonly deadLetterQueue: sqs.IQueue;
  /** The ledger: dispatch records and `rejected#*` records only are touched. */
  readonly ledger: dynamodb.ITable;
  /** The dispatcher's claim lease, seconds: a `claimed` record older than this is abandoned (12.7). @default the dispatcher's default */
  readonly claimLeaseSeconds?: number;
  /** How often the DLQ is swept. @default Duration.minutes(5) */
  readonly schedule?: Duration;
  /** The watch's failure alarm notifies this topic (on-call). @default - no action */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The DLQ watch (issue 14, "zero silent failures"): a schedule invokes a function that peeks every
 * DLQ message (receive, never delete, visibility back to 0) and gives each one that has no end in
 * the ledger its `failed(dead-lettered)` (or `rejected`, or `in-doubt` for an abandoned claim)
 * record, so the outcome feed tells the portal. The messages stay for `ops redrive`. The function
 * may receive and change visibility on the DLQ, read and conditionally update dispatch and
 * rejected records (listed attributes), and nothing else; `DlqWatchErrors` pages when it fails.
 */
export class DlqWatch extends Construct {
  public readonly service: ServiceFunction;
  public readonly rule: events.Rule;
  /** A sweep failed (an invocation error, or async retries given up: `FailedInvocations` holds it). */
  public readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DlqWatchProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const schedule = props.schedule ?? Duration.minutes(5);
    if (schedule.toSeconds() < 60) throw new Error(`DlqWatch ${id}: schedule must be at least one minute`);
    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/dlq-watch/handler.ts',
      description: 'mail-dispatch: gives every DLQ message without a recorded end its failed record (outcome event); deletes nothing',
      encryptionKey: props.encryptionKey,
      // A sweep hides what it peeked for 120 s and releases it after at most half of that.
      timeout: Duration.seconds(90),
      memorySize: 256,
      asyncFailureQueue: true,
      unreservedReason:
        'A throttled or skipped sweep loses nothing: every message stays in the DLQ and the next sweep (minutes later) looks at it again.',
      environment: {
        [Env.ledgerTable]: props.ledger.tableName,
        [Env.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
        ...(props.claimLeaseSeconds !== undefined ? { [Env.claimLeaseSeconds]: String(props.claimLeaseSeconds) } : {}),
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-dlq-watch',
      },
    });
    const access = TABLE_ACCESS.dlqWatch;
    this.service.allow(
      new iam.PolicyStatement({
        sid: 'PeekTheDeadLetterQueue',
        // No sqs:DeleteMessage: moving messages out is ops redrive's alone.
        actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        resources: [props.deadLetterQueue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadDeadLetteredRecords',
        actions: ['dynamodb:GetItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.ledgerDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...DEAD_LETTER_READ_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'RecordDeadLetteredEnds',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.ledgerDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.ledgerAttributes] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDbAndSqs',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': ['dynamodb', 'sqs'].map((service) => `${service}.${stack.region}.amazonaws.com`) },
        },
      }),
    );
    this.rule = new events.Rule(this, 'Schedule', {
      description: 'mail-dispatch: sweep the DLQ for messages without a recorded end',
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.service.function, { retryAttempts: 2 })],
    });

    this.errorsAlarm = new cloudwatch.Alarm(this, 'DlqWatchErrors', {
      alarmName: `${stack.stackName}-DlqWatchErrors`,
      alarmDescription:
        'The DLQ watch failed a sweep: dead-lettered messages may have no recorded end, so the portal has not heard their fate. ' +
        'See docs/runbook.md "DlqWatchErrors".',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(errors, 0) + FILL(kept, 0)',
        usingMetrics: {
          errors: this.service.function.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
          kept: this.service.failureQueue!.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(15) }),
        },
        period: Duration.minutes(15),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.errorsAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.errorsAlarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
  }
}
