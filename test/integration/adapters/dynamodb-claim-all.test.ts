import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import type { ClaimRequest } from '../../../lambdas/ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';

jest.setTimeout(120_000);
let aws: EmbeddedAws;
let ledger: DynamoDbDispatchLedger;
let calls: string[];

beforeAll(async () => {
  aws = await startEmbeddedAws();
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'A', email: 'a@example.org', status: 'active' },
    { memberId: 'B', email: 'b@example.org', status: 'active' },
    { memberId: 'C', email: 'c@example.org', status: 'active' },
  ]);
  calls = [];
  aws.clients.dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize' },
  );
  ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
});
afterAll(async () => aws?.stop());

const JOIN_EMPTY = { kind: 'join', version: 0, atMs: Date.parse('2026-12-01T08:00:00Z'), prune: [] } as const;
const request = (
  dispatchId: string,
  memberId: string,
  registered: string,
  fanInKey = `fanin#${dispatchId}`,
  fanIn: ClaimRequest['fanIn'] = JOIN_EMPTY,
): ClaimRequest => ({
  message: { dispatchId, memberId, to: registered, template: 'advice-nurse-reply', data: {} },
  toHash: `h-${memberId}`,
  matched: { via: 'email', value: registered },
  fanInKey,
  fanIn,
  fanInExpiresAt: 4_000_000_000,
  claimToken: `t-${dispatchId}`,
  sqsMessageId: `sqs-${dispatchId}`,
  receiveCount: 1,
  now: new Date(),
});

async function state(pk: string) {
  const { Item } = await aws.clients.dynamodb.send(
    new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return Item?.state?.S;
}

describe('DynamoDbDispatchLedger.claimAll', () => {
  it('claims a batch on distinct items in one transaction', async () => {
    calls.length = 0;
    await expect(
      ledger.claimAll([request('g1', 'A', 'a@example.org'), request('g2', 'B', 'b@example.org'), request('g3', 'C', 'c@example.org')]),
    ).resolves.toEqual([{ claimed: true }, { claimed: true }, { claimed: true }]);
    expect(calls).toEqual(['TransactWriteItemsCommand']);
  });

  it('reports each claim whose own condition failed and still claims the rest of its transaction', async () => {
    const results = await ledger.claimAll([
      request('g4', 'A', 'a@example.org'),
      request('g5', 'B', 'not-b@example.org'), // the registry no longer holds this value
      request('g1', 'C', 'c@example.org', 'fanin#g1-again'), // already claimed above
      request('g6', 'C', 'c@example.org'),
    ]);
    expect(results).toEqual([
      { claimed: true },
      { claimed: false, conflicts: ['member'] },
      { claimed: false, conflicts: ['ledger'] },
      { claimed: true },
    ]);
    expect(await Promise.all(['g4', 'g5', 'g6'].map(state))).toEqual(['claimed', undefined, 'claimed']);
  });

  it('orders joins on one mailbox counter: a join counted from a stale snapshot fails on fan-in alone', async () => {
    const shared = 'fanin#shared';
    const results = await ledger.claimAll([request('s1', 'A', 'a@example.org', shared), request('s2', 'B', 'b@example.org', shared)]);
    expect(results).toEqual([{ claimed: true }, { claimed: false, conflicts: ['fan-in'] }]);
    expect(await state('s2')).toBeUndefined();
    // Counted again from the counter as it now is (version 1), the join goes through.
    const next = { kind: 'join', version: 1, atMs: JOIN_EMPTY.atMs + 1000, prune: [] } as const;
    await expect(ledger.claimAll([request('s2', 'B', 'b@example.org', shared, next)])).resolves.toEqual([{ claimed: true }]);
  });

  it('lets a member in the span move its instant on without a version, only while it is in the span', async () => {
    const shared = 'fanin#refresh';
    await ledger.claimAll([request('r1', 'A', 'a@example.org', shared)]);
    const refresh = (cutoffMs: number) => ({ kind: 'refresh', cutoffMs, atMs: JOIN_EMPTY.atMs + 5000 }) as const;
    await expect(ledger.claimAll([request('r2', 'A', 'a@example.org', shared, refresh(JOIN_EMPTY.atMs - 1))])).resolves.toEqual([
      { claimed: true },
    ]);
    // A cutoff past its latest instant: it left the span, so it must join (and be counted) again.
    await expect(ledger.claimAll([request('r3', 'A', 'a@example.org', shared, refresh(JOIN_EMPTY.atMs + 5000))])).resolves.toEqual([
      { claimed: false, conflicts: ['fan-in'] },
    ]);
  });
});
