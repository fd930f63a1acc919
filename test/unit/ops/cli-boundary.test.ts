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
    expect(inputs.filter((path) => /^lib\/(mail-dispatch-stack|settings|constructs\/)/.test(path))).toEqual([]);
    const packages = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
    expect(packages.filter((name) => /^(aws-cdk-lib|aws-cdk|constructs|cdk-nag)(\/|$)/.test(name))).toEqual([]);
  });
});
