import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { Env } from '../../../lambdas/tables';
import { cleanEnv, startNpmRunLocal, type NpmRunLocal } from '../../support/npm-run-local';
import { runSmokeCli } from '../../support/run-smoke-cli';

jest.setTimeout(240_000);

const smoke = (args: string[], env: NodeJS.ProcessEnv) => runSmokeCli(args, env, 180_000);

describe('npm run smoke -- --target local (against npm run local)', () => {
  let local: NpmRunLocal | undefined;
  let shell: NodeJS.ProcessEnv;

  beforeAll(async () => {
    local = await startNpmRunLocal();
    shell = { ...cleanEnv(), ...local.env };
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('passes: good message sent, wrong address blocked (recipient-mismatch), duplicate not sent, one e-mail', async () => {
    const { code, stdout, stderr } = await smoke(['--target', 'local', '--timeout', '60'], shell);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    for (const line of [
      /^PASS +member registered +SMOKE-0001$/m,
      /^PASS +published +smoke-\S+-good, smoke-\S+-wrong-address$/m,
      /^PASS +good message sent +smoke-\S+-good: sent$/m,
      /^PASS +wrong address blocked +smoke-\S+-wrong-address: blocked \(recipient-mismatch\)$/m,
      /^PASS +duplicate published +smoke-\S+-good again$/m,
      /^PASS +duplicate not sent again +smoke-\S+-good: sent, sent 1 time\(s\), SES message id unchanged$/m,
      /^PASS +mailbox +the SES emulator store .*: 1 e-mail\(s\) for smoke-\S+-good, to the member's address; 0 for smoke-\S+-wrong-address or its address$/m,
      /^PASSED in [\d.]+ s$/m,
    ]) {
      expect(stdout).toMatch(line);
    }
  });

  it('passes again on the same pipeline, prints JSON with --json, and never an address', async () => {
    const { code, stdout, stderr } = await smoke(['--target', 'local', '--timeout', '60', '--json'], shell);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { passed: boolean; checks: { name: string; ok: boolean }[] };
    expect(report).toMatchObject({ target: 'local', passed: true, memberId: 'SMOKE-0001' });
    expect(report.checks.map((c) => c.name)).toEqual([
      'member registered',
      'published',
      'good message sent',
      'wrong address blocked',
      'duplicate published',
      'duplicate not sent again',
      'mailbox',
    ]);
    expect(`${stdout}${stderr}`).not.toMatch(/simulator\.amazonses\.com|smoke-wrong-recipient|@example\.com/);
  });

  it('fails with exit 1 when the pipeline sends nothing (paused)', async () => {
    const client = new DynamoDBClient({
      region: shell.AWS_REGION,
      endpoint: shell.AWS_ENDPOINT_URL_DYNAMODB,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: shell[Env.ledgerTable] as string, client });
    await pauseSwitch.pause({ reason: 'smoke test: expect a failure', by: 'operator:test', at: new Date().toISOString() });
    try {
      const { code, stdout } = await smoke(['--target', 'local', '--timeout', '3'], shell);
      expect(code).toBe(1);
      expect(stdout).toMatch(/^FAIL +good message sent +smoke-\S+-good: no ledger record after 3 s$/m);
      expect(stdout).toMatch(/^FAILED in/m);
    } finally {
      await pauseSwitch.resume('operator:test', new Date());
      client.destroy();
    }
  });

  it('exits 3 (the environment, as the ops CLI) and names what is missing without the variables npm run local prints', async () => {
    const { code, stderr } = await smoke(['--target', 'local'], cleanEnv());
    expect(code).toBe(3);
    expect(stderr).toMatch(/--target local needs the variables `npm run local` prints; missing: AWS_ENDPOINT_URL_SQS/);
  });
});
