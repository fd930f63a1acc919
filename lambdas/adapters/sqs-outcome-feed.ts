import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { OUTCOME_EVENT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE, type OutcomeEventDetail, type OutcomeEventEnvelope } from '../core/outcome-event';
import { deliverWithRetries, type RetryOptions } from '../outcome-publisher/deliver-with-retries';
import type { OutcomeFeed } from '../ports';

export interface SqsOutcomeFeedOptions extends RetryOptions {
  readonly queueUrl: string;
  /** @default a client built from the environment */
  readonly client?: SQSClient;
  /** @default 'us-east-1' */
  readonly region?: string;
}

/**
 * The outcome feed on an SQS queue that stands for the bus (locally): each message body is the
 * event exactly as an EventBridge rule's SQS target delivers it to the portal.
 */
export class SqsOutcomeFeed implements OutcomeFeed {
  private readonly client: SQSClient;

  constructor(private readonly options: SqsOutcomeFeedOptions) {
    this.client = options.client ?? new SQSClient({});
  }

  deliver(events: readonly OutcomeEventDetail[]): Promise<readonly number[]> {
    return deliverWithRetries(
      events,
      10,
      async (chunk) => {
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: chunk.map((detail, position) => ({
              Id: String(position),
              MessageBody: JSON.stringify(envelope(detail, this.options.region ?? 'us-east-1')),
            })),
          }),
        );
        return (result.Failed ?? []).map((failure) => Number(failure.Id));
      },
      this.options,
    );
  }
}

/** The EventBridge event around a detail, as a rule target receives it. */
export function envelope(detail: OutcomeEventDetail, region: string): OutcomeEventEnvelope & Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': OUTCOME_EVENT_DETAIL_TYPE,
    source: OUTCOME_EVENT_SOURCE,
    account: '000000000000',
    time: new Date(detail.at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [],
    detail,
  };
}
