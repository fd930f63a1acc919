import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import pLimit from 'p-limit';
import { registerMembers } from '../../lambdas/adapters/dynamodb-member-registry';
import { mailboxOf } from '../../lambdas/core/address';
import type { MemberRow } from '../../lambdas/core/registry-guard';
import { Env } from '../../lambdas/tables';
import { LocalPipelineError } from '../errors';
import type { LocalPipeline } from '../local-pipeline';
import type { OutcomeTracker } from './outcome-tracker';

/*
 * What a scenario's steps put into the pipeline: member rows (through the registry's guard, or raw)
 * and published messages (as the portal sends them).
 */

/** The ids a message carries, for the report (null when absent or not a string). */
export function idsOf(message: Record<string, unknown>): { dispatchId: string | null; memberId: string | null } {
  return {
    dispatchId: typeof message.dispatchId === 'string' ? message.dispatchId : null,
    memberId: typeof message.memberId === 'string' ? message.memberId : null,
  };
}

/** The ids of a raw body, when it is a JSON object. */
export function idsOfBody(body: string): { dispatchId: string | null; memberId: string | null } {
  try {
    const json: unknown = JSON.parse(body);
    return typeof json === 'object' && json !== null && !Array.isArray(json)
      ? idsOf(json as Record<string, unknown>)
      : { dispatchId: null, memberId: null };
  } catch {
    return { dispatchId: null, memberId: null };
  }
}

/** Writes a putMembers step's rows; returns the rows refused (by the guard, or by DynamoDB for raw rows). */
export async function putMembers(pipeline: LocalPipeline, rows: readonly Record<string, unknown>[], raw: boolean, fanInLimit: number) {
  const { aws } = pipeline;
  const refused: { memberId: string; reason: string }[] = [];
  if (!raw) {
    // Rows that share no address cannot affect each other's guard decisions: register such
    // groups concurrently, and the rows of one group in file order (first come, first served).
    const limit = pLimit(6);
    const refusedAt = new Map<number, { memberId: string; reason: string }>();
    const results = await Promise.all(
      groupRowsByAddress(rows).map((group) =>
        limit(() =>
          registerMembers(group.map((i) => rows[i]) as readonly MemberRow[], {
            tables: aws.tables,
            hashKey: aws.env[Env.addressHashKey],
            fanInLimit,
            client: aws.clients.dynamodb,
            now: pipeline.clock.now,
            onRow: (result, index) => {
              if (result.outcome === 'refused') refusedAt.set(group[index], { memberId: result.memberId, reason: result.reason });
            },
          }),
        ),
      ),
    );
    const failed = results.flatMap((result) => result.failed);
    if (failed.length > 0) throw new LocalPipelineError(`The registry could not write ${failed.length} row(s): ${failed[0].error}`);
    refused.push(...[...refusedAt.entries()].sort(([a], [b]) => a - b).map(([, refusal]) => refusal));
    return refused;
  }
  // As a buggy upstream system would: straight into the table, no guard. DynamoDB itself still
  // refuses items it cannot store (a key that is not a string); those are listed as refused.
  const limit = pLimit(8);
  await Promise.all(
    rows.map((row) =>
      limit(async () => {
        try {
          await aws.clients.dynamodb.send(
            new PutItemCommand({ TableName: aws.tables.members, Item: marshall(row, { removeUndefinedValues: true }) }),
          );
        } catch (error) {
          refused.push({ memberId: String(row.memberId ?? ''), reason: `store-rejected: ${(error as Error).name}` });
        }
      }),
    ),
  );
  return refused;
}

/** Row indexes grouped so that rows sharing an address (own e-mail or proxy) or a memberId are in one group. */
export function groupRowsByAddress(rows: readonly Record<string, unknown>[]): number[][] {
  const parent = rows.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owner = new Map<string, number>();
  rows.forEach((row, i) => {
    const keys = [`id:${String(row.memberId)}`];
    const addresses = [row.email, ...(Array.isArray(row.proxies) ? row.proxies : [])];
    // One mailbox (`+tag`, case) is one fan-in count and one owner: its rows decide in file order.
    for (const address of addresses) if (typeof address === 'string') keys.push(`addr:${mailboxOf(address)}`);
    for (const key of keys) {
      const seen = owner.get(key);
      if (seen === undefined) owner.set(key, i);
      else parent[find(i)] = find(seen);
    }
  });
  const groups = new Map<number, number[]>();
  rows.forEach((_, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  });
  return [...groups.values()];
}

/** Publishes a step's messages and tracks each by its SQS id. */
export async function publish(
  pipeline: LocalPipeline,
  tracker: OutcomeTracker,
  messages: { body: string; dispatchId: string | null; memberId: string | null }[],
): Promise<void> {
  const ids = await sendInOrder(
    pipeline.aws.clients.sqs,
    pipeline.aws.queueUrl,
    messages.map((m) => m.body),
  );
  messages.forEach((message, i) => tracker.add({ messageId: ids[i], dispatchId: message.dispatchId, memberId: message.memberId }));
}

/** Sends bodies as the portal would (SendMessageBatch of 10), returning the SQS MessageIds in order. */
async function sendInOrder(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<string[]> {
  const ids: string[] = new Array(bodies.length);
  const limit = pLimit(4);
  const chunks: number[] = [];
  for (let i = 0; i < bodies.length; i += 10) chunks.push(i);
  await Promise.all(
    chunks.map((start) =>
      limit(async () => {
        const entries = bodies.slice(start, start + 10).map((body, j) => ({ Id: String(start + j), MessageBody: body }));
        const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if (result.Failed?.length) {
          const failure = result.Failed[0];
          throw new LocalPipelineError(`SQS refused message #${failure.Id} of the publish step (${failure.Code}: ${failure.Message})`);
        }
        for (const entry of result.Successful ?? []) ids[Number(entry.Id)] = entry.MessageId ?? '';
      }),
    ),
  );
  return ids;
}
