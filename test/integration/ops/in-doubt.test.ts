import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbDispatchLedger } from '../../../lambdas/adapters/dynamodb-dispatch-ledger';
import { DynamoDbFeedbackStore } from '../../../lambdas/adapters/dynamodb-feedback-store';
import type { ClaimRequest } from '../../../lambdas/ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { listInDoubt, releaseInDoubt, type InDoubtList, type ReleaseResult } from '../../../cli/src/ops/in-doubt';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { putMembersRaw } from '../../support/members';
import { opsTargetFor } from '../../support/ops-target';
import { json, runOpsCli } from './run-ops-cli';

jest.setTimeout(120_000);

describe('ops in-doubt list / release (DynamoDB Local)', () => {
  let aws: EmbeddedAws;
  let target: OpsTarget;
  let ledger: DynamoDbDispatchLedger;
  let feedback: DynamoDbFeedbackStore;
  const claimedAt = new Date(Date.now() - 3_600_000);

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    target = opsTargetFor(aws);
    ledger = new DynamoDbDispatchLedger({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    feedback = new DynamoDbFeedbackStore({
      membersTable: aws.tables.members,
      ledgerTable: aws.tables.ledger,
      client: aws.clients.dynamodb,
    });
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'M1', email: 'pat@example.org', status: 'active' },
      { memberId: 'M2', email: 'lee@example.org', status: 'active' },
    ]);
  });
  afterAll(async () => aws?.stop());

  const request = (dispatchId: string, memberId = 'M1', to = 'pat@example.org', now = claimedAt): ClaimRequest => ({
    message: { dispatchId, memberId, to, template: 'advice-nurse-reply', data: {} },
    toHash: `hash-${memberId}`,
    matched: { via: 'email', value: to },
    fanInKey: `fanin#${dispatchId}-${now.getTime()}#1`, // a fresh counter per claim: only the registry and ledger conditions vary
    fanIn: { kind: 'join', version: 0, atMs: 0, prune: [] },
    fanInExpiresAt: 4_000_000_000,
    claimToken: `t-${dispatchId}-${now.getTime()}`,
    sqsMessageId: `sqs-${dispatchId}`,
    receiveCount: 1,
    now,
  });
  const claim = async (dispatchId: string, memberId?: string, to?: string, now?: Date) =>
    (await ledger.claimAll([request(dispatchId, memberId, to, now)]))[0];
  const inDoubt = async (dispatchId: string, memberId?: string, to?: string) => {
    expect(await claim(dispatchId, memberId, to)).toEqual({ claimed: true });
    await ledger.settle(
      dispatchId,
      request(dispatchId, memberId, to).claimToken,
      { kind: 'in-doubt' },
      new Date(claimedAt.getTime() + 5_000),
    );
  };
  const record = async (pk: string) =>
    unmarshall(
      (await aws.clients.dynamodb.send(new GetItemCommand({ TableName: aws.tables.ledger, Key: { pk: { S: pk } }, ConsistentRead: true })))
        .Item ?? {},
    );

  it('12.5: in-doubt list shows age, member, address hash and whether an SES event arrived', async () => {
    await inDoubt('list-open');
    await inDoubt('list-reconciled', 'M2', 'lee@example.org');
    await feedback.reconcileSent('list-reconciled', 'ses-1', new Date());
    expect(await claim('list-live')).toEqual({ claimed: true });

    const now = new Date();
    const list = await listInDoubt(target, { now });
    expect(list.rows).toEqual([
      expect.objectContaining({
        dispatchId: 'list-open',
        state: 'in-doubt',
        memberId: 'M1',
        addressHash: 'hash-M1',
        template: 'advice-nurse-reply',
        claimedAt: claimedAt.toISOString(),
        inDoubtSince: new Date(claimedAt.getTime() + 5_000).toISOString(),
        sesEvent: 'none',
      }),
    ]);
    expect(list.rows[0].ageSeconds).toBeGreaterThanOrEqual(3590);
    const all = await listInDoubt(target, { now, includeReconciled: true });
    expect(all.rows.map((r) => [r.dispatchId, r.state, r.sesEvent, r.sesMessageId])).toEqual([
      ['list-open', 'in-doubt', 'none', null],
      ['list-reconciled', 'sent', 'arrived', 'ses-1'],
    ]);
  });

  it('12.5: release makes an in-doubt dispatchId claimable again, recorded in its history with the operator and the reason', async () => {
    await inDoubt('rel-1');
    const result = await releaseInDoubt(target, { dispatchIds: ['rel-1'], reason: 'INC-42', operator: 'alice', now: new Date() });
    expect(result).toEqual({ released: ['rel-1'], refused: [], releasedBy: 'operator:alice' });
    const stored = await record('rel-1');
    expect(stored).toMatchObject({ state: 'released', reason: 'operator-release', releasedBy: 'operator:alice', releaseTicket: 'INC-42' });
    expect((stored.history as unknown[]).at(-1)).toMatchObject({ state: 'released', by: 'operator:alice', ticket: 'INC-42' });
    expect(await claim('rel-1', undefined, undefined, new Date())).toEqual({ claimed: true });
  });

  it('12.5: a released dispatchId still goes through every check: a member closed meanwhile blocks it', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'M3', email: 'kim@example.org', status: 'active' }]);
    await inDoubt('rel-closed', 'M3', 'kim@example.org');
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [{ memberId: 'M3', email: 'kim@example.org', status: 'closed' }]);
    await releaseInDoubt(target, { dispatchIds: ['rel-closed'], reason: 'INC-43', operator: 'alice', now: new Date() });
    expect(await claim('rel-closed', 'M3', 'kim@example.org', new Date())).toEqual({ claimed: false, conflicts: ['member'] });
  });

  it('12.5: release refuses what is not in doubt (sent, released already, a live claim, unknown) and changes nothing', async () => {
    await inDoubt('ref-sent');
    await feedback.reconcileSent('ref-sent', 'ses-2', new Date());
    await inDoubt('ref-twice');
    await releaseInDoubt(target, { dispatchIds: ['ref-twice'], reason: 'INC-44', operator: 'alice', now: new Date() });
    expect(await claim('ref-live')).toEqual({ claimed: true });
    const before = await record('ref-sent');
    const result = await releaseInDoubt(target, {
      dispatchIds: ['ref-sent', 'ref-twice', 'ref-live', 'ref-unknown'],
      reason: 'INC-45',
      operator: 'bob',
      now: new Date(),
    });
    expect(result.released).toEqual([]);
    expect(result.refused).toEqual([
      { dispatchId: 'ref-sent', why: 'not-in-doubt', state: 'sent' },
      { dispatchId: 'ref-twice', why: 'not-in-doubt', state: 'released' },
      { dispatchId: 'ref-live', why: 'not-in-doubt', state: 'claimed' },
      { dispatchId: 'ref-unknown', why: 'not-found' },
    ]);
    expect(await record('ref-sent')).toEqual(before);
    expect(await record('ref-twice')).toMatchObject({ releaseTicket: 'INC-44' });
  });

  it('12.5: release refuses a reason that is empty or carries an address', async () => {
    await expect(releaseInDoubt(target, { dispatchIds: ['x'], reason: ' ', operator: 'a', now: new Date() })).rejects.toThrow(
      /--reason is required/,
    );
    await expect(
      releaseInDoubt(target, { dispatchIds: ['x'], reason: 'pat@example.org bounced', operator: 'a', now: new Date() }),
    ).rejects.toThrow(/address/);
    await expect(releaseInDoubt(target, { dispatchIds: ['bad id'], reason: 'INC-1', operator: 'a', now: new Date() })).rejects.toThrow(
      /Not a dispatchId/,
    );
  });

  it('12.5: an SES Send event after a wrong release marks the record sent, so a re-publish is not sent again', async () => {
    await inDoubt('rel-wrong');
    await releaseInDoubt(target, { dispatchIds: ['rel-wrong'], reason: 'INC-46', operator: 'alice', now: new Date() });
    await expect(feedback.reconcileSent('rel-wrong', 'ses-late', new Date())).resolves.toBe('reconciled');
    expect(await record('rel-wrong')).toMatchObject({ state: 'sent', sesMessageId: 'ses-late' });
    expect(await claim('rel-wrong', undefined, undefined, new Date())).toEqual({ claimed: false, conflicts: ['ledger'] });
  });

  it('12.5: the CLI lists (--json) and releases, exit 1 when something was refused, exit 2 without --reason', async () => {
    await inDoubt('cli-1');
    const env = { ...aws.env, MAIL_DISPATCH_OPERATOR: 'carol' };
    const list = json<InDoubtList>(await runOpsCli(['--local', '--json', 'in-doubt', 'list'], env));
    expect(list.rows.map((r) => r.dispatchId)).toContain('cli-1');
    const released = await runOpsCli(['--local', '--json', 'in-doubt', 'release', 'cli-1', 'cli-unknown', '--reason', 'INC-47'], env);
    expect(released.code).toBe(1);
    expect(json<ReleaseResult>(released)).toEqual({
      released: ['cli-1'],
      refused: [{ dispatchId: 'cli-unknown', why: 'not-found' }],
      releasedBy: 'operator:carol',
    });
    expect((await runOpsCli(['--local', 'in-doubt', 'release', 'cli-1'], env)).code).toBe(2);
  });
});
