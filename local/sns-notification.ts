import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';

export interface SnsNotification {
  /** The topic's name (`mail-dispatch-alarms`, `mail-dispatch-ses-events`). */
  readonly topic: string;
  /** The notification's body, JSON-encoded into `Sns.Message`. */
  readonly message: unknown;
  /** @default '' */
  readonly subject?: string;
  /** When SNS received it (ISO-8601). @default now */
  readonly timestamp?: string;
}

/** One notification of a local topic, as SNS delivers it to a subscribed Lambda function. */
export function snsEvent(notification: SnsNotification): SNSEvent {
  const topicArn = `arn:aws:sns:us-east-1:000000000000:${notification.topic}`;
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:local`,
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topicArn,
          Subject: notification.subject ?? '',
          Message: JSON.stringify(notification.message),
          Timestamp: notification.timestamp ?? new Date().toISOString(),
          SignatureVersion: '1',
          Signature: '',
          SigningCertUrl: '',
          UnsubscribeUrl: '',
          MessageAttributes: {},
        },
      },
    ],
  };
}
