import type { SQSRecord } from 'aws-lambda';
import type { TemplateName } from '../lambdas/core/templates';

/** One benchmark message as the portal publishes it (the DESIGN.md contract). */
export interface BenchMessage {
  readonly dispatchId: string;
  readonly memberId: string;
  readonly to: string;
  readonly template: TemplateName;
  readonly data: { readonly firstName: string };
  readonly requestedAt: string;
}

const REQUESTED_AT = '2000-08-02T09:00:00Z';

/**
 * The `index`-th message of a set: every message is for its own member at its own address, so
 * the pipeline sends them all (no fan-in block, no duplicate) and both sides do the same SES work.
 */
export function benchMessage(set: string, index: number): BenchMessage {
  const n = String(index).padStart(6, '0');
  return {
    dispatchId: `${set}-${n}`,
    memberId: `${set}-member-${n}`,
    to: `${set}-${n}@members.example.org`,
    template: index % 2 === 0 ? 'advice-nurse-reply' : 'appointment-reminder',
    data: { firstName: `Pat${n}` },
    requestedAt: REQUESTED_AT,
  };
}

export function benchMessages(set: string, count: number): BenchMessage[] {
  return Array.from({ length: count }, (_, i) => benchMessage(set, i + 1));
}

/** The registry row that makes `message` sendable (written raw: the registry guard is not what is measured). */
export function memberFor(message: BenchMessage): Record<string, string | number> {
  return { memberId: message.memberId, email: message.to, status: 'active', updatedAt: REQUESTED_AT, version: 1 };
}

/** An SQS record as the event source mapping delivers it, for the in-process handler runs. */
export function sqsRecordOf(message: BenchMessage, messageId: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: JSON.stringify(message),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'bench', ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mail-dispatch-queue',
    awsRegion: 'us-east-1',
  };
}
