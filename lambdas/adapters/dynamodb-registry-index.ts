import { DynamoDBClient, GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { hashAddress } from '../core/address';
import type { MailboxPlacement, MemberImage } from '../core/registry-watch';
import type { MailboxCount, RegistryIndex } from '../ports';
import { LEDGER_TABLE, LedgerKey, MEMBERS_TABLE } from '../tables';
import { wrapStoreError } from './dynamodb-errors';
import { createDynamoDbClient } from './sdk-clients';

export interface DynamoDbRegistryIndexOptions {
  readonly membersTable: string;
  /** The table holding the address index items (`registry#<mailboxHash>`, the ledger). */
  readonly ledgerTable: string;
  /** The address-hash key (the dispatcher's and the registry guard's). */
  readonly hashKey: string | Buffer;
  /** @default a client built from the environment */
  readonly client?: DynamoDBClient;
}

/**
 * The registry's per-mailbox address index, as the registry watch keeps it: the same items the
 * guard writes in its own transaction. String-set ADD and DELETE are idempotent, so a stream
 * record delivered twice, or a write the guard has already indexed, changes nothing.
 */
export class DynamoDbRegistryIndex implements RegistryIndex {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbRegistryIndexOptions) {
    this.client = options.client ?? createDynamoDbClient();
  }

  /** The member's item as it is now (consistent read): what the index is moved to. */
  async currentMember(memberId: string): Promise<MemberImage | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.options.membersTable,
          Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
          ConsistentRead: true,
          // Only where the member's mail may go: the role may read nothing else (TABLE_ACCESS.registryWatch).
          ProjectionExpression: 'memberId, email, #status, proxies',
          ExpressionAttributeNames: { '#status': 'status' },
        }),
      );
      return Item ? (unmarshall(Item) as MemberImage) : undefined;
    } catch (error) {
      throw wrapStoreError('read member', error);
    }
  }

  /** One UpdateItem: the member in or out of the mailbox's `members` and `owners`. */
  async place(memberId: string, placement: MailboxPlacement): Promise<MailboxCount> {
    const mailboxHash = hashAddress(placement.mailbox, this.options.hashKey);
    const add = [placement.member && 'members :m', placement.owner && 'owners :m'].filter(Boolean);
    const remove = [!placement.member && 'members :m', !placement.owner && 'owners :m'].filter(Boolean);
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.options.ledgerTable,
          Key: { [LEDGER_TABLE.partitionKey]: { S: LedgerKey.registry(mailboxHash) } },
          UpdateExpression: [add.length ? `ADD ${add.join(', ')}` : '', remove.length ? `DELETE ${remove.join(', ')}` : '']
            .filter(Boolean)
            .join(' '),
          ExpressionAttributeValues: { ':m': { SS: [memberId] } },
          // The sets before the write (whether this write put the member there); UPDATED_OLD, not
          // ALL_OLD, so the role's attribute-level IAM condition holds (TABLE_ACCESS.registryWatch).
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const before = new Set(stringSet(Attributes?.members));
      const joined = placement.member && !before.has(memberId);
      if (placement.member) before.add(memberId);
      else before.delete(memberId);
      return { mailboxHash, members: before.size, joined };
    } catch (error) {
      throw wrapStoreError('update address index', error);
    }
  }
}

function stringSet(value: AttributeValue | undefined): string[] {
  return value?.SS ?? [];
}
