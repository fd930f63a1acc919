import { hashAddress } from '../../../lambdas/core/address';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { getMemberView, unsuppressMember } from '../../../cli/src/ops/members';
import { renderMember } from '../../../cli/src/ops/render';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { putMembersRaw } from '../../support/members';
import { opsTargetFor } from '../../support/ops-target';

jest.setTimeout(120_000);

describe('ops members: per-address suppressions', () => {
  let aws: EmbeddedAws;
  let target: OpsTarget;
  let hash: (address: string) => string;
  const entry = (reason: string) => ({ reason, at: '2000-08-02T09:00:00.000Z' });

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    target = opsTargetFor(aws);
    hash = (address) => hashAddress(address, aws.env[Env.addressHashKey]);
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('12.10: members get shows which address is suppressed and why, including an address the member no longer has', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      {
        memberId: 'S1',
        email: 'pat@example.org',
        status: 'active',
        proxies: ['guardian@example.org'],
        suppressions: { [hash('guardian@example.org')]: entry('bounce'), [hash('old@example.org')]: entry('complaint') },
      },
    ]);
    const view = await getMemberView(target, 'S1');
    expect(view).toMatchObject({
      suppressed: false,
      suppressions: expect.arrayContaining([{ addressHash: hash('old@example.org'), reason: 'complaint', at: entry('x').at }]),
    });
    expect(view?.addresses).toEqual([
      { role: 'email', addressHash: hash('pat@example.org'), membersOnAddress: 0 },
      { role: 'proxy', addressHash: hash('guardian@example.org'), membersOnAddress: 0, suppressed: 'bounce' },
    ]);
    const text = renderMember(view!);
    expect(text).toContain(hash('old@example.org'));
    expect(text).not.toContain('old@example.org');
  });

  it('12.10: members unsuppress lifts one address, or every address and the member-wide flag', async () => {
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      {
        memberId: 'S2',
        email: 'lee@example.org',
        status: 'active',
        suppressed: 'TRUE',
        version: 3,
        suppressions: { a1: entry('bounce'), a2: entry('complaint') },
      },
    ]);
    await expect(unsuppressMember(target, 'S2', { addressHashes: ['a1', 'never'] })).resolves.toEqual({
      memberId: 'S2',
      lifted: ['a1'],
      liftedMemberFlag: false,
    });
    expect(await getMemberView(target, 'S2')).toMatchObject({ suppressed: true, version: 4, suppressions: [{ addressHash: 'a2' }] });
    await expect(unsuppressMember(target, 'S2', { all: true })).resolves.toEqual({
      memberId: 'S2',
      lifted: ['a2'],
      liftedMemberFlag: true,
    });
    expect(await getMemberView(target, 'S2')).toMatchObject({ suppressed: false, suppressions: [] });
    await expect(unsuppressMember(target, 'NOBODY', { all: true })).resolves.toBeUndefined();
  });
});
