/**
 * The SES account's maximum send rate, for the embedded SES emulator (issue 17.2). This file is
 * bundled on its own and loaded in the emulators' worker thread (local/sqs-ses-emulators.ts):
 * it imports nothing but types.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A send quota: `perSecond` sustained, bursts of up to `burst` sends above it. */
export interface SesQuotaSettings {
  /** The account's maximum send rate, e-mails per second (SES's `MaxSendRate`). */
  readonly perSecond: number;
  /**
   * How many sends may come at once after a quiet spell. SES documents that short bursts above
   * the rate are accepted without saying how long; a tenth of a second of the rate is stricter
   * than that, so what passes here passes there. @default max(1, perSecond / 10)
   */
  readonly burst?: number;
}

/** What the quota answered since it was set. */
export interface SesQuotaStats {
  readonly perSecond: number;
  readonly burst: number;
  /** Sends the quota let through to the emulator. */
  readonly accepted: number;
  /** Sends answered 429 (`TooManyRequestsException`, "Maximum sending rate exceeded."). */
  readonly throttled: number;
}

/**
 * A token bucket: `perSecond` tokens a second, at most `burst` kept; a send takes one or is
 * throttled. Pure but for the injected clock (milliseconds, monotonic).
 */
export class SendQuota {
  readonly perSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  accepted = 0;
  throttled = 0;

  constructor(
    settings: SesQuotaSettings,
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!(settings.perSecond > 0) || !Number.isFinite(settings.perSecond))
      throw new RangeError(`SES quota perSecond must be a positive number, got ${settings.perSecond}`);
    const burst = settings.burst ?? Math.max(1, settings.perSecond / 10);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`SES quota burst must be at least 1, got ${burst}`);
    this.perSecond = settings.perSecond;
    this.burst = burst;
    this.tokens = burst;
    this.last = clock();
  }

  /** Takes a token for one send: true when the send is within the quota. */
  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    // Within a rounding error of a whole token counts as one (0.9 + 0.1 is 0.9999999999999999).
    if (this.tokens >= 1 - 1e-9) {
      this.tokens -= 1;
      this.accepted++;
      return true;
    }
    this.throttled++;
    return false;
  }

  stats(): SesQuotaStats {
    return { perSecond: this.perSecond, burst: this.burst, accepted: this.accepted, throttled: this.throttled };
  }
}

/** The emulator's control path: `GET` the stats, `PUT` `{ perSecond, burst? }` to set, `DELETE` to lift the quota. */
export const SES_QUOTA_PATH = '/_local/ses-quota';

/** SendEmail (one token per request: the pipeline sends one recipient per request). */
const SEND_PATH = '/v2/email/outbound-emails';

/** SES v2's answer to a send over the account's rate, as the SDK's restJson1 deserialiser reads it. */
function throttle(res: ServerResponse): void {
  res.writeHead(429, {
    'content-type': 'application/json',
    'x-amzn-errortype': 'TooManyRequestsException',
    'x-amzn-requestid': `local-quota-${Date.now()}`,
  });
  res.end(JSON.stringify({ message: 'Maximum sending rate exceeded.' }));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * A request listener placed in front of the SES emulator's: with a quota set, a send above it is
 * answered 429 before the emulator sees it (nothing stored, as SES accepts nothing); everything
 * else goes on to `next`. No quota is set until one is PUT.
 */
export function createSesQuotaGate(
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  let quota: SendQuota | undefined;
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === SES_QUOTA_PATH) {
      if (req.method === 'GET') return json(res, 200, quota?.stats() ?? null);
      if (req.method === 'DELETE') {
        const last = quota?.stats() ?? null;
        quota = undefined;
        return json(res, 200, last);
      }
      if (req.method !== 'PUT') return json(res, 405, { message: 'GET, PUT or DELETE' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        try {
          const settings = JSON.parse(body) as SesQuotaSettings;
          quota = new SendQuota({
            perSecond: Number(settings.perSecond),
            ...(settings.burst === undefined ? {} : { burst: Number(settings.burst) }),
          });
          json(res, 200, quota.stats());
        } catch (error) {
          json(res, 400, { message: `Invalid SES quota: ${(error as Error).message}` });
        }
      });
      return;
    }
    if (quota && req.method === 'POST' && path === SEND_PATH && !quota.take()) {
      // The body is not read: drain it so the connection can be reused (keep-alive).
      req.resume();
      return throttle(res);
    }
    next(req, res);
  };
}
