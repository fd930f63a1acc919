import { join } from 'node:path';
import { build } from 'esbuild';

describe('mail-dispatch/publisher', () => {
  it('pulls in nothing from the AWS CDK (a portal can depend on it alone)', async () => {
    const result = await build({
      entryPoints: [join(__dirname, '..', '..', '..', 'publisher', 'index.ts')],
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((path) => path.includes('node_modules/@aws-sdk/client-sqs/'))).toBe(true);
    expect(inputs.filter((path) => /node_modules\/(aws-cdk-lib|aws-cdk|constructs|cdk-nag)\//.test(path))).toEqual([]);
    expect(inputs.filter((path) => /^(lib|bin|local)\//.test(path))).toEqual([]);
  });
});
