// Builds the ops CLI package: bin/mail-dispatch-ops.ts and everything it imports (the AWS SDK clients,
// commander, the CSV and table libraries) in one CommonJS file, so an install needs neither tsx nor the
// repository's dependencies (aws-cdk-lib is never reached: the CLI does not import the CDK).
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = dirname(root);
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const result = await build({
  // The entry runs main() itself when it is the process's main module (`require.main === module`).
  entryPoints: [join(repo, 'bin', 'mail-dispatch-ops.ts')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  outfile: join(dist, 'mail-dispatch.cjs'),
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs);
const cdk = inputs.filter((path) => /node_modules\/(aws-cdk-lib|aws-cdk|constructs|cdk-nag|tsx)\//.test(path));
if (cdk.length > 0) throw new Error(`the CLI bundle must not contain the CDK or tsx: ${cdk.slice(0, 3).join(', ')}`);
