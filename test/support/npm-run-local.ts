import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The environment of a shell with no AWS settings, as a newcomer's. */
export const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));

export interface NpmRunLocal {
  readonly child: ChildProcess;
  /** The variables it printed as `export NAME="value"` lines: what a user pastes into a shell. */
  readonly env: Record<string, string>;
  /** Everything it printed on stdout up to `Ctrl-C stops everything.` */
  readonly banner: string;
  /** Ctrl-C, as a user would: serve.ts stops the emulators (and the DynamoDB Local JVM) itself. */
  stop(): Promise<void>;
}

/** Starts `npm run local` (local/serve.ts, without npm's banner) on any free ports. */
export async function startNpmRunLocal(): Promise<NpmRunLocal> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'local', 'serve.ts'), '--dynamodb-port', '0', '--sqs-port', '0', '--ses-port', '0'],
    {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr = `${stderr}${chunk}`.slice(-4000)));
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run local did not start in 120 s:\n${stderr}`)), 120_000);
    child.once('exit', (code) => reject(new Error(`npm run local exited (${code}):\n${stderr}`)));
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('Ctrl-C stops everything.')) return;
      clearTimeout(timer);
      const pairs = [...stdout.matchAll(/^export ([A-Z0-9_]+)=(".*")$/gm)].map((m) => [
        m[1] as string,
        JSON.parse(m[2] as string) as string,
      ]);
      resolve(Object.fromEntries(pairs));
    });
  });
  child.removeAllListeners('exit');
  return {
    child,
    env,
    banner: stdout,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
