import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { cleanEnv } from '../../support/npm-run-local';

const ROOT = join(__dirname, '..', '..', '..');

jest.setTimeout(120_000);

/** Another program holding a port, as a leftover DynamoDB Local or a dev server would: its own process. */
async function holdPort(): Promise<{ port: number; pid: number; release(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port); });"],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve) =>
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  return {
    port,
    pid: child.pid as number,
    release: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** `npm run local` with the given flags, until it exits (or 60 s, when it is killed: a hang is a failure). */
function runLocal(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'serve.ts'), ...args], {
      cwd: ROOT,
      env: cleanEnv(),
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, hung });
    });
  });
}

/**
 * Issue 19.10: port 8000 held read as "Cannot create preexisting table" (our tables were created in the
 * other program's DynamoDB), 9324 busy as a stack trace. A busy port asked for is now named, with the
 * flag that moves it and who holds it, before anything starts.
 */
describe('npm run local on a port another program holds', () => {
  it.each([
    ['DynamoDB Local', '--dynamodb-port'],
    ['SQS', '--sqs-port'],
    ['SES', '--ses-port'],
  ])('refuses a busy %s port at once, naming it, its holder and %s', async (_service, flag) => {
    const holder = await holdPort();
    try {
      const others = ['--dynamodb-port', '--sqs-port', '--ses-port'].filter((f) => f !== flag).flatMap((f) => [f, '0']);
      const run = await runLocal([flag, String(holder.port), ...others]);
      expect(run.hung).toBe(false);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`port ${holder.port}`);
      expect(run.stderr).toContain(`${flag} 0`);
      expect(run.stderr).toMatch(new RegExp(`pid ${holder.pid}\\b.*node`));
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr).not.toMatch(/preexisting table/i);
      expect(run.stdout).not.toContain('mail-dispatch is running locally');
    } finally {
      await holder.release();
    }
  });
});
