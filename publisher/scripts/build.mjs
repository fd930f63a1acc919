// Builds the publisher package: one ESM and one CommonJS bundle of publisher/ and the parts of
// lambdas/core it uses (the dispatcher's own schema), and type declarations. The SQS client and zod
// stay imports (they are the package's dependencies), so a portal shares its own copies.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const common = {
  entryPoints: [join(root, 'index.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
};
await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs') });
await build({ ...common, format: 'esm', outfile: join(dist, 'index.mjs') });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
