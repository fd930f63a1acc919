import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';
import pLimit from 'p-limit';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../lambdas/core/dispatch-tag';
import { dispatchRefFromText } from '../lambdas/core/templates';
import { SES_CONFIGURATION_SET } from '../lambdas/tables';
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
  private readonly simulated = new Map<string, SNSEvent[]>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private readonly limit: ReturnType<typeof pLimit>;
  delivered = 0;

  constructor(private readonly options: FeedbackPumpOptions) {
    this.limit = pLimit(options.concurrency ?? 4);
  }

  start(): void {
    this.timer ??= setInterval(
      () => void this.pumpOnce().catch((error: unknown) => this.options.onError?.(error)),
      this.options.intervalMs ?? 500,
    );
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
            // The SES mailbox simulator's addresses answer as SES says they do; the events are
            // made once per e-mail, so a retried pass replays the same ones (same ids).
            let followUps = this.simulated.get(email.messageId);
            if (!followUps) this.simulated.set(email.messageId, (followUps = simulatorFeedback(email, dispatchId)));
            for (const event of followUps) await this.options.handler(event);
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

/**
 * The SES mailbox simulator's addresses (as documented for SES): what SES reports after accepting
 * an e-mail to each (a `+label` after the local part changes nothing). `success` is delivered,
 * `bounce` bounces permanently, `complaint` is delivered and then complained about. The post-deploy
 * drill (`npm run smoke -- --drill`) relies on them.
 */
export const MAILBOX_SIMULATOR: Readonly<Record<string, readonly SesFeedback[]>> = {
  'success@simulator.amazonses.com': [{ type: 'Delivery' }],
  'bounce@simulator.amazonses.com': [{ type: 'Bounce', bounceType: 'Permanent', bounceSubType: 'General' }],
  'complaint@simulator.amazonses.com': [{ type: 'Delivery' }, { type: 'Complaint' }],
};

function simulatorFeedback(email: StoredEmail, dispatchId: string): SNSEvent[] {
  const recipient =
    email.destination.to.length === 1
      ? email.destination.to[0]!.trim()
          .toLowerCase()
          .replace(/\+[^@]*@/, '@')
      : '';
  return (MAILBOX_SIMULATOR[recipient] ?? []).map((feedback) => sesFeedbackEvent(feedback, dispatchId, email, new Date()));
}

/** The SES event types a scenario's `sesFeedback` step can report. */
export const SES_FEEDBACK_TYPES = ['Delivery', 'Bounce', 'Complaint', 'Reject', 'DeliveryDelay'] as const;

export interface SesFeedback {
  readonly type: (typeof SES_FEEDBACK_TYPES)[number];
  /** @default 'Permanent' */
  readonly bounceType?: 'Permanent' | 'Transient';
  readonly bounceSubType?: string;
}

/**
 * An SES event-publishing record of `feedback.type` inside an SNS notification, as the
 * configuration set's event destination delivers it (shapes from the SES developer guide). For an
 * e-mail the SES emulator accepted, it names that e-mail; without one (`email` undefined: SES never
 * accepted this dispatchId) it carries a message id SES never gave out and no dispatchId tag, as an
 * event about some other e-mail would.
 */
export function sesFeedbackEvent(feedback: SesFeedback, dispatchId: string, email: StoredEmail | undefined, at: Date): SNSEvent {
  const timestamp = at.toISOString();
  const recipients = email ? [...email.destination.to] : [];
  const tags: Record<string, string[]> = { 'ses:configuration-set': [SES_CONFIGURATION_SET] };
  if (email) tags[DISPATCH_TAG_NAME] = [encodeDispatchTag(dispatchId)];
  const mail = {
    timestamp: email ? new Date(email.at * 1000).toISOString() : timestamp,
    messageId: email?.messageId ?? `never-accepted-${randomUUID()}`,
    source: email?.from ?? 'portal-notifications@example.org',
    destination: recipients,
    tags,
  };
  const feedbackId = randomUUID();
  const permanent = (feedback.bounceType ?? 'Permanent') === 'Permanent';
  const body: Record<string, unknown> = {
    Delivery: {
      delivery: {
        timestamp,
        processingTimeMillis: 500,
        recipients,
        smtpResponse: '250 2.6.0 Message received',
        reportingMTA: 'a8-1.smtp-out.amazonses.com',
      },
    },
    Bounce: {
      bounce: {
        bounceType: permanent ? 'Permanent' : 'Transient',
        bounceSubType: feedback.bounceSubType ?? (permanent ? 'General' : 'MailboxFull'),
        bouncedRecipients: recipients.map((emailAddress) => ({
          emailAddress,
          action: 'failed',
          status: permanent ? '5.1.1' : '4.2.2',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        })),
        timestamp,
        feedbackId,
        reportingMTA: 'dsn; a8-1.smtp-out.amazonses.com',
      },
    },
    Complaint: {
      complaint: {
        complainedRecipients: recipients.map((emailAddress) => ({ emailAddress })),
        timestamp,
        feedbackId,
        complaintFeedbackType: 'abuse',
      },
    },
    Reject: { reject: { reason: 'Bad content' } },
    DeliveryDelay: {
      deliveryDelay: {
        timestamp,
        delayType: 'TransientCommunicationFailure',
        expirationTime: new Date(at.getTime() + 86_400_000).toISOString(),
        delayedRecipients: recipients.map((emailAddress) => ({ emailAddress, status: '4.4.1' })),
      },
    },
  }[feedback.type] as Record<string, unknown>;
  return snsEvent({ topic: 'mail-dispatch-ses-events', message: { eventType: feedback.type, mail, ...body }, timestamp });
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
      tags: { 'ses:configuration-set': [SES_CONFIGURATION_SET], [DISPATCH_TAG_NAME]: [encodeDispatchTag(dispatchId)] },
    },
    send: {},
  };
  return snsEvent({ topic: 'mail-dispatch-ses-events', message });
}
