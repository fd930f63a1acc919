import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { hashAddress } from '../../../lambdas/core/address';
import { dispatchRefFromText } from '../../../lambdas/core/templates';
import { Env } from '../../../lambdas/tables';
import { sesFeedbackEvent, type SesFeedback } from '../../../local/feedback-pump';
import { LocalPipeline } from '../../../local/local-pipeline';
import type { DispatchAuditReport } from '../../../cli/src/ops/audit';
import { json, runOpsCli } from './run-ops-cli';

jest.setTimeout(180_000);

const message = (dispatchId: string, memberId: string, to: string, template = 'advice-nurse-reply') =>
  JSON.stringify({ dispatchId, memberId, to, template, data: {} });

describe('mail-dispatch audit --dispatch (CLI process, against the local pipeline)', () => {
  let pipeline: LocalPipeline;
  let started: Date;
  let env: Readonly<Record<string, string>>;

  beforeAll(async () => {
    pipeline = await LocalPipeline.start({ concurrency: 1 });
    env = pipeline.aws.env;
    started = new Date(Date.now() - 1000);
    const { aws } = pipeline;
    const registered = await registerMembers(
      [
        { memberId: 'A1', email: 'a1@example.org', status: 'active' },
        { memberId: 'A2', email: 'a2@example.org', status: 'active' },
      ],
      { tables: aws.tables, hashKey: aws.env[Env.addressHashKey], fanInLimit: 3, client: aws.clients.dynamodb },
    );
    expect(registered.registered).toEqual(['A1', 'A2']);
    const bodies = [
      message('au-delivered', 'A1', 'a1@example.org'),
      message('au-bounced', 'A2', 'a2@example.org'),
      message('au-blocked', 'A1', 'eve@example.org'),
      message('au-rejected', 'A1', 'a1@example.org', 'lab-results'),
    ];
    await aws.clients.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: aws.queueUrl, Entries: bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })) }),
    );
    expect(await pipeline.drain(60)).toBe('empty');
    const emails = await aws.sesStore();
    const feedback: [string, SesFeedback][] = [
      ['au-delivered', { type: 'Delivery' }],
      ['au-bounced', { type: 'Bounce', bounceType: 'Permanent' }],
    ];
    for (const [dispatchId, item] of feedback) {
      const email = emails.find((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId);
      expect(email).toBeDefined();
      await pipeline.feedbackHandler(sesFeedbackEvent(item, dispatchId, email, new Date()));
    }
  });
  afterAll(async () => {
    await pipeline?.stop();
  });

  it('shows each record, its history version by version and its fate; an id never published is not found (exit 1)', async () => {
    const run = await runOpsCli(['--local', '--json', 'audit', '--dispatch', 'au-delivered', 'au-bounced', 'au-blocked', 'au-never'], env);
    expect(run.code).toBe(1);
    const report = json<DispatchAuditReport>(run);
    const [delivered, bounced, blocked, never] = report.dispatches;
    expect(delivered.record).toMatchObject({
      dispatchId: 'au-delivered',
      state: 'sent',
      memberId: 'A1',
      addressHash: hashAddress('a1@example.org', env[Env.addressHashKey]),
      sesMessageId: expect.any(String),
    });
    expect(delivered.history.map((h) => [h.version, h.event])).toEqual([
      [1, 'claimed'],
      [2, 'sent'],
      [3, 'delivered'],
    ]);
    expect(delivered.fate).toMatchObject({ fate: 'delivered', at: expect.any(String) });
    expect(delivered.record?.version).toBe(3);
    expect(bounced.fate).toMatchObject({ fate: 'bounced', detail: { bounceType: 'permanent', bounceSubType: expect.any(String) } });
    expect(blocked.record).toMatchObject({ state: 'blocked', reason: 'recipient-mismatch' });
    expect(blocked.history).toEqual([
      { version: 1, event: 'blocked', at: expect.any(String), detail: { reason: 'recipient-mismatch', sqsMessageId: expect.any(String) } },
    ]);
    expect(blocked.fate).toBeNull();
    expect(never).toEqual({ dispatchId: 'au-never', record: null, history: [], fate: null, rejected: [] });
    expect(report.summary).toEqual({ asked: 4, found: 3, sent: 2, notFound: ['au-never'] });
    expect(run.stdout).not.toContain('@');
  });

  it('numbers versions as the outcome feed does (the same dispatch, the same version, the same event)', async () => {
    const events = (await pipeline.receiveOutcomeEvents()).map((e) => e.detail).filter((d) => d.dispatchId === 'au-delivered');
    const report = json<DispatchAuditReport>(await runOpsCli(['--local', '--json', 'audit', '--dispatch', 'au-delivered'], env));
    const published = report.dispatches[0].history.filter((h) => h.event !== 'claimed');
    expect(events.map((e) => [e.version, e.event])).toEqual(published.map((h) => [h.version, h.event]));
  });

  it('prints a human table with the fate and the history, and no address', async () => {
    const run = await runOpsCli(['--local', 'audit', '--dispatch', 'au-bounced', 'au-blocked'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/fate\s*│\s*bounced \(bounceSubType \w+, bounceType permanent\) at /);
    expect(run.stdout).toContain('recipient-mismatch');
    expect(run.stdout).toContain('2 of 2 dispatch(es) found, 1 sent');
    expect(run.stdout).not.toContain('@');
  });

  it('--reveal shows the registered address the record was sent to', async () => {
    const report = json<DispatchAuditReport>(await runOpsCli(['--local', '--json', 'audit', '--dispatch', 'au-bounced', '--reveal'], env));
    expect(report.dispatches[0].record?.address).toBe('a2@example.org');
  });

  it('finds a rejected body that carried the dispatchId only in a window (--since): it is recorded under its SQS message id', async () => {
    const without = await runOpsCli(['--local', 'audit', '--dispatch', 'au-rejected'], env);
    expect([without.code, without.stdout]).toEqual([1, expect.stringContaining('add --since')]);
    const run = await runOpsCli(['--local', '--json', 'audit', '--dispatch', 'au-rejected', '--since', started.toISOString()], env);
    expect(run.code).toBe(0);
    const [rejected] = json<DispatchAuditReport>(run).dispatches;
    expect(rejected.record).toBeNull();
    expect(rejected.rejected).toEqual([
      {
        record: expect.objectContaining({ state: 'rejected', reason: 'unknown-template', ledgerKey: expect.stringMatching(/^rejected#/) }),
        history: [expect.objectContaining({ version: 1, event: 'rejected' })],
      },
    ]);
  });

  it.each([
    ['an address given as a dispatchId', ['--dispatch', 'pat@example.org']],
    ['--dispatch with --member', ['--dispatch', 'au-bounced', '--member', 'A1']],
    ['--dispatch as CSV', ['--dispatch', 'au-bounced', '--format', 'csv']],
    ['--since after --until', ['--dispatch', 'au-bounced', '--since', '2000-08-03', '--until', '2000-08-02']],
  ])('exits 2 on %s, without echoing it', async (_name, args) => {
    const run = await runOpsCli(['--local', 'audit', ...args], env);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('pat@example.org');
  });
});
