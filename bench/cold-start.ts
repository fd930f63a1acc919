import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { median } from './stats';

const PROJECT_ROOT = resolve(__dirname, '..');
export const DISPATCHER_ENTRY = join(PROJECT_ROOT, 'lambdas', 'dispatcher', 'handler.ts');

export interface BundleFigures {
  readonly bytes: number;
  /** Bytes in the bundle per package (`(own code)` for this repository), largest first. */
  readonly byPackage: { readonly name: string; readonly bytes: number }[];
  /** What the bundle leaves to the runtime (`@aws-sdk/*`). */
  readonly external: string[];
}

export interface InitFigures {
  readonly spawns: number;
  /** Process start → first line of the child's script (Node's own boot), median ms. */
  readonly bootMs: number;
  /** `require(bundle)` alone: the module init a cold start pays on top of the runtime, median ms. */
  readonly initMs: number;
  /** Process start → `require` done, median ms. */
  readonly totalMs: number;
  readonly initSamplesMs: number[];
  /** Of `initMs`: loading the external `@aws-sdk/*` modules alone, median ms (separate spawns that preload them). */
  readonly sdkMs: number;
  /** Of `initMs`: the bundle's own code once the SDK is loaded, median ms. */
  readonly bundleOwnMs: number;
}

/**
 * Bundles the dispatcher exactly as the stack's `NodejsFunction` does (lib/constructs/
 * service-function.ts: esbuild, platform node, target node22, CommonJS, minified, no source map,
 * `@aws-sdk/*` external because the Lambda runtime ships it) and measures it.
 */
export async function buildDispatcherBundle(outDir: string): Promise<{ file: string; figures: BundleFigures }> {
  const file = join(outDir, 'index.js');
  const result = await build({
    entryPoints: [DISPATCHER_ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = output?.inputs ?? {};
  const external = [...new Set((output?.imports ?? []).filter((i) => i.external).map((i) => i.path))].sort();
  const byPackage = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(own code)';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return {
    file,
    figures: {
      bytes: statSync(file).size,
      byPackage: [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
      external,
    },
  };
}

/** Measured inside the child, relative to its process start (`performance.timeOrigin`). */
const CHILD = `
const preload = process.env.BENCH_PRELOAD ? process.env.BENCH_PRELOAD.split(',') : [];
const bootMs = performance.now();
for (const name of preload) require(name);
const sdkMs = performance.now() - bootMs;
require(process.env.BENCH_BUNDLE);
const totalMs = performance.now();
process.stdout.write(JSON.stringify({ bootMs, sdkMs, initMs: totalMs - bootMs, totalMs }));
`;

type Sample = { bootMs: number; sdkMs: number; initMs: number; totalMs: number };

/**
 * Loads the bundle in `spawns` fresh Node processes, one after another; interleaved with as many
 * that load the external SDK modules first, to split the init between the SDK and the bundle.
 */
export async function measureInit(bundleFile: string, external: readonly string[], spawns: number): Promise<InitFigures> {
  const plain: Sample[] = [];
  const preloaded: Sample[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_BUNDLE: bundleFile, NODE_PATH: join(PROJECT_ROOT, 'node_modules') };
  // tsx runs this process through loader hooks it passes on in NODE_OPTIONS: the child must be plain node.
  delete env.NODE_OPTIONS;
  delete env.BENCH_PRELOAD;
  for (let i = 0; i < spawns; i++) {
    plain.push(await runChild(env));
    preloaded.push(await runChild({ ...env, BENCH_PRELOAD: external.join(',') }));
  }
  const sdkMs = median(preloaded.map((s) => s.sdkMs));
  return {
    spawns,
    bootMs: median(plain.map((s) => s.bootMs)),
    initMs: median(plain.map((s) => s.initMs)),
    totalMs: median(plain.map((s) => s.totalMs)),
    initSamplesMs: plain.map((s) => s.initMs),
    sdkMs,
    bundleOwnMs: median(preloaded.map((s) => s.initMs - s.sdkMs)),
  };
}

function runChild(env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`Loading the bundle failed (exit ${code}): ${err.trim().slice(0, 500)}`));
      try {
        resolvePromise(JSON.parse(out));
      } catch {
        reject(new Error(`The init probe printed no figures: ${out.slice(0, 200)}`));
      }
    });
  });
}

/** Builds the bundle into a temporary directory, measures it, and removes it. */
export async function measureBundleAndInit(spawns: number): Promise<{ bundle: BundleFigures; init: InitFigures }> {
  const dir = mkdtempSync(join(tmpdir(), 'mail-dispatch-bench-'));
  try {
    const { file, figures } = await buildDispatcherBundle(dir);
    return { bundle: figures, init: await measureInit(file, figures.external, spawns) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
