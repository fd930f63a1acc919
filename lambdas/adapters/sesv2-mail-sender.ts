import { SendEmailCommand, type SendEmailCommandOutput, SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import { SendOutcomeUnknownError, SendRefusedError } from '../core/errors';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../core/dispatch-tag';
import { DISPATCH_REF_KEY, REPORT_URL_KEY } from '../core/templates';
import type { MailSender, OutgoingMail } from '../ports';
import { sesTemplateName } from '../tables';

export interface SesV2MailSenderOptions {
  readonly fromAddress: string;
  readonly configurationSet: string;
  /** Prefix of the deployed template names (a stack's own copies). @default '' (the logical name) */
  readonly templatePrefix?: string;
  /**
   * @default a client with `maxAttempts: 1`: the SDK must never retry a send on its own, since a
   * timed-out SendEmail may have been accepted. The dispatcher retries only what SES refused.
   */
  readonly client?: SESv2Client;
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

/**
 * The SES client's timeouts (issue 20.4), well inside the dispatcher's 30 s: a connection not made
 * within `connectionTimeoutMs` is a refusal (nothing left this machine); an answer not received
 * within `requestTimeoutMs` is an unknown outcome (in-doubt). Without them a hung call runs into
 * the Lambda timeout and fails the whole batch.
 */
export const SES_TIMEOUTS = { connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000 } as const;

/** An SES v2 client that never retries a send on its own and gives up on a hung call in time. */
export function createSesClient(config: SESv2ClientConfig = {}): SESv2Client {
  return new SESv2Client({
    maxAttempts: 1,
    // smithy only logs a warning on requestTimeout unless throwOnRequestTimeout is set.
    requestHandler: {
      connectionTimeout: SES_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: SES_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...config,
  });
}

/**
 * Sends one templated e-mail to exactly one recipient through SES v2, once. It neither paces nor
 * retries: both belong before a claim (the dispatcher waits for a slot, then claims, then calls
 * this at once; a refused send is retried with a fresh claim, so the registry is checked again).
 */
export class SesV2MailSender implements MailSender {
  private readonly client: SESv2Client;

  constructor(private readonly options: SesV2MailSenderOptions) {
    this.client = options.client ?? createSesClient();
  }

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    let response: SendEmailCommandOutput;
    try {
      response = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.options.fromAddress,
          Destination: { ToAddresses: [mail.to] },
          Content: {
            Template: {
              TemplateName: sesTemplateName(mail.template, this.options.templatePrefix),
              TemplateData: JSON.stringify({ ...mail.data, [DISPATCH_REF_KEY]: mail.dispatchId, [REPORT_URL_KEY]: mail.reportUrl }),
            },
          },
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
  if (clientError && ACCOUNT_PAUSED.has(name))
    return new SendRefusedError(`SES sending is paused for the account (${name})`, 'account-paused', { cause: error });
  if (clientError && THROTTLED.has(name))
    return new SendRefusedError(`SES throttled the send (${name}, ${status})`, 'throttled', { cause: error });
  if (clientError) return new SendRefusedError(`SES refused the send (${name}, ${status})`, 'refused', { cause: error });
  if (status === undefined && NOT_CONNECTED_CODES.has(e?.code ?? ''))
    return new SendRefusedError(`SES was not reached (${e.code})`, 'refused', { cause: error });
  if (status === undefined && name === 'TimeoutError' && e?.code === undefined && CONNECTION_TIMEOUT.test(e?.message ?? '')) {
    return new SendRefusedError('SES was not reached (connection timeout)', 'refused', { cause: error });
  }
  return new SendOutcomeUnknownError(`SES send outcome unknown (${name}, ${status ?? 'no status'})`, { cause: error });
}
