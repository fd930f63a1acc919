import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client, SendEmailCommand, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { createSesQuotaGate, SendQuota, SES_QUOTA_PATH } from '../../../local/ses-quota';

/** A clock the test moves by hand, ms. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('SendQuota', () => {
  it('lets a burst through at once, then throttles until the rate refills a token', () => {
    const clock = manualClock();
    const quota = new SendQuota({ perSecond: 100, burst: 10 }, clock.now);
    const first = Array.from({ length: 12 }, () => quota.take());
    expect(first.filter(Boolean)).toHaveLength(10);
    clock.advance(9);
    expect(quota.take()).toBe(false);
    clock.advance(1);
    expect(quota.take()).toBe(true);
    expect(quota.stats()).toEqual({ perSecond: 100, burst: 10, accepted: 11, throttled: 3 });
  });

  it('accepts exactly the rate over a long steady run at the rate, and no more when asked for double', () => {
    const clock = manualClock();
    const steady = new SendQuota({ perSecond: 50, burst: 1 }, clock.now);
    for (let i = 0; i < 5000; i++) {
      steady.take();
      clock.advance(20);
    }
    expect(steady.stats().throttled).toBe(0);
    const doubled = new SendQuota({ perSecond: 50, burst: 1 }, clock.now);
    for (let i = 0; i < 10_000; i++) {
      doubled.take();
      clock.advance(10);
    }
    // 100 s at 50/s: 5,000 accepted (± the first token), the other half throttled.
    expect(Math.abs(doubled.stats().accepted - 5000)).toBeLessThanOrEqual(1);
  });

  it('keeps no more than the burst however long it was idle', () => {
    const clock = manualClock();
    const quota = new SendQuota({ perSecond: 10 }, clock.now);
    clock.advance(3_600_000);
    expect(Array.from({ length: 3 }, () => quota.take())).toEqual([true, false, false]);
    expect(quota.burst).toBe(1);
  });

  it.each([[{ perSecond: 0 }], [{ perSecond: Number.NaN }], [{ perSecond: 10, burst: 0.5 }]])('refuses %o', (settings) =>
    expect(() => new SendQuota(settings)).toThrow(RangeError),
  );
});

describe('createSesQuotaGate', () => {
  let server: Server;
  let endpoint: string;
  let sent = 0;

  beforeAll(async () => {
    // Stands in for the SES emulator behind the gate: accepts every SendEmail.
    server = createServer(
      createSesQuotaGate((req, res) => {
        sent++;
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ MessageId: `m-${sent}` }));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const ses = () =>
    new SESv2Client({ endpoint: endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  const send = (client: SESv2Client) =>
    client.send(
      new SendEmailCommand({
        FromEmailAddress: 'a@example.org',
        Destination: { ToAddresses: ['b@example.org'] },
        Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } },
      }),
    );

  it('passes everything on while no quota is set', async () => {
    const client = ses();
    const before = sent;
    await Promise.all(Array.from({ length: 20 }, () => send(client)));
    expect(sent - before).toBe(20);
    expect(await (await fetch(`${endpoint}${SES_QUOTA_PATH}`)).json()).toBeNull();
  });

  it('answers sends over the quota with the 429 the SDK reads as TooManyRequestsException, and counts both', async () => {
    const put = await fetch(`${endpoint}${SES_QUOTA_PATH}`, { method: 'PUT', body: JSON.stringify({ perSecond: 1, burst: 2 }) });
    expect(put.status).toBe(200);
    const client = ses();
    const before = sent;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => send(client)));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(sent - before).toBe(2);
    expect(refused).toHaveLength(3);
    for (const error of refused) {
      expect(error).toBeInstanceOf(TooManyRequestsException);
      expect(error.$metadata.httpStatusCode).toBe(429);
    }
    const lifted = await (await fetch(`${endpoint}${SES_QUOTA_PATH}`, { method: 'DELETE' })).json();
    expect(lifted).toEqual({ perSecond: 1, burst: 2, accepted: 2, throttled: 3 });
    await send(client);
    expect(sent - before).toBe(3);
  });

  it('refuses an invalid quota with a clear error and keeps none', async () => {
    const put = await fetch(`${endpoint}${SES_QUOTA_PATH}`, { method: 'PUT', body: JSON.stringify({ perSecond: -1 }) });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { message: string }).message).toMatch(/perSecond must be a positive number/);
    expect(await (await fetch(`${endpoint}${SES_QUOTA_PATH}`)).json()).toBeNull();
  });
});
