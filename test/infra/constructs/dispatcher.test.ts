import type { Template } from 'aws-cdk-lib/assertions';
import { Dispatcher } from '../../../lib/constructs/dispatcher';
import { Env, TABLE_ACCESS } from '../../../lambdas/tables';
import { actionsOf, allActions, logicalIdOf, type Statement, statementsOfRole, synthMailDispatch } from '../support/stack-fixture';

/** `DispatchQueue/Queue` collapses to `DispatchQueue<hash>`. */
const DISPATCH_QUEUE = /^DispatchQueue[0-9A-F]{8}$/;

describe('Dispatcher', () => {
  let template: Template;
  let statements: Statement[];
  let fn: { Properties: Record<string, any> };
  const settings = {
    fromAddress: 'notices@portal.example.org',
    batchSize: 8,
    maxBatchingWindowSeconds: 2,
    maxConcurrency: 6,
    maxSendRatePerSecond: 12,
  };

  beforeAll(() => {
    template = synthMailDispatch(settings).template;
    statements = statementsOfRole(template, 'DispatcherServiceRole');
    fn = template.findResources('AWS::Lambda::Function')[
      logicalIdOf(template, 'AWS::Lambda::Function', 'DispatcherServiceFunction')
    ] as never;
  });

  describe('event source', () => {
    it('reports batch item failures and takes batch size, window and maxConcurrency from the settings', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 8,
        MaximumBatchingWindowInSeconds: 2,
        ScalingConfig: { MaximumConcurrency: 6 },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', DISPATCH_QUEUE), 'Arn'] },
      });
    });

    it('gives the queue a visibility timeout of at least six function timeouts', () => {
      const queue = template.findResources('AWS::SQS::Queue')[logicalIdOf(template, 'AWS::SQS::Queue', DISPATCH_QUEUE)];
      expect(fn.Properties.Timeout).toBe(Dispatcher.TIMEOUT.toSeconds());
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout);
    });
  });

  describe('function', () => {
    it('runs on arm64, Node.js 22 or newer, 30 s, 512 MB, with no reserved concurrency unless asked (18.1)', () => {
      expect(fn.Properties).toMatchObject({ Architectures: ['arm64'], Timeout: 30, MemorySize: 512 });
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    });

    it('sets every environment variable the handler reads', () => {
      const env = fn.Properties.Environment.Variables;
      for (const name of [
        Env.membersTable,
        Env.ledgerTable,
        Env.deadLetterQueueUrl,
        Env.fromAddress,
        Env.configurationSet,
        Env.fanInLimit,
        Env.fanInWindowSeconds,
        Env.maxReceiveCount,
        Env.claimLeaseSeconds,
        Env.addressHashSecretArn,
        Env.maxSendsPerSecond,
        Env.handlerConcurrency,
      ]) {
        expect(env).toHaveProperty([name]);
      }
      expect(env).toMatchObject({
        [Env.fromAddress]: 'notices@portal.example.org',
        [Env.maxSendsPerSecond]: '2',
        [Env.handlerConcurrency]: '1',
        POWERTOOLS_SERVICE_NAME: 'mail-dispatch',
      });
      expect(env).not.toHaveProperty([Env.addressHashKey]);
    });

    it('keeps the address-hash key in a generated, CMK-encrypted secret', () => {
      const secretId = logicalIdOf(template, 'AWS::SecretsManager::Secret', 'DispatcherAddressHashKey');
      const secret = template.findResources('AWS::SecretsManager::Secret')[secretId];
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
      expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::KMS::Key', 'EncryptionKey'), 'Arn'] });
      expect(fn.Properties.Environment.Variables[Env.addressHashSecretArn]).toEqual({ Ref: secretId });
    });
  });

  describe('permissions', () => {
    const on = (prefix: string) => ({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::DynamoDB::Table', prefix), 'Arn'] });
    const actionsOn = (resource: unknown) =>
      statements
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(resource))
        .flatMap(actionsOf)
        .sort();

    it('12.11: has the actions of one TransactWriteItems claim (its ledger items are Updates) on the ledger, and no PutItem or ConditionCheckItem', () => {
      expect(actionsOn(on('RegistryLedger'))).toEqual(
        ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:UpdateItem'].sort(),
      );
    });

    const bySid = (sid: string) => {
      const found = statements.filter((s) => s.Sid === sid);
      expect(found).toHaveLength(1);
      return found[0];
    };
    const RETURN_VALUES = { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] };

    it("12.11: the dispatcher's record and counter UpdateItem reaches neither the registry's address index, the pause flag nor other functions' items, and only the attributes the code writes", () => {
      expect(
        statements
          .filter((s) => actionsOf(s).includes('dynamodb:UpdateItem'))
          .map((s) => s.Sid)
          .sort(),
      ).toEqual(['ClaimAndSettleInLedger', 'SetPauseFlag']);
      expect(bySid('ClaimAndSettleInLedger').Condition).toEqual({
        'ForAllValues:StringNotLike': {
          'dynamodb:LeadingKeys': ['registry#*', 'control#*', 'softbounce#*', 'notforme#*', 'ratelimit#*', 'reputation#*'],
        },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...TABLE_ACCESS.dispatcher.ledgerAttributes] },
        StringEqualsIfExists: RETURN_VALUES,
      });
      for (const attribute of ['email', 'proxies', 'status', 'paused', 'resumedBy', 'suppressions', 'fate', 'reportedNotMineAt']) {
        expect(TABLE_ACCESS.dispatcher.ledgerAttributes).not.toContain(attribute);
      }
    });

    it('12.11: the dispatcher may only set the pause flag: that one item, the attributes a pause writes, never those of a resume', () => {
      expect(bySid('SetPauseFlag')).toMatchObject({
        Action: 'dynamodb:UpdateItem',
        Condition: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': ['control#pause'],
            'dynamodb:Attributes': [...TABLE_ACCESS.dispatcher.pauseFlagAttributes],
          },
          StringEqualsIfExists: RETURN_VALUES,
        },
      });
      expect(TABLE_ACCESS.dispatcher.pauseFlagAttributes).not.toContain('resumedBy');
      expect(TABLE_ACCESS.dispatcher.pauseFlagAttributes).not.toContain('resumedAt');
    });

    it('12.11: reads no ledger item of another function (registry index, soft bounces, "not for me" reports and rate limits, reputation counters)', () => {
      expect(bySid('ReadLedger')).toMatchObject({
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
        Condition: {
          'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['softbounce#*', 'notforme#*', 'ratelimit#*', 'reputation#*'] },
        },
      });
    });

    it('12.11: reads and condition-checks only the member attributes its decision and claim name (dynamodb:Attributes, SPECIFIC_ATTRIBUTES)', () => {
      expect(bySid('ReadRegistryAndCheckRecipient').Condition).toEqual({
        'ForAllValues:StringEquals': {
          'dynamodb:Attributes': ['memberId', 'email', 'status', 'proxies', 'suppressed', 'suppressions', 'proxyFor'],
        },
        StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      });
    });

    it('can only read and condition-check the member registry', () => {
      expect(actionsOn(on('RegistryMembers'))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem']);
    });

    it('cannot Scan, Query, delete items or tables, or use any wildcard action', () => {
      const actions = allActions(statements);
      for (const forbidden of ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable', 'dynamodb:*', '*']) {
        expect(actions).not.toContain(forbidden);
      }
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    });

    it('can send e-mail only with From = the configured address', () => {
      const ses = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')));
      expect(ses).toHaveLength(1);
      expect(actionsOf(ses[0])).toEqual(['ses:SendEmail']);
      expect(ses[0].Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'notices@portal.example.org' } });
      expect(JSON.stringify(ses[0].Resource)).not.toContain('"*"');
    });

    it('may send SQS messages to the DLQ only', () => {
      const send = statements.filter((s) => actionsOf(s).includes('sqs:SendMessage'));
      expect(send.map((s) => s.Resource)).toEqual([
        { 'Fn::GetAtt': [logicalIdOf(template, 'AWS::SQS::Queue', 'DispatchQueueDeadLetterQueue'), 'Arn'] },
      ]);
    });

    it('reads only its own secret and the link key, and uses the key only through SQS, DynamoDB and Secrets Manager', () => {
      const secret = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
      expect(secret).toEqual([
        expect.objectContaining({
          Action: 'secretsmanager:GetSecretValue',
          Resource: { Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret', 'DispatcherAddressHashKey') },
        }),
        // The "not for me" links are made at send time with the page's key (read once per cold start).
        expect.objectContaining({
          Sid: 'ReadReportLinkKey',
          Action: 'secretsmanager:GetSecretValue',
          Resource: { Ref: logicalIdOf(template, 'AWS::SecretsManager::Secret', 'NotForMeLinkKey') },
        }),
      ]);
      const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      expect(kms.every((s) => s.Condition?.StringEquals?.['kms:ViaService'] !== undefined)).toBe(true);
    });

    it('has no AWS-managed or inline policy', () => {
      const role = template.findResources('AWS::IAM::Role')[logicalIdOf(template, 'AWS::IAM::Role', 'DispatcherServiceRole')];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    });
  });
});
