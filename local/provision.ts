import {
  CreateTableCommand,
  DescribeTableCommand,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateEmailTemplateCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TEMPLATES } from '../lambdas/core/templates';
import { LEDGER_AUDIT_INDEXES, LEDGER_TABLE, LOCAL_OUTCOME_QUEUE, MEMBERS_TABLE, QUEUES } from '../lambdas/tables';

/**
 * How the local tables differ from the deployed ones. Only the bench turns streams off: it runs
 * no stream reader, and DynamoDB Local makes writes to a stream-enabled table that was deleted and
 * created again (the bench's fresh ledger per run) 3-5× slower (`npm run bench:emulator-streams`),
 * which a DynamoDB stream on AWS, read asynchronously off the write path, does not do.
 */
export interface LocalTableOptions {
  /** Enable the table's stream (the outcome publisher and the registry watch read them). @default true */
  readonly streams?: boolean;
}

/** The members table exactly as `lambdas/tables.ts` describes it (and the stack deploys it). */
export function membersTableInput(tableName: string = MEMBERS_TABLE.name, options: LocalTableOptions = {}): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: MEMBERS_TABLE.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: MEMBERS_TABLE.partitionKey, KeyType: 'HASH' }],
    ...(options.streams === false ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: MEMBERS_TABLE.streamViewType } }),
  };
}

/** The ledger table with its three audit indexes, projected as `lambdas/tables.ts` says. */
export function ledgerTableInput(tableName: string = LEDGER_TABLE.name, options: LocalTableOptions = {}): CreateTableCommandInput {
  const attributes = new Set<string>([
    LEDGER_TABLE.partitionKey,
    ...LEDGER_AUDIT_INDEXES.flatMap((index) => [index.partitionKey, index.sortKey]),
  ]);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [{ AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' }],
    ...(options.streams === false ? {} : { StreamSpecification: { StreamEnabled: true, StreamViewType: LEDGER_TABLE.streamViewType } }),
    GlobalSecondaryIndexes: LEDGER_AUDIT_INDEXES.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection },
    })),
  };
}

/** The two tables' stream ARNs: the ledger's feeds the outcome publisher, the members' the registry watch. */
export interface TableStreams {
  readonly ledgerStreamArn: string;
  readonly membersStreamArn: string;
}

/** Creates both tables; returns their streams' ARNs (empty without streams). */
export async function createTables(
  client: DynamoDBClient,
  names: { members: string; ledger: string },
  options: LocalTableOptions = {},
): Promise<TableStreams> {
  const [members, ledger] = await Promise.all([
    client.send(new CreateTableCommand(membersTableInput(names.members, options))),
    client.send(new CreateTableCommand(ledgerTableInput(names.ledger, options))),
  ]);
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: names.ledger,
      TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.ttlAttribute, Enabled: true },
    }),
  );
  return {
    ledgerStreamArn: ledger.TableDescription?.LatestStreamArn ?? '',
    membersStreamArn: members.TableDescription?.LatestStreamArn ?? '',
  };
}

/** The queue that stands for the outcome bus locally: what an EventBridge rule's SQS target would receive. */
export async function createOutcomeQueue(client: SQSClient): Promise<{ outcomeQueueUrl: string }> {
  const queue = await client.send(
    new CreateQueueCommand({ QueueName: LOCAL_OUTCOME_QUEUE, Attributes: { MessageRetentionPeriod: '1209600' } }),
  );
  return { outcomeQueueUrl: queue.QueueUrl ?? '' };
}

/** As `createTables`, keeping tables a kept data directory already holds. */
export async function createTablesIfMissing(client: DynamoDBClient, names: { members: string; ledger: string }): Promise<TableStreams> {
  const { TableNames = [] } = await client.send(new ListTablesCommand({}));
  if (!TableNames.includes(names.members) || !TableNames.includes(names.ledger)) return createTables(client, names);
  const [{ Table: ledger }, { Table: members }] = await Promise.all([
    client.send(new DescribeTableCommand({ TableName: names.ledger })),
    client.send(new DescribeTableCommand({ TableName: names.members })),
  ]);
  return { ledgerStreamArn: ledger?.LatestStreamArn ?? '', membersStreamArn: members?.LatestStreamArn ?? '' };
}

export interface QueueSettings {
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

export interface CreatedQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

/** The DLQ, then the dispatch queue whose redrive policy moves a message there after `maxReceiveCount` receives. */
export async function createQueues(client: SQSClient, settings: QueueSettings): Promise<CreatedQueues> {
  const arnOf = async (url: string) =>
    (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: QUEUES.deadLetter, Attributes: { MessageRetentionPeriod: '1209600' } }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqArn = await arnOf(dlqUrl);
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: QUEUES.dispatch,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(settings.maxReceiveCount) }),
      },
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  return { queueUrl, queueArn: await arnOf(queueUrl), dlqUrl, dlqArn };
}

/** Uploads the allow-listed templates, as the stack does. */
export async function createTemplates(client: SESv2Client): Promise<void> {
  await Promise.all(
    Object.values(TEMPLATES).map((template) =>
      client.send(
        new CreateEmailTemplateCommand({
          TemplateName: template.name,
          TemplateContent: { Subject: template.subject, Text: template.text, Html: template.html },
        }),
      ),
    ),
  );
}
