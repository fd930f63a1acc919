import { Aws, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The name prefix of every log group of this stack: `/mail-dispatch/<stack name>-<stack id UUID>/`.
 * The UUID is new for every stack created and stable across updates: the groups are retained, so a
 * redeploy after `cdk destroy` must not meet its old names (AlreadyExists), as the backup vault.
 */
export function logGroupPrefix(scope: Construct): string {
  const stack = Stack.of(scope);
  const stackUuid = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', stack.stackId))));
  return `/mail-dispatch/${stack.stackName.slice(0, 60)}-${stackUuid}/`;
}

export interface EncryptionKeyProps {
  /**
   * Days KMS waits before deleting the key once scheduled (7-30). The key protects every table,
   * queue, topic, log group and the address-hash secret: losing it loses all of them.
   * @default 30
   */
  readonly pendingWindowDays?: number;
}

/**
 * The one customer-managed KMS key of the pipeline (annual rotation on). Besides IAM grants in the
 * owning constructs, its key policy lets exactly three AWS services use it, each only on behalf of
 * this account: CloudWatch Logs (for this stack's log groups only), CloudWatch alarms (to publish to
 * the encrypted alarm topic) and SES (to publish to the encrypted SES event topic).
 */
export class EncryptionKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps = {}) {
    super(scope, id);
    const pendingWindowDays = props.pendingWindowDays ?? 30;
    if (!Number.isInteger(pendingWindowDays) || pendingWindowDays < 7 || pendingWindowDays > 30) {
      throw new Error(`EncryptionKey: pendingWindowDays must be an integer from 7 to 30 (got ${pendingWindowDays})`);
    }
    this.key = new kms.Key(this, 'Key', {
      description: 'mail-dispatch: encrypts the dispatch queue, DLQ, registry tables, topics, log groups and the address-hash secret',
      enableKeyRotation: true,
      pendingWindow: Duration.days(pendingWindowDays),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const region = Stack.of(this).region;

    // Only this stack's log groups (issue 12.11): every ServiceFunction names its group under
    // `logGroupPrefix`, so no other log group of the account can be encrypted (or read) with the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsForThisStacksLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${region}:${Aws.ACCOUNT_ID}:log-group:${logGroupPrefix(this)}*`,
          },
        },
      }),
    );
    // Alarm actions and SES event publishing write to KMS-encrypted SNS topics; SNS asks KMS for
    // a data key on the publisher's behalf, so the publisher service must be allowed here.
    for (const [sid, service] of [
      ['AllowCloudWatchAlarmsToPublishToEncryptedTopics', 'cloudwatch.amazonaws.com'],
      ['AllowSesToPublishToEncryptedTopics', 'ses.amazonaws.com'],
    ] as const) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
      );
    }
  }
}
