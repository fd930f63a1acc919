import { execFile } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
jest.setTimeout(120_000);

/** A PATH with node on it and no java; JAVA_HOME unset. */
function pathWithoutJava(): string {
  const dir = mkdtempSync(join(tmpdir(), 'no-java-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  return dir;
}

function run(script: string, args: string[]): Promise<{ code: number | string | null; stderr: string; ms: number }> {
  const started = Date.now();
  const { JAVA_HOME: _javaHome, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, script), ...args],
      { cwd: ROOT, env: { ...env, PATH: pathWithoutJava() }, timeout: 60_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => resolve({ code: error ? (error.signal ?? error.code ?? 1) : 0, stderr, ms: Date.now() - started }),
    );
  });
}

/** Finding (issue 19, item 6): both printed the Java message, then hung (a started emulator kept the process alive). */
describe('npm run demo / npm run scenario without Java', () => {
  it.each([
    ['local/run-scenario.ts', ['test/scenarios/fan-in-60.json']],
    ['local/demo.ts', []],
  ])('%s says what is missing and exits non-zero at once', async (script, args) => {
    const result = await run(script, args);
    expect(result.stderr).toContain('Java >= 17 is required for DynamoDB Local');
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(45_000);
  });
});
