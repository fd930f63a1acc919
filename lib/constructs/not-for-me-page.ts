import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE, MetricName } from '../../lambdas/core/outcomes';
import { DEFAULT_NOT_FOR_ME_SETTINGS } from '../../lambdas/not-for-me/settings';
import { Env, TABLE_ACCESS } from '../../lambdas/tables';
import { dispatchMetric } from '../dispatch-metrics';
import { ServiceFunction } from './service-function';

/** With `dynamodb:Attributes`: a read names its attributes, a write returns none it may not see (issue 12.11). */
const LIMITED_RETURN = { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES', 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };

export interface NotForMePageProps {
  readonly encryptionKey: kms.IKey;
  readonly members: dynamodb.ITable;
  /** Holds the dispatch records, the report window, the rate-limit counters and the pause flag. */
  readonly ledger: dynamodb.ITable;
  /** The breaker's fixed function name: past the threshold the page trips it (disables the mapping). @default - the pause flag only */
  readonly breakerFunctionName?: string;
  /** `NotForMeReported` notifies this topic (on-call). @default - no action */
  readonly alarmTopic?: sns.ITopic;
  /** Distinct dispatches reported within the window that pause the pipeline. @default 3 */
  readonly pauseThreshold?: number;
  /** @default Duration.hours(1) */
  readonly window?: Duration;
  /**
   * Reserved concurrency: with one, it also caps the page (beyond it Lambda answers 429). A
   * function URL has no request-rate setting; the page's own throttle is the per-token and
   * per-source limits it keeps in DynamoDB, so none is reserved by default (an account below
   * 100 unreserved executions could not deploy a reservation, see the other functions).
   * @default 0 (none)
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * The "not for me" page: a function behind a public Lambda function URL (the recipient has no
 * account, so the signed link is the only credential), the secret that keys those links, and the
 * `NotForMeReported` alarm that pages on-call for every report. The function can read dispatch
 * records and write only report fields, rate-limit counters and the pause flag; it cannot send mail,
 * read the queue, or hash addresses.
 */
export class NotForMePage extends Construct {
  public readonly service: ServiceFunction;
  public readonly functionUrl: lambda.FunctionUrl;
  /** Keys the links (HKDF-derived encryption and MAC keys). Rotating it breaks the links already sent. */
  public readonly linkKeySecret: secretsmanager.Secret;
  public readonly reportedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NotForMePageProps) {
    super(scope, id);
    const pauseThreshold = props.pauseThreshold ?? DEFAULT_NOT_FOR_ME_SETTINGS.pauseThreshold;
    const windowSeconds = (props.window ?? Duration.seconds(DEFAULT_NOT_FOR_ME_SETTINGS.windowSeconds)).toSeconds();
    const problems: string[] = [];
    if (!Number.isInteger(pauseThreshold) || pauseThreshold < 1) problems.push('pauseThreshold must be a positive integer');
    if (!Number.isInteger(windowSeconds) || windowSeconds < 60) problems.push('window must be at least 60 seconds');
    if (problems.length > 0) throw new Error(`NotForMePage ${id}: ${problems.join('; ')}`);
    const stack = Stack.of(this);

    this.linkKeySecret = new secretsmanager.Secret(this, 'LinkKey', {
      description: 'mail-dispatch: key of the "not for me" links (HKDF input for their encryption and HMAC keys)',
      encryptionKey: props.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const noRotation =
      'The secret keys the "not for me" links in e-mails already sent (valid 30 days): rotating it would turn every live link into "this link does not work" for the very recipients who must be able to report. It is not a credential to any system; it is CMK-encrypted, readable only by the dispatcher and page roles, and retained. Replacing it is a planned operation (docs/runbook.md).';
    Validations.of(this.linkKeySecret).acknowledge(
      { id: 'AwsSolutions-SMG4', reason: noRotation },
      { id: 'HIPAA.Security-SecretsManagerRotationEnabled', reason: noRotation },
    );

    this.service = new ServiceFunction(this, 'Service', {
      entry: 'lambdas/not-for-me/handler.ts',
      description: 'mail-dispatch: the "not for me" page (GET shows it, POST records the report, blocks the pair, may pause)',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(10),
      memorySize: 256,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 0,
      unreservedReason:
        'A recipient who meets a throttled page is told to try again; nothing is lost, and sending does not depend on the page (the pause flag and the breaker stop sending without it).',
      environment: {
        [Env.membersTable]: props.members.tableName,
        [Env.ledgerTable]: props.ledger.tableName,
        [Env.reportLinkSecretArn]: this.linkKeySecret.secretArn,
        [Env.reportPauseThreshold]: String(pauseThreshold),
        [Env.reportWindowSeconds]: String(windowSeconds),
        ...(props.breakerFunctionName ? { [Env.breakerFunctionName]: props.breakerFunctionName } : {}),
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch-not-for-me',
        POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      },
    });
    Validations.of(this.service.function).acknowledge({
      id: 'HIPAA.Security-LambdaDLQ',
      reason:
        'The page is only invoked synchronously through its function URL: the browser gets every answer (a failure is a "try again" page and changes nothing), so there is no asynchronous invocation whose event a DLQ could keep.',
    });

    const access = TABLE_ACCESS.notForMe;
    this.service.allow(
      // Reads the dispatch record; writes its report fields, the report window and rate-limit items.
      // (issue 12.11) Each statement names its item kinds and their attributes, and never returns a
      // whole item (AWS's pattern for attribute-level access: ReturnValues and Select limited).
      // Reads of a dispatch record name the member and the address hash; writes never may (12.11 review):
      // `memberId`/`toHash` key the by-member/by-address audit indexes, so two statements.
      new iam.PolicyStatement({
        sid: 'ReadDispatchRecords',
        actions: ['dynamodb:GetItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.dispatchRecordDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.dispatchRecordReadAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      new iam.PolicyStatement({
        sid: 'RecordReportsInLedger',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [...access.dispatchRecordDeniedKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.dispatchRecordUpdateAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      new iam.PolicyStatement({
        sid: 'CountReportsAndRateLimits',
        actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...access.counterKeys] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.counterAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      // Past the report threshold the page sets the pause flag: a pause's attributes, not a resume's.
      new iam.PolicyStatement({
        sid: 'SetPauseFlag',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.ledger.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [...access.pauseFlagKeys],
            'dynamodb:Attributes': [...access.pauseFlagAttributes],
          },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      }),
      new iam.PolicyStatement({
        sid: 'SuppressReportedAddress',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.members.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...access.memberAttributes] },
          StringEqualsIfExists: LIMITED_RETURN,
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReadLinkKey',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.linkKeySecret.secretArn],
      }),
      new iam.PolicyStatement({
        sid: 'UseKeyThroughDynamoDbSecretsManager',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': ['dynamodb', 'secretsmanager'].map((service) => `${service}.${stack.region}.amazonaws.com`) },
        },
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

    // Public on purpose: the recipient has no account; the signed, expiring token is the credential.
    this.functionUrl = this.service.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.BUFFERED,
    });
    Validations.of(this.service.function).acknowledge({
      id: 'HIPAA.Security-LambdaFunctionPublicAccessProhibited',
      reason:
        'The page must be reachable by whoever received the e-mail, who has no account with us: the two permissions allow only lambda:InvokeFunctionUrl (auth type NONE) and lambda:InvokeFunction via that URL. The credential is the link itself: an encrypted, HMAC-signed token bound to one dispatch and one address hash, expiring after 30 days; GET changes nothing, POST is rate-limited per token and per source, and and a reservation can cap the function. No page carries member data.',
    });

    this.reportedAlarm = new cloudwatch.Alarm(this, 'NotForMeReported', {
      alarmName: `${stack.stackName}-NotForMeReported`,
      alarmDescription:
        'A recipient confirmed that an e-mail was not for them: that (member, address) pair is blocked (reported-not-mine). ' +
        `Check the member's registered address; ${pauseThreshold} reports within ${windowSeconds} s pause the pipeline. See docs/runbook.md "Not for me".`,
      metric: dispatchMetric(MetricName.NotForMeReported, { period: Duration.minutes(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.reportedAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      this.reportedAlarm.addOkAction(new actions.SnsAction(props.alarmTopic));
    }
  }

  /** What a sender needs to make links: read the link key (the stack also gives it the page URL). */
  public readLinkKeyStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'ReadReportLinkKey',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [this.linkKeySecret.secretArn],
    });
  }
}
