import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashAddress } from '../../../lambdas/core/address';
import { getMember } from '../../../lambdas/adapters/dynamodb-member-registry';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import type { ImportReport, MemberView } from '../../../cli/src/ops/members';
import { json, runOpsCli } from './run-ops-cli';

describe('mail-dispatch members (CLI process, local pipeline)', () => {
  let aws: EmbeddedAws;
  let dir: string;

  beforeAll(async () => {
    aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
    dir = mkdtempSync(join(tmpdir(), 'members-cli-'));
  });
  afterAll(async () => {
    await aws?.stop();
  });

  const stored = (memberId: string) => getMember(memberId, { tables: aws.tables, client: aws.clients.dynamodb });

  it('put registers a member; a second member on the same own address is refused (exit 1) unless --allow-shared', async () => {
    const put = await runOpsCli(
      [
        '--local',
        'members',
        'put',
        '--member-id',
        'G1',
        '--email',
        'Guardian@Example.org',
        '--proxy',
        'nurse@example.org',
        '--proxy-for',
        'K1',
        'K8',
      ],
      aws.env,
    );
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('Registered G1 (version 1)');
    expect(await stored('G1')).toMatchObject({ email: 'guardian@example.org', proxies: ['nurse@example.org'], status: 'active' });

    const shared = await runOpsCli(
      ['--local', '--json', 'members', 'put', '--member-id', 'G2', '--email', 'guardian@example.org'],
      aws.env,
    );
    expect(shared.code).toBe(1);
    expect(json(shared)).toMatchObject({ outcome: 'refused', memberId: 'G2', reason: 'address-shared' });
    expect(shared.stdout).not.toContain('guardian@example.org');
    expect(await stored('G2')).toBeUndefined();

    const allowed = await runOpsCli(
      ['--local', 'members', 'put', '--member-id', 'G2', '--email', 'guardian@example.org', '--allow-shared', '--proxy-for', 'K1', 'K8'],
      aws.env,
    );
    expect(allowed.code).toBe(0);
  });

  it('get shows status and address hashes with how many members use each; --reveal shows the addresses', async () => {
    const key = aws.env[Env.addressHashKey];
    const view = json<MemberView>(await runOpsCli(['--local', '--json', 'members', 'get', 'G1'], aws.env));
    expect(view).toMatchObject({
      memberId: 'G1',
      status: 'active',
      suppressed: false,
      version: 1,
      fanInLimit: 3,
      addresses: [
        { role: 'email', addressHash: hashAddress('guardian@example.org', key), membersOnAddress: 2 },
        { role: 'proxy', addressHash: hashAddress('nurse@example.org', key), membersOnAddress: 1 },
      ],
    });
    expect(view.addresses[0]).not.toHaveProperty('address');
    const revealed = await runOpsCli(['--local', 'members', 'get', 'G1', '--reveal'], aws.env);
    expect(revealed.stdout).toContain('guardian@example.org');

    const missing = await runOpsCli(['--local', 'members', 'get', 'NOBODY'], aws.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No member NOBODY');
  });

  it('import registers the good rows and reports each refused one with its line, losing nothing', async () => {
    const csv = [
      'memberId,email,status,proxies,suppressed',
      'K1,k1@example.org,active,guardian@example.org,',
      'K2,k2@example.org,active,,true',
      'bad id,x@example.org,active,,',
      'K3,not-an-address,active,,',
      'K4,k4@example.org,gone,,',
      'K5,k5@example.org,active,nurse@example.org;bogus,',
      'K6,k6@example.org,active,,maybe',
      'K7,guardian@example.org,active,,',
      'K8,k8@example.org,active,guardian@example.org,',
      'K9,k9@example.org,suspended,nurse@example.org nurse2@example.org,false',
    ].join('\n');
    const file = join(dir, 'members.csv');
    writeFileSync(file, `${csv}\n`);
    const run = await runOpsCli(['--local', '--json', 'members', 'import', file], aws.env);
    expect(run.code).toBe(1);
    const report = json<ImportReport>(run);
    expect(report.rows).toBe(10);
    expect(report.registered).toEqual([
      { line: 2, memberId: 'K1' },
      { line: 3, memberId: 'K2' },
      { line: 11, memberId: 'K9' },
    ]);
    expect(report.refused.map((r) => [r.line, r.memberId, r.reason])).toEqual([
      [4, 'bad id', 'invalid-member-id'],
      [5, 'K3', 'invalid-email'],
      [6, 'K4', 'invalid-status'],
      [7, 'K5', 'invalid-proxies'],
      [8, 'K6', 'invalid-status'],
      [9, 'K7', 'address-shared'],
      // guardian@ already serves G1, G2 and K1: a fourth member would pass the fan-in limit.
      [10, 'K8', 'fan-in-limit'],
    ]);
    expect(report.failed).toEqual([]);
    expect(report.registered.length + report.refused.length + report.failed.length).toBe(report.rows);
    expect(run.stdout).not.toMatch(/@example\.org/);
    expect(await stored('K2')).toMatchObject({ suppressed: true });
    expect(await stored('K9')).toMatchObject({ status: 'suspended', proxies: ['nurse2@example.org', 'nurse@example.org'] });

    const human = await runOpsCli(['--local', 'members', 'import', file], aws.env);
    expect(human.stdout).toContain('of 10 row(s) registered');
  });

  it('import reads standard input and refuses a file with the wrong columns (exit 2)', async () => {
    const ok = await runOpsCli(
      ['--local', '--json', 'members', 'import', '-'],
      aws.env,
      'memberId,email,status\nS1,s1@example.org,active\n',
    );
    expect(ok.code).toBe(0);
    expect(json<ImportReport>(ok).registered).toEqual([{ line: 2, memberId: 'S1' }]);

    const wrong = await runOpsCli(['--local', 'members', 'import', '-'], aws.env, 'id,e-mail,status\nS2,s2@example.org,active\n');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('missing column(s) memberId, email');
    const absent = await runOpsCli(['--local', 'members', 'import', join(dir, 'nope.csv')], aws.env);
    expect(absent.code).toBe(2);
  });
});
