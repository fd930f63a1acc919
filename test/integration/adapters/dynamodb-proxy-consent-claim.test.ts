import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import type { ClaimRequest, ProxyConsentCheck } from '../../../lambdas/ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * 12.3: the claim's ConditionChecks on a proxy send hold the consent atomically: the owners the
 * decision read, and each owner's `proxyFor`, against DynamoDB Local's transactions.
 */
jest.setTimeout(120_000);

let aws: EmbeddedAws;
let ledger: DynamoDbDispatchLedger;
const REGISTRY_KEY = 'registry#guardianhash';

beforeAll(async () => {
  aws = await startEmbeddedAws();
  ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
    { memberId: 'W1', email: 'ward@example.org', status: 'active', proxies: ['guardian@example.org'] },
    { memberId: 'G1', email: 'guardian@example.org', status: 'active', proxyFor: ['W1'] },
  ]);
  await aws.clients.dynamodb.send(
    new PutItemCommand({
      TableName: aws.tables.ledger,
      Item: { pk: { S: REGISTRY_KEY }, owners: { SS: ['G1'] }, members: { SS: ['G1', 'W1'] } },
    }),
  );
});
afterAll(async () => aws?.stop());

let n = 0;
function claim(proxyConsent: ProxyConsentCheck): ClaimRequest {
  const dispatchId = `pc-${++n}`;
  return {
    message: { dispatchId, memberId: 'W1', to: 'guardian@example.org', template: 'advice-nurse-reply', data: {} },
    toHash: '0123456789abcdef0123456789abcdef',
    matched: { via: 'proxy', value: 'guardian@example.org' },
    fanInKey: `fanin#pc-${n}`,
    proxyConsent,
    fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
    fanInExpiresAt: 1,
    claimToken: 't',
    sqsMessageId: `sqs-${dispatchId}`,
    receiveCount: 1,
    now: new Date('2000-08-02T09:00:00Z'),
  };
}

describe('12.3: the proxy claim re-asserts consent in its transaction', () => {
  it('reads the owners and their proxyFor', async () => {
    expect(await ledger.readMailboxOwners(REGISTRY_KEY)).toEqual({ owners: ['G1'], consents: { G1: ['W1'] } });
    expect(await ledger.readMailboxOwners('registry#nobody')).toEqual({ owners: [], consents: {} });
  });

  it('claims when the owners are as read and each consents', async () => {
    expect(await ledger.claimAll([claim({ registryKey: REGISTRY_KEY, owners: ['G1'], consentingOwners: ['G1'] })])).toEqual([
      { claimed: true },
    ]);
  });

  it('fails on proxy-consent when an owner appeared since the read (nobody owned it then)', async () => {
    expect(await ledger.claimAll([claim({ registryKey: REGISTRY_KEY, owners: [], consentingOwners: [] })])).toEqual([
      { claimed: false, conflicts: ['proxy-consent'] },
    ]);
  });

  it('fails on proxy-consent when the owner withdrew its consent between the read and the claim', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'G1', email: 'guardian@example.org', status: 'active', proxyFor: [] },
    ]);
    expect(await ledger.claimAll([claim({ registryKey: REGISTRY_KEY, owners: ['G1'], consentingOwners: ['G1'] })])).toEqual([
      { claimed: false, conflicts: ['proxy-consent'] },
    ]);
  });

  it('claims a proxy nobody owns when the index still says so', async () => {
    expect(await ledger.claimAll([claim({ registryKey: 'registry#nobody', owners: [], consentingOwners: [] })])).toEqual([
      { claimed: true },
    ]);
  });
});
