import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { hashAddress } from '../../../lambdas/core/address';
import { matchRecipient } from '../../../lambdas/core/decision';
import type { ClaimRequest, MemberRecord } from '../../../lambdas/ports';
import { InMemoryDispatchLedger } from '../../../local/in-memory-ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { putMembersRaw } from '../../support/members';

jest.setTimeout(120_000);

const KEY = 'conformance-key';
const TO = 'pat@example.org';
const TO_HASH = hashAddress(TO, KEY);
const OTHER_HASH = hashAddress('old@example.org', KEY);
const entry = { reason: 'bounce', at: '2000-08-02T09:00:00.000Z' };

/**
 * Member items as raw writes may leave them: each one goes through the decision, a real claim on
 * DynamoDB Local and the in-memory port. Only suppression varies; everything else matches `TO`.
 */
const VARIANTS: readonly [string, Record<string, unknown>][] = [
  ['no suppression at all', {}],
  ['legacy flag true', { suppressed: true }],
  ['legacy flag false', { suppressed: false }],
  ['legacy flag "true"', { suppressed: 'true' }],
  ['legacy flag "TRUE"', { suppressed: 'TRUE' }],
  ['legacy flag " true" (padded)', { suppressed: ' true' }],
  ['legacy flag "tRuE"', { suppressed: 'tRuE' }],
  ['legacy flag "false"', { suppressed: 'false' }],
  ['legacy flag "False"', { suppressed: 'False' }],
  ['legacy flag " false" (padded)', { suppressed: ' false' }],
  ['legacy flag "yes"', { suppressed: 'yes' }],
  ['legacy flag ""', { suppressed: '' }],
  ['legacy flag 1', { suppressed: 1 }],
  ['legacy flag 0', { suppressed: 0 }],
  ['legacy flag null', { suppressed: null }],
  ['legacy flag a list', { suppressed: [true] }],
  ['this address suppressed (bounce)', { suppressions: { [TO_HASH]: entry } }],
  ['this address reported not mine', { suppressions: { [TO_HASH]: { ...entry, reason: 'reported-not-mine' } } }],
  ['this address with a NULL entry', { suppressions: { [TO_HASH]: null } }],
  ['another address suppressed only', { suppressions: { [OTHER_HASH]: entry } }],
  ['an empty suppressions map', { suppressions: {} }],
  ['suppressions is a list', { suppressions: [TO_HASH] }],
  ['suppressions is a string', { suppressions: TO_HASH }],
  ['another address suppressed and legacy flag true', { suppressions: { [OTHER_HASH]: entry }, suppressed: true }],
];

describe('suppression: one rule for the decision, the claim condition and the in-memory port', () => {
  let aws: EmbeddedAws;
  let ledger: DynamoDbDispatchLedger;

  beforeAll(async () => {
    aws = await startEmbeddedAws({ addressHashKey: KEY });
    ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  });
  afterAll(async () => aws?.stop());

  const claimFor = (memberId: string, i: number): ClaimRequest => ({
    message: { dispatchId: `conf-${i}`, memberId, to: TO, template: 'advice-nurse-reply', data: {} },
    toHash: TO_HASH,
    matched: { via: 'email', value: TO },
    fanInKey: `fanin#conf-${i}#1`,
    fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
    fanInExpiresAt: 4_000_000_000,
    claimToken: `t-${i}`,
    sqsMessageId: `sqs-${i}`,
    receiveCount: 1,
    now: new Date('2000-08-02T09:00:00Z'),
  });

  it('12.12: the decision, a real claim on DynamoDB Local and the in-memory port agree on every member item', async () => {
    const rows = VARIANTS.map(([name, extra], i) => ({ name, item: { memberId: `C${i}`, email: TO, status: 'active', ...extra } }));
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      rows.map((r) => r.item),
    );
    const memory = new InMemoryDispatchLedger();
    const verdicts = [];
    for (const [i, { name, item }] of rows.entries()) {
      const decision = matchRecipient(item as unknown as MemberRecord, TO, TO_HASH);
      const decided = 'reason' in decision ? decision.reason : 'allowed';
      const [claimed] = await ledger.claimAll([claimFor(item.memberId, i)]);
      const dynamo = claimed.claimed ? 'allowed' : 'conflicts' in claimed && claimed.conflicts.includes('member') ? 'blocked' : 'other';
      memory.members.set(item.memberId, item as unknown as MemberRecord);
      const [inMemory] = await memory.claimAll([claimFor(item.memberId, i)]);
      verdicts.push({ name, decided, dynamo, memory: inMemory.claimed ? 'allowed' : 'blocked' });
    }
    // Where the decision blocks, the condition must block too (and vice versa), and the fake must agree with both.
    const disagreements = verdicts.filter((v) => (v.decided === 'allowed') !== (v.dynamo === 'allowed') || v.dynamo !== v.memory);
    expect(disagreements).toEqual([]);
  });

  it('12.12: the legacy flag fails closed, the map suppresses per address, reported-not-mine keeps its reason', () => {
    const base = { memberId: 'X', email: TO, status: 'active' };
    const reasonFor = (extra: Record<string, unknown>) => {
      const decision = matchRecipient({ ...base, ...extra } as MemberRecord, TO, TO_HASH);
      return 'reason' in decision ? decision.reason : 'allowed';
    };
    expect(reasonFor({ suppressed: ' true' })).toBe('suppressed');
    expect(reasonFor({ suppressed: 'yes' })).toBe('suppressed');
    expect(reasonFor({ suppressed: 'False' })).toBe('allowed');
    expect(reasonFor({ suppressions: { [TO_HASH]: entry } })).toBe('suppressed');
    expect(reasonFor({ suppressions: { [OTHER_HASH]: entry } })).toBe('allowed');
    expect(reasonFor({ suppressions: { [TO_HASH]: { ...entry, reason: 'reported-not-mine' } } })).toBe('reported-not-mine');
  });
});
