import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import type { OutcomeEvent } from '../../../lambdas/ports';
import { LEDGER_TABLE, LedgerKey } from '../../../lambdas/tables';
import type { LocalPipeline } from '../../../local/local-pipeline';

/** Members written straight to the table (the registry's guard is not what these tests are about). */
export async function putMembers(
  pipeline: LocalPipeline,
  members: readonly { memberId: string; email: string; proxies?: string[] }[],
): Promise<void> {
  const { aws } = pipeline;
  for (const member of members) {
    await aws.clients.dynamodb.send(
      new PutItemCommand({ TableName: aws.tables.members, Item: marshall({ status: 'active', proxies: [], ...member }) }),
    );
  }
}

export function message(dispatchId: string, memberId: string, to: string) {
  return { dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Pat' } };
}

/** Publishes as the portal would; returns the SQS message ids in order. */
export async function publish(pipeline: LocalPipeline, messages: readonly object[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const entries = messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) }));
    const result = await pipeline.aws.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: pipeline.aws.queueUrl, Entries: entries }));
    const byId = new Map((result.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
    ids.push(...entries.map((e) => byId.get(e.Id) ?? ''));
  }
  return ids;
}

export async function ledgerRecord(pipeline: LocalPipeline, dispatchId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await pipeline.aws.clients.dynamodb.send(
    new GetItemCommand({
      TableName: pipeline.aws.tables.ledger,
      Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(dispatchId) } },
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/** How many e-mails the SES emulator holds per dispatchId (from the `Reference:` line). */
export async function deliveriesByDispatchId(pipeline: LocalPipeline): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  for (const email of await pipeline.aws.sesStore()) {
    const id = dispatchRefFromText(email.body.text ?? '') ?? '(none)';
    byId.set(id, [...(byId.get(id) ?? []), ...email.destination.to]);
  }
  return byId;
}

/** Collects the outcomes the dispatcher reports. */
export function collectOutcomes(pipeline: LocalPipeline): OutcomeEvent[] {
  const events: OutcomeEvent[] = [];
  pipeline.onOutcome((event) => events.push(event));
  return events;
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
