import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { onProcessExit } from './process-exit';

const bundles = new Map<string, Promise<string>>();
let outDir: string | undefined;

/**
 * Bundles a TypeScript entry with esbuild (platform node, CommonJS), as the stack's
 * `NodejsFunction` does, so worker threads can load it without a TypeScript loader. Built once
 * per process per entry, into a temporary directory removed on exit.
 */
export function bundleForWorker(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (!bundle) {
    bundle = buildBundle(entry);
    bundles.set(entry, bundle);
    bundle.catch(() => bundles.delete(entry));
  }
  return bundle;
}

async function buildBundle(entry: string): Promise<string> {
  if (!outDir) {
    const dir = mkdtempSync(join(tmpdir(), 'mail-dispatch-local-'));
    outDir = dir;
    onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  }
  const outfile = join(outDir, `${basename(entry).replace(/\.[cm]?[jt]s$/, '')}-${bundles.size}.cjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return outfile;
}
