import {
  BatchGetItemCommand,
  type AttributeValue,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { wrapStoreError } from './dynamodb-errors';
import { setTimeout as sleep } from 'node:timers/promises';

/** DynamoDB's limit on keys in one `BatchGetItem`. */
export const MAX_KEYS_PER_BATCH_GET = 100;

export interface ItemKey {
  readonly table: string;
  readonly key: Record<string, AttributeValue>;
}

export interface BatchGetOptions {
  /** Attributes to read (all when absent), on every table of the request. */
  readonly attributes?: readonly string[];
  /** Attributes to read per table, over `attributes` (issue 12.11: IAM allows some tables only projected reads). */
  readonly attributesByTable?: Readonly<Record<string, readonly string[]>>;
  /** Rounds of `UnprocessedKeys` retried, with jittered back-off, before giving up. @default 8 */
  readonly unprocessedRetries?: number;
}

/**
 * Reads many items, `MAX_KEYS_PER_BATCH_GET` at a time, strongly consistent, until DynamoDB has
 * returned every key it holds (`UnprocessedKeys` are asked for again). Items come back by table,
 * in no particular order; keys without an item are left out.
 */
export async function batchGetItems(
  client: DynamoDBClient,
  keys: readonly ItemKey[],
  options: BatchGetOptions = {},
): Promise<Map<string, Record<string, unknown>[]>> {
  const retries = options.unprocessedRetries ?? 8;
  const found = new Map<string, Record<string, unknown>[]>();
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_BATCH_GET) {
    let request: Record<string, KeysAndAttributes> | undefined = groupByTable(
      keys.slice(i, i + MAX_KEYS_PER_BATCH_GET),
      (table) => options.attributesByTable?.[table] ?? options.attributes,
    );
    for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
      if (attempt > retries) throw wrapStoreError('read', Object.assign(new Error('unprocessed keys'), { name: 'ThrottlingException' }));
      if (attempt > 0) await sleep(10 * 2 ** attempt * Math.random());
      let response: BatchGetItemCommandOutput;
      try {
        response = await client.send(new BatchGetItemCommand({ RequestItems: request }));
      } catch (error) {
        throw wrapStoreError('read', error);
      }
      for (const [table, items] of Object.entries(response.Responses ?? {})) {
        found.set(table, [...(found.get(table) ?? []), ...items.map((item) => unmarshall(item))]);
      }
      request = response.UnprocessedKeys;
    }
  }
  return found;
}

function groupByTable(
  keys: readonly ItemKey[],
  attributesOf: (table: string) => readonly string[] | undefined,
): Record<string, KeysAndAttributes> {
  const request: Record<string, KeysAndAttributes> = {};
  // Names, not the attributes themselves: `state` is a reserved word.
  const projection = (attributes: readonly string[] | undefined) =>
    attributes && {
      ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name])),
    };
  for (const { table, key } of keys) {
    request[table] ??= { Keys: [], ConsistentRead: true, ...projection(attributesOf(table)) };
    request[table].Keys!.push(key);
  }
  return request;
}
