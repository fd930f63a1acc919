import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/** Writes member items straight to the table (what a raw, unguarded upstream write does). */
export async function putMembersRaw(client: DynamoDBClient, table: string, members: readonly Record<string, unknown>[]): Promise<void> {
  for (const member of members) {
    await client.send(new PutItemCommand({ TableName: table, Item: marshall(member, { removeUndefinedValues: true }) }));
  }
}
