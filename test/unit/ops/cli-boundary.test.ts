import { join } from 'node:path';
import { build } from 'esbuild';

describe('the ops CLI (bin/mail-dispatch-ops.ts)', () => {
  it('pulls in nothing from the AWS CDK (stack output names come from lib/stack-outputs.ts)', async () => {
    const result = await build({
      entryPoints: [join(__dirname, '..', '..', '..', 'bin', 'mail-dispatch-ops.ts')],
      bundle: true,
      platform: 'node',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('lib/stack-outputs.ts');
    // lib/ is the CDK side: of it the CLI reads only the output names (a module that imports nothing).
    expect(inputs.filter((path) => path.startsWith('lib/') && path !== 'lib/stack-outputs.ts')).toEqual([]);
    const packages = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
    expect(packages.filter((name) => /^(aws-cdk-lib|aws-cdk|constructs|cdk-nag)(\/|$)/.test(name))).toEqual([]);
  });
});
