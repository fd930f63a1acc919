import { hashAddress, mailboxOf } from '../../../lambdas/core/address';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { reindexMembers } from '../../../cli/src/ops/reindex';
import type { EventSourceSwitch } from '../../../lambdas/ports';
import { putMembersRaw } from '../../support/members';
import { opsTargetFor } from '../../support/ops-target';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';
import { json, runOpsCli } from './run-ops-cli';

/**
 * Registry index backfill (issue 12.2c/12.3, upgrade): members written before the registry watch
 * existed have no `registry#<mailboxHash>` entry. The claim's owner check (12.3) reads the owners
 * from that entry: with none, a mailbox reads as "owned by nobody", so a proxy onto another
 * member's own address passes without that member's consent. `members reindex` places every member
 * through the watch's own code, after which the same send is blocked.
 */
jest.setTimeout(180_000);

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws({ config: { fanInLimit: 2 } });
});
afterAll(async () => aws?.stop());

class FakeMapping implements EventSourceSwitch {
  enabled = true;
  async disable() {
    this.enabled = false;
  }
  async enable() {
    this.enabled = true;
  }
  async isEnabled() {
    return this.enabled;
  }
}

const body = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Wu' } });

async function dispatch(dispatchId: string, memberId: string, to: string) {
  const reporter = new RecordingReporter();
  const handler = createHandler(await createDispatcherDeps({ env: aws.env, clients: aws.clients, reporter }));
  await handler(sqsEvent(sqsRecord(body(dispatchId, memberId, to))));
  return reporter;
}

describe('members reindex: the registry index for members written before the watch', () => {
  it('12.3 upgrade: before reindex a proxy onto an unindexed member’s own mailbox is mailed without consent; after it, blocked (recipient-mismatch)', async () => {
    // Written before the watch existed (raw, no stream consumer running here): no registry# entries.
    await putMembersRaw(aws.clients.dynamodb, aws.tables.members, [
      { memberId: 'UG1', email: 'owner@example.org', status: 'active', proxies: [] },
      { memberId: 'UW1', email: 'ward@example.org', status: 'active', proxies: ['owner@example.org'] },
    ]);
    const before = await dispatch('ri-before', 'UW1', 'owner@example.org');
    // What an upgraded deployment does without the backfill: the owner's mailbox reads as nobody's.
    expect(before.events.map((e) => e.outcome.state)).toEqual(['sent']);

    const report = await reindexMembers(opsTargetFor(aws), { pageSize: 1 });
    expect(report).toMatchObject({ complete: true, overLimitMailboxHashes: [], paused: false });
    expect(report.placed).toBeGreaterThanOrEqual(2);

    const after = await dispatch('ri-after', 'UW1', 'owner@example.org');
    // The dispatcher's consent check blocks as a recipient mismatch (core/decision.ts proxyConsent).
    expect(after.events.map((e) => e.outcome)).toEqual([{ state: 'blocked', reason: 'recipient-mismatch' }]);
  });

  it('reports a mailbox past the fan-in limit by hash only and pauses as the watch does; idempotent and resumable', async () => {
    await putMembersRaw(
      aws.clients.dynamodb,
      aws.tables.members,
      [0, 1, 2].map((n) => ({ memberId: `US${n}`, email: `crowd+${n}@example.org`, status: 'active', proxies: [] })),
    );
    const mapping = new FakeMapping();
    const target = opsTargetFor(aws, { eventSource: mapping });
    // Interrupted after one page of one member, then resumed from where it stopped.
    const first = await reindexMembers(target, { pageSize: 1, maxPages: 1 });
    expect(first).toMatchObject({ placed: 1, complete: false });
    const rest = await reindexMembers(target, { pageSize: 2, startAfter: first.lastMemberId });
    expect(rest.complete).toBe(true);
    const hash = hashAddress(mailboxOf('crowd@example.org'), aws.env[Env.addressHashKey]);
    expect(rest.overLimitMailboxHashes).toEqual([hash]);
    expect(rest.paused).toBe(true);
    expect(mapping.enabled).toBe(false);
    const flag = await target.pauseSwitch.read();
    expect(flag.cause).toMatchObject({ reason: 'registry-fan-in', by: 'registry-watch', addressHash: hash });

    // Again, through the CLI: the same report, nothing changes (the index writes are set ADDs).
    const again = await runOpsCli(['--local', '--json', 'members', 'reindex'], aws.env);
    expect(again.code).toBe(1);
    expect(json(again)).toMatchObject({ complete: true, overLimitMailboxHashes: [hash], paused: true });
    expect(again.stdout + again.stderr).not.toMatch(/@example\.org/);
    expect((await target.pauseSwitch.read()).version).toBe(flag.version);
  });
});
