import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DEFAULTS, rangeProblems } from '../../lambdas/core/defaults';
import { METRIC_NAMESPACE } from '../../lambdas/core/outcomes';
import { REPUTATION_DEFAULTS, type ReputationSettings } from '../../lambdas/core/reputation';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { ServiceFunction } from './service-function';

/** With `dynamodb:Attributes`: a read names its attributes, a write returns none it may not see (issue 12.11). */
const LIMITED_RETURN = { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };

export interface FeedbackProps {
  readonly encryptionKey: kms.IKey;
  /** The member registry (only the suppression attributes are written). */
  readonly members: dynamodb.ITable;
  /** The dispatch ledger (dispatch records and their feedback items). */
  readonly ledger: dynamodb.ITable;
  /** The SES configuration set whose events count (events another one tagged are counted and ignored). */
  readonly configurationSetName: string;
  /** 0 reserves none (SES emits about two events per message; SNS retries when throttled). @default 0 */
  readonly reservedConcurrentExecutions?: number;
  /** Transient bounces in a row of one (member, address) treated as permanent. @default 3 */
  readonly transientBounceLimit?: number;
  /** The reputation guard's thresholds and window of sends (the same the breaker's alarms are given). @default REPUTATION_DEFAULTS */
  readonly reputation?: ReputationSettings;
}

/**
 * The SES feedback loop: the configuration set's events (via the encrypted SNS topic) reach a
 * function that reconciles `in-doubt` dispatches on `send`/`delivery` and suppresses the
 * (member, address hash) pair of a dispatch on a permanent bounce or a complaint. It can update items, never create or delete
 * them, and cannot send mail. MailDispatch subscribes it to the SES events topic.
 */
export class Feedback extends Construct {
  public readonly service: ServiceFunction;

  constructor(scope: Construct, id: string, props: FeedbackProps) {
    super(scope, id);
    const transientBounceLimit = props.transientBounceLimit ?? DEFAULTS.transientBounceLimit;
    const problems = rangeProblems({ transientBounceLimit, feedbackReservedConcurrency: props.reservedConcurrentExecutions });
    if (problems.length > 0) throw new Error(`Feedback ${id}: ${problems.join('; ')}`);
    const region = Stack.of(this).region;
    const { members, ledger } = props;

    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/feedback/handler.ts',
      description: 'mail-dispatch: SES events -> ledger reconcile (in-doubt -> sent) and member suppression',
      encryptionKey: props.encryptionKey,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? DEFAULTS.feedbackReservedConcurrency,
      unreservedReason:
        'SES events reach it through SNS, which retries a throttled delivery; a late event only delays a reconcile or a suppression.',
      asyncFailureQueue: true,
      environment: {
        [Env.membersTable]: members.tableName,
        [Env.ledgerTable]: ledger.tableName,
        // Events another configuration set tagged are counted and ignored.
        [Env.configurationSet]: props.configurationSetName,
        [Env.transientBounceLimit]: String(transientBounceLimit),
        [Env.reputationBounceRatePercent]: String((props.reputation ?? REPUTATION_DEFAULTS).bounceRatePercent),
        [Env.reputationComplaintRatePercent]: String((props.reputation ?? REPUTATION_DEFAULTS).complaintRatePercent),
        [Env.reputationWindowSends]: String((props.reputation ?? REPUTATION_DEFAULTS).windowSends),
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-feedback',
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });

    const access = TABLE_ACCESS.feedback;
    this.service.allow(
      // Dispatch records and their feedback items, never the pause flag, the registry's address
      // index or the fan-in counters (TABLE_ACCESS, lambdas/tables.ts).
      // Only the reconcile and fate attributes, and never a whole item back (ReturnValues, Select).
      // Reads of a dispatch record name the member and the address hash; writes never may (12.11 review):
      // `memberId`/`toHash` key the by-member/by-address audit indexes, so two statements.
      new iam.PolicyStatement({
        sid: 'ReadDispatchRecords',
        actions: ['dynamodb:GetItem'],
        resources: [ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.dispatchRecordDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.dispatchRecordReadAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReconcileDispatchRecords',
        actions: ['dynamodb:UpdateItem'],
        resources: [ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.dispatchRecordDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.dispatchRecordUpdateAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      // Its own counters: transient bounces in a row, the reputation window.
      new iam.PolicyStatement({
        sid: 'CountFeedback',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [ledger.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...access.counterKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.counterAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      // The bounce's dispatchId tag leads to the ledger record, which names the member and the
      // address hash; GetItem tells "already suppressed" from "no such member" after a refused
      // write. Only the suppression attributes: the role cannot rewrite `email`/`proxies`/`status`.
      new iam.PolicyStatement({
        sid: 'SuppressMembers',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [members.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...TABLE_ACCESS.feedback.memberAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDb',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
      }),
    );
  }
}
