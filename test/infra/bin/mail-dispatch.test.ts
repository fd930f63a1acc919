import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The real entry point through the pinned CLI: `cdk synth` must work offline (no Docker, no
 * lookups, no notices, no telemetry) with both cdk-nag packs applied by bin/mail-dispatch.ts.
 */
describe('bin/mail-dispatch.ts through `cdk synth`', () => {
  let outdir: string;
  let result: { stdout: string; stderr: string };

  beforeAll(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'mail-dispatch-synth-'));
    const { stdout, stderr } = await promisify(execFile)(
      path.join(ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--no-notices', '--no-version-reporting', '-q', '-o', outdir],
      {
        cwd: ROOT,
        env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    result = { stdout, stderr };
    // ~10 s on an idle machine; generous because jest runs other suites beside it.
  }, 180_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes the stack with the queue, DLQ, tables, function, mapping, configuration set and templates', () => {
    const template = JSON.parse(readFileSync(path.join(outdir, 'MailDispatch.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const count = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
    expect(count('AWS::SQS::Queue')).toBeGreaterThanOrEqual(2);
    expect(count('AWS::DynamoDB::Table')).toBe(2);
    // The dispatcher, feedback, breaker, not-for-me page, outcome publisher, registry watch and DLQ watch; the
    // publisher is mapped to the ledger stream, the registry watch to the members stream (12.2c), and the DLQ
    // watch runs on a schedule (issue 14), no mapping.
    expect(count('AWS::Lambda::Function')).toBe(7);
    expect(count('AWS::Lambda::Url')).toBe(1);
    expect(count('AWS::Lambda::EventSourceMapping')).toBe(3);
    expect(count('AWS::SES::ConfigurationSet')).toBe(1);
    expect(count('AWS::SES::Template')).toBe(2);
  });

  it('ran both cdk-nag packs, which found nothing, and recorded each acknowledgement in the template', () => {
    const template = JSON.parse(readFileSync(path.join(outdir, 'MailDispatch.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }>;
    };
    const recorded = Object.values(template.Resources)
      .flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? [])
      .map((rule) => rule.id);
    expect(recorded).toEqual(
      expect.arrayContaining(['AwsSolutions-SMG4', 'HIPAA.Security-SecretsManagerRotationEnabled', 'HIPAA.Security-LambdaInsideVPC']),
    );
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((p) => p.violations)).toEqual([]);
    expect(result.stderr).not.toMatch(/\b(ERROR|WARN(ING)?)\b.*\((AwsSolutions|HIPAA\.Security)\)/);
  });
});
