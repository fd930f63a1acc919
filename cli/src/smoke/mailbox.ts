import { normaliseAddress } from '../../../lambdas/core/address';
import { TargetUnavailableError } from '../ops/errors';
import { DISPATCH_REF_KEY, dispatchRefFromText } from '../../../lambdas/core/templates';

/** One e-mail the mail service accepted, reduced to what the smoke test compares. */
export interface SentMail {
  /** From the `Reference:` line (or the template data) of the e-mail; `undefined` if it has none. */
  readonly dispatchId?: string;
  /** Normalised recipients. Compared in memory, never printed. */
  readonly to: readonly string[];
}

/** Reads back what a local mail service accepted. */
export interface Mailbox {
  /** Where it reads (for messages). */
  readonly description: string;
  sent(): Promise<SentMail[]>;
}

/** A mailbox that could not be read: the target is not reachable (exit 3), not a failed check. */
export class MailboxError extends TargetUnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailboxError';
  }
}

async function getJson(url: string, what: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new MailboxError(`Cannot reach ${what} at ${url}`, { cause: error });
  }
  if (!response.ok) throw new MailboxError(`${what} at ${url} answered ${response.status}`);
  return response.json();
}

/** aws-ses-v2-local (the embedded pipeline): `GET /store`, e-mails rendered from the templates. */
export function sesEmulatorMailbox(endpoint: string): Mailbox {
  const url = `${endpoint.replace(/\/+$/, '')}/store`;
  return {
    description: `the SES emulator store (${url})`,
    async sent() {
      const store = (await getJson(url, 'the SES emulator')) as {
        emails?: { destination?: { to?: string[] }; body?: { text?: string } }[];
      };
      return (store.emails ?? []).map((email) => ({
        dispatchId: dispatchRefFromText(email.body?.text ?? ''),
        to: (email.destination?.to ?? []).map(normaliseAddress),
      }));
    },
  };
}

/**
 * LocalStack's sent-mail endpoint, `GET /_aws/ses`. A templated send may be kept rendered
 * (`Body.text_part`) or as its template data (`TemplateData`): both are read. Untested here (no Docker).
 */
export function localStackMailbox(endpoint: string): Mailbox {
  const url = `${endpoint.replace(/\/+$/, '')}/_aws/ses`;
  return {
    description: `LocalStack's sent mail (${url})`,
    async sent() {
      const result = (await getJson(url, 'LocalStack')) as {
        messages?: { Destination?: { ToAddresses?: string[] }; Body?: { text_part?: string | null }; TemplateData?: string }[];
      };
      return (result.messages ?? []).map((message) => ({
        dispatchId: dispatchRefFromText(message.Body?.text_part ?? '') ?? refFromTemplateData(message.TemplateData),
        to: (message.Destination?.ToAddresses ?? []).map(normaliseAddress),
      }));
    },
  };
}

function refFromTemplateData(data: string | undefined): string | undefined {
  if (!data) return undefined;
  try {
    const value = (JSON.parse(data) as Record<string, unknown>)[DISPATCH_REF_KEY];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
