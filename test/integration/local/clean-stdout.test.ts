import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { parse } from 'csv-parse/sync';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { createDispatcherDeps } from '../../../lambdas/dispatcher/dependencies';
import { createHandler } from '../../../lambdas/dispatcher/handler';
import { Env } from '../../../lambdas/tables';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { cleanEnv } from '../../support/npm-run-local';
import { RecordingReporter } from '../../support/recording-reporter';
import { sqsEvent, sqsRecord } from '../../support/sqs-event';

const ROOT = join(__dirname, '..', '..', '..');
const SCENARIO = join(ROOT, 'test', 'scenarios', 'local-basics.json');

jest.setTimeout(300_000);

/** Runs an npm script exactly as the README writes it, never throwing on a non-zero exit. */
function npm(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      args,
      { cwd: ROOT, env: { ...env, npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mail-dispatch-stdout-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Issue 19.12: "the JSON report is the only thing on stdout" was false under `npm run` (npm's banner
 * comes first). The README now says `npm run -s`, and both commands take `--out <file>`.
 */
describe('stdout holds the report and nothing else', () => {
  it('`npm run -s scenario -- <file>`: stdout is exactly one JSON document', async () => {
    const run = await npm(['run', '-s', 'scenario', '--', SCENARIO], cleanEnv());
    expect(run.code).toBe(0);
    expect(run.stdout.trimStart().startsWith('{')).toBe(true);
    expect(JSON.parse(run.stdout)).toMatchObject({ scenario: 'local-basics' });
  });

  it('`npm run scenario -- --out <file> <file>`: the report goes to the file, whatever npm prints', async () => {
    const out = join(dir, 'report.json');
    const run = await npm(['run', 'scenario', '--', '--out', out, SCENARIO], cleanEnv());
    expect(run.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ scenario: 'local-basics' });
    expect(run.stdout).not.toContain('"scenario"');
    expect(run.stderr).toContain(out);
  });

  describe('audit --format csv', () => {
    let aws: EmbeddedAws;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      aws = await startEmbeddedAws({ config: { fanInLimit: 3 } });
      env = { ...cleanEnv(), ...aws.env };
      const registry = { tables: aws.tables, hashKey: aws.env[Env.addressHashKey], fanInLimit: 3, client: aws.clients.dynamodb };
      await registerMembers([{ memberId: 'M1', email: 'pat@example.org', status: 'active' }], registry);
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
      const body = (dispatchId: string, to: string) =>
        JSON.stringify({ dispatchId, memberId: 'M1', to, template: 'advice-nurse-reply', data: { firstName: 'Pat' } });
      await createHandler(deps)(sqsEvent(sqsRecord(body('d-1', 'pat@example.org')), sqsRecord(body('d-2', 'eve@example.org'))));
    });
    afterAll(async () => {
      await aws?.stop();
    });

    const expectOnlyCsv = (text: string) => {
      const rows = parse(text, { columns: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
      expect(text.split('\n')[0]?.split(',')).toContain('dispatchId');
      expect(rows.map((row) => row.dispatchId).sort()).toEqual(['d-1', 'd-2']);
    };

    it('`npm run -s ops -- … --format csv`: stdout is exactly the CSV, the window on stderr', async () => {
      const run = await npm(
        ['run', '-s', 'ops', '--', '--local', 'audit', '--member', 'M1', '--since', '2000-01-01', '--format', 'csv'],
        env,
      );
      expect(run.code).toBe(0);
      expectOnlyCsv(run.stdout);
      expect(run.stderr).toMatch(/UTC/);
    });

    it('`npm run ops -- … --format csv --out <file>`: the CSV goes to the file (owner-only), nothing of it on stdout', async () => {
      const out = join(dir, 'audit.csv');
      const run = await npm(
        ['run', 'ops', '--', '--local', 'audit', '--member', 'M1', '--since', '2000-01-01', '--format', 'csv', '--out', out],
        env,
      );
      expect(run.code).toBe(0);
      expectOnlyCsv(readFileSync(out, 'utf8'));
      expect(statSync(out).mode & 0o077).toBe(0);
      expect(run.stdout).not.toContain('dispatchId');
    });

    it('a refusal goes to stderr and leaves stdout empty', async () => {
      const run = await npm(['run', '-s', 'ops', '--', '--local', 'audit', '--since', '2026-02-30', '--format', 'csv'], env);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/--since/);
    });
  });
});
