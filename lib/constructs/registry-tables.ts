import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_AUDIT_INDEXES, LEDGER_TABLE, MEMBERS_TABLE } from '../../lambdas/tables';

export interface RegistryTablesProps {
  /** The customer-managed key both tables are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * What CloudFormation does with the tables when they leave the stack. The ledger is the audit
   * trail of who was mailed where; the registry is the source of truth for addresses.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long the monthly AWS Backup recovery points are kept. The ledger is the record of which
   * member's message reached which address; HIPAA keeps such documentation six years
   * (45 CFR 164.316(b)(2)), so seven years by default. Daily points are kept 35 days.
   * @default Duration.days(7 * 365 + 2)
   */
  readonly monthlyBackupRetention?: Duration;
  /**
   * Back the tables up with AWS Backup. Only for an emulator without AWS Backup (LocalStack):
   * without the plan only point-in-time recovery (35 days) is left, short of the retention above.
   * @default true
   */
  readonly enableBackupPlan?: boolean;
}

/** Why an emulator deployment may go without the backup plan (the HIPAA pack flags the tables). */
const NO_BACKUP_PLAN_REASON =
  'Backups disabled by the enableBackupPlan=false context key, for emulators only (an emulator such as LocalStack may lack AWS Backup); production keeps the plan: daily backups kept 35 days and monthly ones 7 years, beside point-in-time recovery.';

/**
 * The member registry and the dispatch ledger (which also holds the fan-in counters and the
 * pause flag). Keys, indexes and the TTL attribute come from `lambdas/tables.ts`, the one
 * description shared with the handlers, the local emulators and the ops CLI. Both tables are
 * on-demand, CMK-encrypted, point-in-time recoverable, backed up by AWS Backup (unless turned off
 * for an emulator) and protected from deletion.
 */
export class RegistryTables extends Construct {
  public readonly members: dynamodb.Table;
  public readonly ledger: dynamodb.Table;
  /** Daily (35 days) and monthly backups of both tables, beside their 35-day point-in-time recovery; absent when `enableBackupPlan` is false. */
  public readonly backupPlan?: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: RegistryTablesProps) {
    super(scope, id);
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Refuse every request that does not come over TLS, whatever IAM allows (issue 12.11). The
      // table's own ARN cannot appear in its resource policy (a circular reference): `*` here
      // means this table.
      resourcePolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'DenyRequestsWithoutTls',
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['dynamodb:*'],
            resources: ['*'],
            conditions: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ],
      }),
    } as const;
    const string = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

    this.members = new dynamodb.Table(this, 'Members', {
      ...common,
      partitionKey: string(MEMBERS_TABLE.partitionKey),
      // The registry watch counts members per mailbox from every write, guarded or raw (12.2c).
      stream: dynamodb.StreamViewType[MEMBERS_TABLE.streamViewType],
    });

    this.ledger = new dynamodb.Table(this, 'Ledger', {
      ...common,
      partitionKey: string(LEDGER_TABLE.partitionKey),
      timeToLiveAttribute: LEDGER_TABLE.ttlAttribute,
      // The outcome feed's outbox: every change of a dispatch record, in order per record.
      stream: dynamodb.StreamViewType[LEDGER_TABLE.streamViewType],
    });
    // Audit queries (by member, by address hash, by day) must never need a scan. Keys only:
    // the settle write then touches no index (see `IndexProjection`).
    for (const index of LEDGER_AUDIT_INDEXES) {
      this.ledger.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: string(index.partitionKey),
        sortKey: string(index.sortKey),
        projectionType: dynamodb.ProjectionType[index.projection],
      });
    }

    if (props.enableBackupPlan ?? true) {
      this.backupPlan = this.backUp(props.encryptionKey, props.monthlyBackupRetention ?? Duration.days(7 * 365 + 2));
    } else {
      for (const table of [this.members, this.ledger]) {
        Validations.of(table).acknowledge({ id: 'HIPAA.Security-DynamoDBInBackupPlan', reason: NO_BACKUP_PLAN_REASON });
      }
    }
  }

  /** A CMK-encrypted vault and a daily + monthly plan for both tables. */
  private backUp(encryptionKey: kms.IKey, monthlyRetention: Duration): backup.BackupPlan {
    const stack = Stack.of(this);
    // Retained, so its name must not come back: a redeploy after `cdk destroy` would meet the old
    // vault (AlreadyExists). The stack id's UUID is new for every stack created, stable across updates.
    const stackUuid = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', stack.stackId))));
    const vault = new backup.BackupVault(this, 'BackupVault', {
      backupVaultName: `${stack.stackName.slice(0, 30)}-backup-${stackUuid}`,
      encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const plan = new backup.BackupPlan(this, 'BackupPlan', {
      backupPlanName: `${stack.stackName.slice(0, 40)}-tables`,
      backupVault: vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily35Days',
          scheduleExpression: events.Schedule.cron({ hour: '5', minute: '0' }),
          deleteAfter: Duration.days(35),
        }),
        new backup.BackupPlanRule({
          ruleName: 'Monthly',
          scheduleExpression: events.Schedule.cron({ day: '1', hour: '5', minute: '0' }),
          deleteAfter: monthlyRetention,
        }),
      ],
    });
    const selection = plan.addSelection('Tables', {
      resources: [backup.BackupResource.fromDynamoDbTable(this.members), backup.BackupResource.fromDynamoDbTable(this.ledger)],
      // Restores are an operator's act with their own credentials, not this role's.
      allowRestores: false,
    });
    Validations.of(selection).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason:
        "The role is assumable only by backup.amazonaws.com and carries AWS's own service-role policy for AWS Backup, which AWS keeps current as the service changes; a hand-written copy would drift. Restores are not granted (allowRestores: false).",
    });
    return plan;
  }
}
