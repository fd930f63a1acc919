import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { SendOutcomeUnknownError, SendRefusedError } from '../core/errors';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../core/dispatch-tag';
import { DISPATCH_REF_KEY } from '../core/templates';
import type { MailSender, OutgoingMail } from '../ports';
import { sesTemplateName } from '../tables';
import { SendRateLimiter } from './send-rate-limiter';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SesV2MailSenderOptions {
  readonly fromAddress: string;
  readonly configurationSet: string;
  /** Prefix of the deployed template names (a stack's own copies). @default '' (the logical name) */
  readonly templatePrefix?: string;
  /**
   * @default a client with `maxAttempts: 1`: the SDK must never retry a send on its own, since a
   * timed-out SendEmail may have been accepted. This adapter retries only what SES refused.
   */
  readonly client?: SESv2Client;
  /** Tries for a refused send (a throttle or a 4xx refusal) before giving it back to SQS. @default 3 */
  readonly refusedAttempts?: number;
  /** Base of the jittered exponential backoff between refused tries, in ms. @default 100 */
  readonly backoffMs?: number;
  /** This environment's share of the SES send rate. @default unlimited */
  readonly maxSendsPerSecond?: number;
}

const THROTTLED = new Set(['TooManyRequestsException', 'LimitExceededException', 'Throttling', 'ThrottlingException']);
const ACCOUNT_PAUSED = new Set(['SendingPausedException', 'AccountSuspendedException']);
/**
 * Node errors raised before a request leaves this machine: the connection was never made. Any
 * other network error (a reset, a timeout) may come after SES read the request.
 */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL']);
/** What @smithy/node-http-handler says when `connectionTimeout` passed before the socket connected. */
const CONNECTION_TIMEOUT = /did not establish a connection/;

/** Sends one templated e-mail to exactly one recipient through SES v2. */
export class SesV2MailSender implements MailSender {
  private readonly client: SESv2Client;
  private readonly limiter: SendRateLimiter;

  constructor(private readonly options: SesV2MailSenderOptions) {
    this.client = options.client ?? new SESv2Client({ maxAttempts: 1 });
    this.limiter = new SendRateLimiter(options.maxSendsPerSecond ?? 0);
  }

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const attempts = this.options.refusedAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(mail);
      } catch (error) {
        if (!(error instanceof SendRefusedError) || error.kind === 'account-paused' || attempt >= attempts) throw error;
        await sleep((this.options.backoffMs ?? 100) * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
    }
  }

  private async sendOnce(mail: OutgoingMail): Promise<{ messageId: string }> {
    await this.limiter.acquire();
    let response;
    try {
      response = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.fromAddress,
          Destination: { ToAddresses: [mail.to] },
          Content: { Template: { TemplateName: sesTemplateName(mail.template, this.options.templatePrefix), TemplateData: JSON.stringify({ ...mail.data, [DISPATCH_REF_KEY]: mail.dispatchId }) } },
          ConfigurationSetName: this.options.configurationSet,
          EmailTags: [{ Name: DISPATCH_TAG_NAME, Value: encodeDispatchTag(mail.dispatchId) }],
        }),
      );
    } catch (error) {
      throw classifySendError(error);
    }
    if (!response.MessageId) throw new SendOutcomeUnknownError('SES accepted the request but returned no MessageId');
    return { messageId: response.MessageId };
  }
}

/**
 * Refused (nothing sent, safe to retry) or unknown (may have been sent: never retry). Only an
 * answer that proves nothing was accepted is a refusal: a 429, a modelled 4xx refusal, or a
 * connection that was never made. Every 5xx, an unparseable answer (the SDK names it `Unknown`,
 * whatever its status), an answer without a status and a timeout after the request left are an
 * unknown outcome: SES may have accepted the mail before the answer went wrong (issue 12.4).
 */
export function classifySendError(error: unknown): Error {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  if (status === 429) return new SendRefusedError(`SES throttled the send (${name}, 429)`, 'throttled', { cause: error });
  const clientError = status !== undefined && status >= 400 && status < 500 && name !== 'Unknown';
  if (clientError && ACCOUNT_PAUSED.has(name)) return new SendRefusedError(`SES sending is paused for the account (${name})`, 'account-paused', { cause: error });
  if (clientError && THROTTLED.has(name)) return new SendRefusedError(`SES throttled the send (${name}, ${status})`, 'throttled', { cause: error });
  if (clientError) return new SendRefusedError(`SES refused the send (${name}, ${status})`, 'refused', { cause: error });
  if (status === undefined && NOT_CONNECTED_CODES.has(e?.code ?? '')) return new SendRefusedError(`SES was not reached (${e.code})`, 'refused', { cause: error });
  if (status === undefined && name === 'TimeoutError' && e?.code === undefined && CONNECTION_TIMEOUT.test(e?.message ?? '')) {
    return new SendRefusedError('SES was not reached (connection timeout)', 'refused', { cause: error });
  }
  return new SendOutcomeUnknownError(`SES send outcome unknown (${name}, ${status ?? 'no status'})`, { cause: error });
}
