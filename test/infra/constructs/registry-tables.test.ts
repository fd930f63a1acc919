import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { RegistryTables } from '../../../lib/constructs/registry-tables';
import { LEDGER_AUDIT_INDEXES, LEDGER_TABLE, MEMBERS_TABLE } from '../../../lambdas/tables';
import { ledgerTableInput } from '../../../local/provision';
import { bareStack, logicalIdOf } from '../support/stack-fixture';

describe('RegistryTables', () => {
  const { stack, key, keyArn } = bareStack();
  new RegistryTables(stack, 'Registry', { encryptionKey: key });
  const template = Template.fromStack(stack);
  const tables = template.findResources('AWS::DynamoDB::Table');
  const members = tables[logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryMembers')];
  const ledger = tables[logicalIdOf(template, 'AWS::DynamoDB::Table', 'RegistryLedger')];
  const index = (table: typeof members, name: string) =>
    (table.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[]).find((i) => i.IndexName === name);

  it('12.12: keys the members table by memberId, with no copy of the addresses in an index, and streams every write (12.2c)', () => {
    expect(members.Properties.KeySchema).toEqual([{ AttributeName: MEMBERS_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(members.Properties.GlobalSecondaryIndexes).toBeUndefined();
    expect(members.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
  });

  it.each([['members'], ['ledger']])('12.11: the %s table has a resource policy that refuses every request without TLS', (name) => {
    const table = name === 'members' ? members : ledger;
    expect(table.Properties.ResourcePolicy).toEqual({
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyRequestsWithoutTls',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'dynamodb:*',
            Resource: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
  });

  it('keys the ledger by pk with the three audit indexes and the TTL attribute', () => {
    expect(ledger.Properties.KeySchema).toEqual([{ AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' }]);
    for (const gsi of [LEDGER_TABLE.byMemberIndex, LEDGER_TABLE.byAddressIndex, LEDGER_TABLE.byDayIndex]) {
      expect(index(ledger, gsi.name)?.KeySchema).toEqual([
        { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
        { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
      ]);
    }
    expect(ledger.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('projects only the keys into the audit indexes, exactly as the local emulator creates them', () => {
    const local = ledgerTableInput().GlobalSecondaryIndexes ?? [];
    for (const gsi of LEDGER_AUDIT_INDEXES) {
      const deployed = (ledger.Properties.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[]).find(
        (i) => i.IndexName === gsi.name,
      );
      // A settle (state, sentAt, sesMessageId, history) must change nothing an index holds.
      expect(deployed?.Projection).toEqual({ ProjectionType: 'KEYS_ONLY' });
      expect(local.find((i) => i.IndexName === gsi.name)).toEqual({
        IndexName: gsi.name,
        KeySchema: deployed?.KeySchema,
        Projection: deployed?.Projection,
      });
    }
  });

  it.each([
    ['members', () => members],
    ['ledger', () => ledger],
  ])('makes the %s table on-demand, recoverable, CMK-encrypted, undeletable and retained', (_name, table) => {
    expect(table().Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
      DeletionProtectionEnabled: true,
    });
    expect(table().DeletionPolicy).toBe('Retain');
  });

  it('backs both tables up daily and monthly into a CMK-encrypted vault, without restore rights', () => {
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: keyArn });
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: Match.arrayWith([
          Match.objectLike({ RuleName: 'Daily35Days', Lifecycle: { DeleteAfterDays: 35 } }),
          Match.objectLike({ RuleName: 'Monthly', Lifecycle: { DeleteAfterDays: 7 * 365 + 2 } }),
        ]),
      },
    });
    const selection = Object.values(template.findResources('AWS::Backup::BackupSelection'))[0];
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain('RegistryMembers');
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain('RegistryLedger');
    expect(JSON.stringify(template.findResources('AWS::IAM::Role'))).not.toContain('AWSBackupServiceRolePolicyForRestores');
  });

  describe('enableBackupPlan', () => {
    const acknowledged = (construct: IConstruct) =>
      construct.node
        .findAll()
        .flatMap((c) => c.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .map(([id, reason]) => [id.replace(/^annotation::/i, ''), reason]);
    const backupTypes = ['AWS::Backup::BackupVault', 'AWS::Backup::BackupPlan', 'AWS::Backup::BackupSelection'];

    it('keeps the plan by default, with no HIPAA backup-plan acknowledgement', () => {
      const fixture = bareStack();
      const registry = new RegistryTables(fixture.stack, 'Registry', { encryptionKey: fixture.key });
      const synthesized = Template.fromStack(fixture.stack);
      expect(registry.backupPlan).toBeDefined();
      for (const type of backupTypes) synthesized.resourceCountIs(type, 1);
      expect(acknowledged(registry).map(([id]) => id)).not.toContain('HIPAA.Security-DynamoDBInBackupPlan');
    });

    it('leaves the vault, plan and selection out when false, and says why on both tables', () => {
      const fixture = bareStack();
      const registry = new RegistryTables(fixture.stack, 'Registry', { encryptionKey: fixture.key, enableBackupPlan: false });
      const synthesized = Template.fromStack(fixture.stack);
      expect(registry.backupPlan).toBeUndefined();
      for (const type of backupTypes) synthesized.resourceCountIs(type, 0);
      synthesized.resourceCountIs('AWS::DynamoDB::Table', 2);
      for (const table of [registry.members, registry.ledger]) {
        expect(acknowledged(table)).toEqual([
          ['HIPAA.Security-DynamoDBInBackupPlan', expect.stringContaining('enableBackupPlan=false context key, for emulators only')],
        ]);
      }
    });
  });
});
