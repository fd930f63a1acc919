import type { SNSEvent } from 'aws-lambda';
import pLimit from 'p-limit';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../lambdas/core/dispatch-tag';
import { dispatchRefFromText } from '../lambdas/core/templates';
import type { StoredEmail } from './embedded-aws';
import { snsEvent } from './sns-notification';

export interface FeedbackPumpOptions {
  /** Reads the SES emulator's store. */
  readonly sesStore: () => Promise<StoredEmail[]>;
  /** The feedback Lambda's handler (SNS → feedback). */
  readonly handler: (event: SNSEvent) => Promise<unknown>;
  /** @default 500 */
  readonly intervalMs?: number;
  /** @default 4 */
  readonly concurrency?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * SES's `Send` event, locally: each e-mail that newly appears in the SES emulator's store becomes
 * one SNS notification for the real feedback handler, as the configuration set's event destination
 * would publish it. The emulator keeps no tags, so the dispatchId tag is rebuilt from the
 * `Reference:` line the templates render.
 */
export class FeedbackPump {
  private readonly seen = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private readonly limit: ReturnType<typeof pLimit>;
  delivered = 0;

  constructor(private readonly options: FeedbackPumpOptions) {
    this.limit = pLimit(options.concurrency ?? 4);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.pumpOnce().catch((error: unknown) => this.options.onError?.(error)), this.options.intervalMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Publishes a `Send` event for every stored e-mail not yet published; resolves when all were handled. */
  pumpOnce(): Promise<number> {
    // One pass at a time; a caller arriving during a pass waits for it and then runs its own.
    const previous = this.running ?? Promise.resolve(0);
    const pass = previous.catch(() => 0).then(() => this.pass());
    this.running = pass;
    return pass;
  }

  private async pass(): Promise<number> {
    const fresh = (await this.options.sesStore()).filter((email) => !this.seen.has(email.messageId));
    const results = await Promise.all(
      fresh.map((email) =>
        this.limit(async () => {
          const dispatchId = dispatchRefFromText(email.body.text ?? '');
          this.seen.add(email.messageId);
          if (!dispatchId) return 0;
          try {
            await this.options.handler(sendEvent(email, dispatchId));
            this.delivered++;
            return 1;
          } catch (error) {
            // SNS would retry: let the next pass do so.
            this.seen.delete(email.messageId);
            this.options.onError?.(error);
            return 0;
          }
        }),
      ),
    );
    return results.reduce<number>((sum, n) => sum + n, 0);
  }
}

/** An SES event-publishing `Send` record inside an SNS notification, as AWS delivers it to Lambda. */
export function sendEvent(email: StoredEmail, dispatchId: string): SNSEvent {
  const timestamp = new Date(email.at * 1000).toISOString();
  const message = {
    eventType: 'Send',
    mail: {
      timestamp,
      messageId: email.messageId,
      source: email.from,
      destination: email.destination.to,
      tags: { [DISPATCH_TAG_NAME]: [encodeDispatchTag(dispatchId)] },
    },
    send: {},
  };
  return snsEvent({ topic: 'mail-dispatch-ses-events', message });
}
