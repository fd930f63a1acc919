import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { clearReport, unsuppressMember } from '../../../cli/src/ops/members';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { putMembersRaw } from '../../support/members';
import { opsTargetFor } from '../../support/ops-target';
import { runOpsCli } from './run-ops-cli';

jest.setTimeout(120_000);

describe('ops members clear-report', () => {
  let aws: EmbeddedAws;
  let target: OpsTarget;
  const at = '2000-08-02T09:00:00.000Z';
  const now = new Date('2000-08-03T10:00:00Z');
  const reported = { reason: 'reported-not-mine', at };
  const bounce = { reason: 'bounce', at };
  const member = async (memberId: string) =>
    unmarshall(
      (
        await aws.clients.dynamodb.send(
          new GetItemCommand({ TableName: aws.tables.members, Key: { memberId: { S: memberId } }, ConsistentRead: true }),
        )
      ).Item ?? {},
    );

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    target = opsTargetFor(aws);
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('lifts only the reported-not-mine entries, keeps a bounce, and records who cleared it with the ticket', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'R1', email: 'pat@example.org', status: 'active', suppressions: { a1: reported, a2: bounce, a3: reported } },
    ]);
    const result = await clearReport(target, 'R1', { ticket: 'INC-42', operator: 'alice', now });
    expect(result.cleared.map((c) => c.addressHash).sort()).toEqual(['a1', 'a3']);
    const stored = await member('R1');
    expect(stored.suppressions).toEqual({ a2: bounce });
    expect(stored.clearedReports).toEqual(
      expect.arrayContaining([
        { addressHash: 'a1', reportedAt: at, clearedAt: now.toISOString(), clearedBy: 'operator:alice', ticket: 'INC-42' },
      ]),
    );
  });

  it('clears one address with --address-hash, refuses when there is nothing to clear, and needs a ticket', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'R2', email: 'lee@example.org', status: 'active', suppressions: { b1: reported, b2: reported } },
    ]);
    expect(
      (await clearReport(target, 'R2', { ticket: 'INC-43', operator: 'bob', addressHash: 'b2', now })).cleared.map((c) => c.addressHash),
    ).toEqual(['b2']);
    expect(Object.keys((await member('R2')).suppressions)).toEqual(['b1']);
    await expect(clearReport(target, 'R2', { ticket: 'INC-43', operator: 'bob', addressHash: 'b2', now })).rejects.toThrow(
      /no "not for me" report to clear/,
    );
    await expect(clearReport(target, 'R2', { ticket: '  ', operator: 'bob', now })).rejects.toThrow(/ticket/);
    await expect(clearReport(target, 'NOBODY', { ticket: 'INC-44', operator: 'bob', now })).rejects.toThrow(/No member NOBODY/);
  });

  it('members unsuppress never lifts a report: it says to use clear-report', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'R3', email: 'kim@example.org', status: 'active', suppressions: { c1: reported, c2: bounce } },
    ]);
    const result = await unsuppressMember(target, 'R3', { all: true });
    expect(result).toMatchObject({ lifted: ['c2'], keptReports: ['c1'] });
    expect((await member('R3')).suppressions).toEqual({ c1: reported });
  });

  it('works from the CLI: `members clear-report <memberId> --reason <ticket>` (exit 0, then 1 when nothing is left)', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'R4', email: 'ash@example.org', status: 'active', suppressions: { d1: reported } },
    ]);
    const run = await runOpsCli(['--local', '--operator', 'carol', 'members', 'clear-report', 'R4', '--reason', 'INC-45'], aws.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Cleared 1 "not for me" report(s) of member R4');
    expect(run.stdout).toContain('operator:carol');
    const again = await runOpsCli(['--local', 'members', 'clear-report', 'R4', '--reason', 'INC-45'], aws.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no "not for me" report to clear');
  });
});
