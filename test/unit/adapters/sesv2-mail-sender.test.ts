import {
  SESv2ServiceException,
  SendingPausedException,
  TooManyRequestsException,
  AccountSuspendedException,
  BadRequestException,
  MessageRejected,
} from '@aws-sdk/client-sesv2';
import { classifySendError, SesV2MailSender } from '../../../lambdas/adapters/sesv2-mail-sender';
import { SendRateLimiter } from '../../../lambdas/adapters/send-rate-limiter';
import { SendOutcomeUnknownError, SendRefusedError } from '../../../lambdas/core/errors';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe('classifySendError', () => {
  it.each<[string, unknown, string]>([
    ['a throttle (429)', new TooManyRequestsException({ message: 'rate', ...meta(429) }), 'throttled'],
    ['an unparseable 429', Object.assign(new Error('Unknown'), { name: 'Unknown', ...meta(429) }), 'throttled'],
    ['sending paused for the account', new SendingPausedException({ message: 'paused', ...meta(400) }), 'account-paused'],
    ['a suspended account', new AccountSuspendedException({ message: 'suspended', ...meta(400) }), 'account-paused'],
    ['a bad request', new BadRequestException({ message: 'bad', ...meta(400) }), 'refused'],
    ['a message SES rejected', new MessageRejected({ message: 'rejected', ...meta(400) }), 'refused'],
    ['a connection refused before sending', Object.assign(new Error('connect'), { code: 'ECONNREFUSED', syscall: 'connect' }), 'refused'],
    ['a name that does not resolve', Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }), 'refused'],
    ['a connection never established in time', smithyConnectionTimeout(), 'refused'],
  ])('treats %s as refused (nothing was sent)', (_name, error, kind) => {
    const classified = classifySendError(error);
    expect(classified).toBeInstanceOf(SendRefusedError);
    expect((classified as SendRefusedError).kind).toBe(kind);
  });

  it.each<[string, unknown]>([
    ['a timeout after the request left', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['the SDK request timeout', Object.assign(new Error('exceeded requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' })],
    ['a reset connection', Object.assign(new Error('reset'), { code: 'ECONNRESET', syscall: 'read' })],
    ['anything it does not know', new Error('?')],
    // 12.4: SES may have accepted the mail before it answered 5xx: never a refusal.
    ['12.4: a 500 (InternalFailure)', new SESv2ServiceException({ name: 'InternalFailure', $fault: 'server', message: 'x', ...meta(500) })],
    ['12.4: a 503', new SESv2ServiceException({ name: 'ServiceUnavailable', $fault: 'server', message: 'x', ...meta(503) })],
    ['12.4: an unparseable 502 (name Unknown)', Object.assign(new Error('Unknown'), { name: 'Unknown', ...meta(502) })],
    ['12.4: an unparseable 504 (name Unknown)', Object.assign(new Error('Unknown'), { name: 'Unknown', ...meta(504) })],
    ['12.4: an unparseable 4xx body (name Unknown)', Object.assign(new Error('Unknown'), { name: 'Unknown', ...meta(404) })],
    ['12.4: a refusal name on a 5xx status', new BadRequestException({ message: 'odd', ...meta(500) })],
    [
      '12.4: an answer with no status at all',
      new SESv2ServiceException({ name: 'BadRequestException', $fault: 'client', message: 'x', $metadata: {} }),
    ],
  ])('treats %s as an unknown outcome (never retried)', (_name, error) => {
    expect(classifySendError(error)).toBeInstanceOf(SendOutcomeUnknownError);
  });
});

/** What @smithy/node-http-handler throws when the socket never connected within `connectionTimeout`. */
function smithyConnectionTimeout(): Error {
  return Object.assign(
    new Error(
      '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 1000 ms.',
    ),
    { name: 'TimeoutError' },
  );
}

describe('SendRateLimiter', () => {
  it('spaces acquisitions to the configured rate, in arrival order', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const limiter = new SendRateLimiter(4); // one every 250 ms
      const slots: number[] = [];
      const done = Promise.all([0, 1, 2, 3].map(() => limiter.acquire().then(() => slots.push(Date.now()))));
      await jest.advanceTimersByTimeAsync(1000);
      await done;
      expect(slots).toEqual([0, 250, 500, 750]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('12.6: refuses at once, taking nothing, a slot further away than the wait the caller can afford', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const limiter = new SendRateLimiter(1); // one a second
      await expect(limiter.acquire(5_000)).resolves.toBe(true); // slot 0
      // The next slot is 1 s away: an invocation with 0.4 s to spare must not begin that wait.
      await expect(limiter.acquire(400)).resolves.toBe(false);
      expect(Date.now()).toBe(0);
      // The refused slot stayed free: the next caller gets it, at 1 s, not at 2 s.
      const taken = limiter.acquire(1_000).then((ok) => [ok, Date.now()]);
      await jest.advanceTimersByTimeAsync(1_000);
      await expect(taken).resolves.toEqual([true, 1_000]);
      await expect(new SendRateLimiter(0).acquire(-1)).resolves.toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not wait at all when unlimited', async () => {
    const limiter = new SendRateLimiter(0);
    const started = Date.now();
    for (let i = 0; i < 1000; i++) await limiter.acquire();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('SesV2MailSender', () => {
  const mail = {
    dispatchId: 'd.1:x',
    to: 'pat@example.org',
    template: 'advice-nurse-reply' as const,
    data: { firstName: 'Pat' },
    reportUrl: 'https://not-for-me.example.org/r/abc',
  };

  it('sends one recipient, template content, the configuration set and the escaped dispatchId tag', async () => {
    const inputs: Record<string, unknown>[] = [];
    const client = { send: async (command: { input: Record<string, unknown> }) => (inputs.push(command.input), { MessageId: 'ses-1' }) };
    const sender = new SesV2MailSender({
      fromAddress: 'no-reply@portal.example.org',
      configurationSet: 'mail-dispatch',
      client: client as never,
    });
    await expect(sender.send(mail)).resolves.toEqual({ messageId: 'ses-1' });
    expect(inputs[0]).toEqual({
      FromEmailAddress: 'no-reply@portal.example.org',
      Destination: { ToAddresses: ['pat@example.org'] },
      Content: {
        Template: {
          TemplateName: 'advice-nurse-reply',
          TemplateData: JSON.stringify({ firstName: 'Pat', dispatchRef: 'd.1:x', notForMeUrl: 'https://not-for-me.example.org/r/abc' }),
        },
      },
      ConfigurationSetName: 'mail-dispatch',
      EmailTags: [{ Name: 'dispatchId', Value: 'd_d1_cx' }],
    });
  });

  it('12.1: sends once and never retries on its own: a refused send is retried by the dispatcher, with a fresh claim', async () => {
    for (const error of [
      new TooManyRequestsException({ message: 'rate', ...meta(429) }),
      Object.assign(new Error('t'), { name: 'TimeoutError' }),
      new SendingPausedException({ message: 'p', ...meta(400) }),
    ]) {
      let calls = 0;
      const once = new SesV2MailSender({
        fromAddress: 'a@example.org',
        configurationSet: 'c',
        client: {
          send: async () => {
            calls++;
            throw error;
          },
        } as never,
      });
      await expect(once.send(mail)).rejects.toBeInstanceOf(Error);
      expect(calls).toBe(1);
    }
  });
});
