import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
jest.setTimeout(180_000);

/** Runs bin/mail-dispatch.ts as `cdk synth` does: the CLI hands the context over in CDK_CONTEXT_JSON. */
function synthApp(context: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string }> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'mail-dispatch-context-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bin', 'mail-dispatch.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify(context),
          CDK_OUTDIR: outdir,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        timeout: 170_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        rmSync(outdir, { recursive: true, force: true });
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Finding (issue 19, item 2): `cdk synth -c fanInLimt=5` exited 0 with the limit at 3. */
describe('bin/mail-dispatch.ts with misspelled or invalid context', () => {
  it('reports an unknown key with "did you mean", together with the other problems, as a clean list', async () => {
    const run = await synthApp({
      fanInLimt: '5',
      maxRecieveCount: '3',
      fanInWindowSeconds: '10',
      'cli-telemetry': false,
      '@aws-cdk/core:newStyleStackSynthesis': true,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Invalid mail-dispatch context (3 problems):');
    expect(run.stderr).toContain('  - unknown key fanInLimt: did you mean fanInLimit?');
    expect(run.stderr).toContain('  - unknown key maxRecieveCount: did you mean maxReceiveCount?');
    expect(run.stderr).toContain('  - fanInWindowSeconds must be an integer from 60');
    // No uncaught error: no stack frames, no "ConfigurationError:" dump; CDK's and tools' own keys pass.
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stderr).not.toContain('cli-telemetry');
    expect(run.stderr).not.toContain('newStyleStackSynthesis');
  });

  it('names the real keys when an unknown key resembles none of them', async () => {
    const run = await synthApp({ colour: 'blue' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /- unknown key colour \(the keys are fromAddress, fanInLimit, .*enableBackupPlan, outcomeSubscriberArns, transientBounceLimit, reputationBounceRatePercent, reputationComplaintRatePercent, reputationWindowSends\)/,
    );
  });
});
