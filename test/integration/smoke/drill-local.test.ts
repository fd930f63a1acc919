import { cleanEnv, startNpmRunLocal, type NpmRunLocal } from '../../support/npm-run-local';
import { runSmokeCli } from '../../support/run-smoke-cli';

jest.setTimeout(300_000);

const smoke = (args: string[], env: NodeJS.ProcessEnv) => runSmokeCli(args, env, 240_000);

/**
 * Issue 18.7: the post-deploy drill against `npm run local`, where the local SES layer answers the
 * mailbox simulator's addresses (success, bounce, complaint) as SES does and the local control
 * endpoint stands for CloudWatch's SetAlarmState.
 */
describe('npm run smoke -- --target local --drill', () => {
  let local: NpmRunLocal | undefined;
  let shell: NodeJS.ProcessEnv;

  beforeAll(async () => {
    local = await startNpmRunLocal();
    shell = { ...cleanEnv(), ...local.env };
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('proves feedback (delivery, bounce, complaint), suppression and the alarm action, then resumes; twice in a row', async () => {
    for (let run = 1; run <= 2; run++) {
      const { code, stdout, stderr } = await smoke(['--target', 'local', '--drill', '--timeout', '60'], shell);
      expect({ run, code, stderr: code === 0 ? '' : stderr, stdout: code === 0 ? '' : stdout }).toEqual({
        run,
        code: 0,
        stderr: '',
        stdout: '',
      });
      for (const line of [
        /^PASS +drill members registered +[\d.]+ s +DRILL-BOUNCE, DRILL-COMPLAINT$/m,
        /^PASS +SES accepted both \(Send\) +[\d.]+ s +bounce: sent, complaint: sent$/m,
        /^PASS +feedback: delivered +[\d.]+ s +smoke-\S+-good: delivered$/m,
        /^PASS +feedback: bounced +[\d.]+ s +drill-\S+-bounce-1: bounced$/m,
        /^PASS +feedback: complained +[\d.]+ s +drill-\S+-complaint-1: complained$/m,
        /^PASS +suppression took effect +[\d.]+ s +drill-\S+-bounce-2: blocked \(suppressed\), nothing sent$/m,
        /^PASS +alarm action paused the pipeline +[\d.]+ s +mapping disabled, pause flag set by breaker$/m,
        /^PASS +alarm back to OK +[\d.]+ s/m,
        /^PASS +resumed +[\d.]+ s +mapping enabled, pause flag clear$/m,
        /^DRILL PASSED in [\d.]+ s$/m,
      ]) {
        expect(stdout).toMatch(line);
      }
      expect(`${stdout}${stderr}`).not.toMatch(/simulator\.amazonses\.com/);
    }
  });

  it('refuses --drill on LocalStack with exit 2 and says why', async () => {
    const { code, stderr } = await smoke(['--target', 'localstack', '--drill'], shell);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--drill runs on --target aws or --target local/);
  });
});
