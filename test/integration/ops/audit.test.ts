import { SESv2Client } from '@aws-sdk/client-sesv2';
import { hashAddress } from '../../../lambdas/core/address';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import type { AuditReport, AuditRow } from '../../../cli/src/ops/audit';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';
import { json, runOpsCli } from './run-ops-cli';

const message = (dispatchId: string, memberId: string, to: string) =>
  JSON.stringify({ dispatchId, memberId, to, template: 'advice-nurse-reply', data: { firstName: 'Pat' } });

describe('mail-dispatch audit (CLI process, ledger written by the real dispatcher)', () => {
  let aws: EmbeddedAws;
  let key: string;
  let started: Date;

  beforeAll(async () => {
    aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
    key = aws.env[Env.addressHashKey];
    started = new Date(Date.now() - 1000);
    const registry = { tables: aws.tables, hashKey: key, fanInLimit: 3, client: aws.clients.dynamodb };
    const result = await registerMembers(
      [
        { memberId: 'M1', email: 'pat@example.org', status: 'active' },
        { memberId: 'M2', email: 'lee@example.org', status: 'active', proxies: ['guardian@example.org'] },
      ],
      registry,
    );
    expect(result.registered).toEqual(['M1', 'M2']);
    const ses = new SESv2Client({
      region: aws.region,
      endpoint: aws.endpoints.ses,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const deps = await createDispatcherDeps({
      env: aws.env,
      clients: { dynamodb: aws.clients.dynamodb, sqs: aws.clients.sqs, ses },
      reporter: new RecordingReporter(),
    });
    const handler = createHandler(deps);
    await handler(
      sqsEvent(
        sqsRecord(message('d-1', 'M1', 'pat@example.org')),
        sqsRecord(message('d-2', 'M2', 'Guardian@example.org')),
        sqsRecord(message('d-3', 'M2', 'lee@example.org')),
        // A publisher bug: M1's message addressed to someone else; blocked, never sent.
        sqsRecord(message('d-4', 'M1', 'eve@example.org')),
        sqsRecord('not json'),
      ),
    );
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('--address lists every dispatch to that address, hashed unless --reveal', async () => {
    const run = await runOpsCli(['--local', '--json', 'audit', '--address', ' Guardian@Example.org '], aws.env);
    expect(run.code).toBe(0);
    const report = json<AuditReport>(run);
    expect(report.selector).toEqual({ by: 'address', addressHash: hashAddress('guardian@example.org', key) });
    expect(report.rows).toEqual([
      {
        claimedAt: expect.any(String),
        dispatchId: 'd-2',
        state: 'sent',
        reason: null,
        memberId: 'M2',
        addressHash: hashAddress('guardian@example.org', key),
        template: 'advice-nurse-reply',
        sesMessageId: expect.any(String),
        sentAt: expect.any(String),
        reportedNotMineAt: null,
      },
    ]);
    expect(run.stdout).not.toContain('guardian@example.org');

    const revealed = json<AuditReport>(
      await runOpsCli(['--local', 'audit', '--address', 'guardian@example.org', '--format', 'json', '--reveal'], aws.env),
    );
    expect(revealed.rows[0]?.address).toBe('guardian@example.org');
  });

  it('--address-hash finds the same rows as the address it hashes (for a hash from the pause flag)', async () => {
    const hash = hashAddress('guardian@example.org', key);
    const report = json<AuditReport>(await runOpsCli(['--local', '--json', 'audit', '--address-hash', hash, '--reveal'], aws.env));
    expect(report.selector).toEqual({ by: 'address-hash', addressHash: hash });
    expect(report.rows.map((r) => [r.dispatchId, r.memberId, r.address])).toEqual([['d-2', 'M2', 'guardian@example.org']]);
  });

  it('--address finds a blocked misaddressed message too (nothing was sent)', async () => {
    const report = json<AuditReport>(await runOpsCli(['--local', '--json', 'audit', '--address', 'eve@example.org'], aws.env));
    expect(report.rows.map((r) => [r.dispatchId, r.state, r.reason, r.memberId])).toEqual([['d-4', 'blocked', 'recipient-mismatch', 'M1']]);
    expect(report.summary).toEqual({ dispatches: 1, sent: 0, members: 1, addresses: 1 });
  });

  it("--member --reveal shows which of the member's registered addresses each dispatch went to", async () => {
    const report = json<AuditReport>(await runOpsCli(['--local', '--json', 'audit', '--member', 'M2', '--reveal'], aws.env));
    const rows = Object.fromEntries(report.rows.map((r: AuditRow) => [r.dispatchId, r.address]));
    expect(rows).toEqual({ 'd-2': 'guardian@example.org', 'd-3': 'lee@example.org' });
    const m1 = json<AuditReport>(await runOpsCli(['--local', '--json', 'audit', '--member', 'M1', '--reveal'], aws.env));
    // eve@ is no address of M1's: the ledger holds only its hash, so it stays unrevealed.
    expect(m1.rows.map((r) => [r.dispatchId, r.address])).toEqual([
      ['d-1', 'pat@example.org'],
      ['d-4', null],
    ]);
  });

  it('--since lists everything in the range as CSV, rejected bodies included', async () => {
    const run = await runOpsCli(['--local', 'audit', '--since', started.toISOString(), '--format', 'csv'], aws.env);
    expect(run.code).toBe(0);
    const [header, ...lines] = run.stdout.trim().split('\n');
    expect(header).toBe('claimedAt,dispatchId,state,reason,memberId,addressHash,template,sesMessageId,sentAt,reportedNotMineAt');
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.includes(',sent,'))).toHaveLength(3);
    expect(lines.some((l) => /,rejected,invalid-json,/.test(l))).toBe(true);
    expect(run.stdout).not.toMatch(/@example\.org/);

    const none = json<AuditReport>(
      await runOpsCli(['--local', '--json', 'audit', '--since', '2000-08-02', '--until', '2000-08-03'], aws.env),
    );
    expect(none.rows).toEqual([]);
  });

  it('prints a human table with a summary', async () => {
    const run = await runOpsCli(['--local', 'audit', '--member', 'M2'], aws.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('d-3');
    expect(run.stdout).toContain('2 dispatch(es), 2 sent, 1 member(s), 2 address(es)');
  });

  it.each([
    ['no selector', ['audit']],
    ['both --address and --member', ['audit', '--address', 'a@example.org', '--member', 'M1']],
    ['a malformed --address-hash', ['audit', '--address-hash', 'pat@example.org']],
    ['a bad address', ['audit', '--address', 'Pat <pat@example.org>']],
    ['a bad time', ['audit', '--since', 'yesterday']],
    ['--since after --until', ['audit', '--since', '2000-08-03', '--until', '2000-08-02']],
  ])('exits 2 on %s, without echoing an address', async (_name, args) => {
    const run = await runOpsCli(['--local', ...args], aws.env);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('pat@example.org');
  });

  describe('dates, on a machine in America/Los_Angeles (issue 19, item 4)', () => {
    const la = () => ({ ...aws.env, TZ: 'America/Los_Angeles' });

    it.each([
      ['a day that is not in the calendar', ['--since', '2026-02-30'], '--since 2026-02-30 is not a date in the calendar'],
      ['a date-time without an offset', ['--since', '2026-02-03T09:00:00'], 'has no offset: add Z for UTC'],
      [
        'a date-time without an offset for --until',
        ['--since', '2026-02-01', '--until', '2026-02-03T09:00'],
        '--until 2026-02-03T09:00 has no offset',
      ],
    ])('refuses %s (exit 2), whatever the zone', async (_name, args, message) => {
      const run = await runOpsCli(['--local', 'audit', ...args], la());
      expect([run.code, run.stderr]).toEqual([2, expect.stringContaining(message)]);
    });

    it('reads a date alone and a date-time with an offset as the same instants, and states the window in UTC', async () => {
      const run = await runOpsCli(['--local', 'audit', '--since', '2000-08-02', '--until', '2000-08-02T10:00:00-07:00'], la());
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('window (UTC): 2000-08-02T00:00:00.000Z to 2000-08-02T17:00:00.000Z');
      const csv = await runOpsCli(['--local', 'audit', '--since', '2000-08-02', '--until', '2000-08-03', '--format', 'csv'], la());
      expect(csv.stdout.split('\n')[0]).toBe(
        'claimedAt,dispatchId,state,reason,memberId,addressHash,template,sesMessageId,sentAt,reportedNotMineAt',
      );
      expect(csv.stderr).toContain('window (UTC): 2000-08-02T00:00:00.000Z to 2000-08-03T00:00:00.000Z');
    });
  });
});
