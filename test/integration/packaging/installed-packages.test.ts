import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
/** Inside the repository's own temp folder (`.tmp/`, git-ignored): npm's cache stays there, nothing is kept elsewhere. */
const TMP = join(ROOT, '.tmp');
const NPM_CACHE = join(TMP, 'npm-cache');
const MB = 1024 * 1024;

jest.setTimeout(480_000);

/** Bytes of every file under `dir` (symlinks not followed), as `du --apparent-size` counts them. */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(path);
    else total += lstatSync(path).size;
  }
  return total;
}

const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    maxBuffer: 16 * MB,
    env: { ...process.env, npm_config_cache: NPM_CACHE, npm_config_update_notifier: 'false' },
  });

let scratch: string;
let project: string;
let sizes: { publisherWithDependencies: number; cli: number; total: number };

/**
 * Issue 19.5: a portal installs the two packages as a user would, from `npm pack` tarballs, with
 * no dev dependencies; `npx mail-dispatch --help` died on tsx, the publisher pulled in the CDK (242 MB)
 * and plain node could not load its `.ts`.
 */
beforeAll(async () => {
  mkdirSync(TMP, { recursive: true });
  scratch = mkdtempSync(join(TMP, 'packaging-'));
  const tarballs = join(scratch, 'tarballs');
  mkdirSync(tarballs);
  // `npm pack` runs each package's prepack (the build), as a publish would.
  await npm(['pack', '--workspace', 'publisher', '--workspace', 'cli', '--pack-destination', tarballs], ROOT);
  const files = readdirSync(tarballs).filter((name) => name.endsWith('.tgz'));
  expect(files.sort()).toEqual([
    expect.stringMatching(/^mail-dispatch-cli-.*\.tgz$/),
    expect.stringMatching(/^mail-dispatch-publisher-.*\.tgz$/),
  ]);

  project = join(scratch, 'portal');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "name": "portal", "private": true }\n');
  await npm(['install', '--omit=dev', ...files.map((name) => join(tarballs, name))], project);

  const modules = join(project, 'node_modules');
  const cli = sizeOf(join(modules, '@mail-dispatch', 'cli'));
  const total = sizeOf(modules);
  // The CLI is one bundled file with no dependencies, so everything else is the publisher's.
  sizes = { publisherWithDependencies: total - cli, cli, total };
  process.stdout.write(
    `installed sizes: publisher with its dependencies ${(sizes.publisherWithDependencies / MB).toFixed(1)} MB, ` +
      `cli ${(sizes.cli / MB).toFixed(1)} MB, node_modules ${(sizes.total / MB).toFixed(1)} MB\n`,
  );
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const REFUSED = { dispatchId: 'd-1', memberId: 'M1', to: 'Pat <pat@example.org>', template: 'advice-nurse-reply' };
const expectRefusedTo = (stdout: string) =>
  expect(JSON.parse(stdout)).toMatchObject({ ok: false, dispatchId: 'd-1', reason: 'invalid-message', field: 'to', attempts: 0 });

describe('the packages a portal installs (npm pack, npm install --omit=dev)', () => {
  it('installs the publisher with only the SQS client and zod, and nothing of the CDK', () => {
    const modules = join(project, 'node_modules');
    for (const heavy of ['aws-cdk-lib', 'cdk-nag', 'constructs', 'tsx', 'typescript', '@aws-sdk/client-dynamodb']) {
      expect(existsSync(join(modules, heavy))).toBe(false);
    }
    expect(existsSync(join(modules, '@aws-sdk', 'client-sqs'))).toBe(true);
    expect(existsSync(join(modules, 'zod'))).toBe(true);
    expect(sizes.publisherWithDependencies).toBeLessThanOrEqual(15 * MB);
  });

  it('loads the publisher from plain node with require', async () => {
    const script = `const { publishDispatch } = require('@mail-dispatch/publisher');
      publishDispatch(${JSON.stringify(REFUSED)}, { queueUrl: 'http://127.0.0.1:9/q' }).then((r) => console.log(JSON.stringify(r)));`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: project });
    expectRefusedTo(stdout);
  });

  it('loads the publisher from plain node with import (ESM)', async () => {
    const script = `import { publishDispatch, dispatchMessageJsonSchema } from '@mail-dispatch/publisher';
      if (typeof dispatchMessageJsonSchema().properties !== 'object') throw new Error('no schema');
      console.log(JSON.stringify(await publishDispatch(${JSON.stringify(REFUSED)}, { queueUrl: 'http://127.0.0.1:9/q' })));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expectRefusedTo(stdout);
  });

  it('ships type declarations where its package.json points (compiled by tsc at pack time)', () => {
    const installed = join(project, 'node_modules', '@mail-dispatch', 'publisher');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      types: string;
      exports: { '.': { types: string } };
    };
    expect(existsSync(join(installed, manifest.types))).toBe(true);
    expect(readFileSync(join(installed, manifest.exports['.'].types), 'utf8')).toContain('publishDispatches');
  });

  it('runs `mail-dispatch --help` from the install (no tsx)', async () => {
    const { stdout } = await run(join(project, 'node_modules', '.bin', 'mail-dispatch'), ['--help'], { cwd: project });
    expect(stdout).toContain('Usage: mail-dispatch');
    expect(stdout).toContain('members');
    // Exactly once: the bundled entry must not run its main twice.
    expect(stdout.match(/Usage: mail-dispatch/g)).toHaveLength(1);
  });
});
