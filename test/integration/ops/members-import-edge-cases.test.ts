import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMember } from '../../../lambdas/adapters/dynamodb-member-registry';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import type { ImportReport } from '../../../cli/src/ops/members';
import { json, runOpsCli } from './run-ops-cli';

jest.setTimeout(400_000);

/** Issue 19, items 1 and 11: what a newcomer's CSV files did to `members import`. */
describe('mail-dispatch members import: duplicate ids, empty and malformed files, 10,000 rows', () => {
  let aws: EmbeddedAws;
  let dir: string;
  beforeAll(async () => {
    aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
    dir = mkdtempSync(join(tmpdir(), 'members-edge-'));
  });
  afterAll(async () => aws?.stop());

  const stored = (memberId: string) => getMember(memberId, { tables: aws.tables, client: aws.clients.dynamodb });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('refuses both rows of a duplicate memberId (duplicate-member-id, with both lines) and imports the rest', async () => {
    const csv = file(
      'dup.csv',
      'memberId,email,status\nC0301,first@example.org,active\nC0302,other@example.org,active\nC0301,second@example.org,active\n',
    );
    const run = await runOpsCli(['--local', '--json', 'members', 'import', csv], aws.env);
    expect(run.code).toBe(1);
    const report = json<ImportReport>(run);
    expect(report.registered).toEqual([{ line: 3, memberId: 'C0302' }]);
    expect(report.refused.map((r) => [r.line, r.memberId, r.reason, r.detail])).toEqual([
      [2, 'C0301', 'duplicate-member-id', 'memberId C0301 is on lines 2 and 4 of this file: fix the file and import both again'],
      [4, 'C0301', 'duplicate-member-id', 'memberId C0301 is on lines 2 and 4 of this file: fix the file and import both again'],
    ]);
    expect(await stored('C0301')).toBeUndefined();
    expect(run.stdout).not.toMatch(/@example\.org/);
  });

  it.each([
    ['an empty file', '', 'is empty'],
    ['a file with only a byte-order mark and blank lines', '\ufeff\n\n', 'is empty'],
    ['a header-only file', 'memberId,email,status\n', 'has a header but no rows'],
    ['a wrong header with no rows', 'id,e-mail,state\n', 'missing column(s) memberId, email, status'],
  ])('says what is wrong with %s and exits 2', async (_name, text, message) => {
    const run = await runOpsCli(['--local', 'members', 'import', file('edge.csv', text)], aws.env);
    expect([run.code, run.stderr]).toEqual([2, expect.stringContaining(message)]);
    expect(run.stdout).not.toContain('0 of 0');
  });

  it('refuses one malformed row (reported with its line) and imports the others', async () => {
    const csv = file(
      'malformed.csv',
      'memberId,email,status\nR1,r1@example.org,active\nR2,r2@example.org,active,extra-field\nR3,r3@example.org,active\n',
    );
    const run = await runOpsCli(['--local', '--json', 'members', 'import', csv], aws.env);
    expect(run.code).toBe(1);
    const report = json<ImportReport>(run);
    expect(report.rows).toBe(3);
    expect(report.registered).toEqual([
      { line: 2, memberId: 'R1' },
      { line: 4, memberId: 'R3' },
    ]);
    expect(report.refused).toEqual([
      { line: 3, memberId: 'R2', reason: 'malformed-row', detail: expect.stringContaining('4 fields, the header has 3') },
    ]);
    expect(run.stdout).not.toContain('extra-field');
  });

  it('imports 10,000 rows with bounded concurrency and a progress bar', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `T${i},t${i}@example.org,active`);
    const csv = file('ten-thousand.csv', `memberId,email,status\n${rows.join('\n')}\n`);
    const started = Date.now();
    const run = await runOpsCli(['--local', '--json', 'members', 'import', csv], aws.env, undefined, 360_000);
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`10,000-row import: ${seconds.toFixed(1)} s\n`);
    expect(run.code).toBe(0);
    const report = json<ImportReport>(run);
    expect([report.rows, report.registered.length, report.refused.length, report.failed.length]).toEqual([10_000, 10_000, 0, 0]);
    expect(report.registered[9_999]).toEqual({ line: 10_001, memberId: 'T9999' });
    expect(run.stderr).toMatch(/import \[.*\] 10000\/10000/);
    // The time is printed, not asserted: on a shared 2-core machine it measures the neighbours (see docs/decisions.md).
  });
});
