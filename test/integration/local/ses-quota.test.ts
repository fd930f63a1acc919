import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesV2MailSender } from '../../../lambdas/adapters/sesv2-mail-sender';
import { SendRefusedError } from '../../../lambdas/core/errors';
import { createTemplates } from '../../../local/provision';
import { SES_QUOTA_PATH } from '../../../local/ses-quota';
import { startSqsSesEmulators, type SqsSesEmulators } from '../../../local/sqs-ses-emulators';

/** The SES quota as the bench uses it: in the emulators' thread, in front of aws-ses-v2-local. */
describe('the SES emulator with a send quota', () => {
  let emulators: SqsSesEmulators;
  let sender: SesV2MailSender;

  beforeAll(async () => {
    emulators = await startSqsSesEmulators({ sesQuota: true });
    const client = new SESv2Client({
      region: 'us-east-1',
      endpoint: emulators.sesEndpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await createTemplates(client);
    sender = new SesV2MailSender({ fromAddress: 'portal@example.org', configurationSet: 'mail-dispatch', client });
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  const mail = (i: number) => ({
    dispatchId: `q-${i}`,
    to: `m${i}@example.org`,
    template: 'advice-nurse-reply' as const,
    data: { firstName: 'Pat' },
    reportUrl: 'http://127.0.0.1:1/r/x',
  });
  const stored = async () => ((await (await fetch(`${emulators.sesEndpoint}/store`)).json()) as { emails: unknown[] }).emails.length;
  const quota = (init?: RequestInit) => fetch(`${emulators.sesEndpoint}${SES_QUOTA_PATH}`, init).then((r) => r.json());

  it('sends everything while no quota is set', async () => {
    await Promise.all([1, 2, 3].map((i) => sender.send(mail(i))));
    expect(await stored()).toBe(3);
    expect(await quota()).toBeNull();
  });

  it('answers sends over the quota 429, which the real adapter reads as throttled (nothing stored), and counts them', async () => {
    expect(await quota({ method: 'PUT', body: JSON.stringify({ perSecond: 1, burst: 2 }) })).toMatchObject({ perSecond: 1, burst: 2 });
    const results = await Promise.allSettled([10, 11, 12, 13, 14].map((i) => sender.send(mail(i))));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(refused).toHaveLength(3);
    for (const error of refused) expect(error).toEqual(expect.objectContaining({ name: SendRefusedError.name, kind: 'throttled' }));
    expect(await stored()).toBe(5);
    expect(await quota({ method: 'DELETE' })).toEqual({ perSecond: 1, burst: 2, accepted: 2, throttled: 3 });
    await sender.send(mail(20));
    expect(await stored()).toBe(6);
  });
});
