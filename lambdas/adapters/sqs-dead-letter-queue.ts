import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterQueue, PeekedDeadLetter } from '../ports';
import { RejectAttribute } from '../tables';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

export interface SqsDeadLetterQueueOptions {
  readonly deadLetterQueueUrl: string;
  /** @default a client built from the environment */
  readonly client?: SQSClient;
}

/**
 * The DLQ, peeked: receive (never delete), then visibility back to 0. Deleting is `ops redrive`'s
 * alone, so every dead-lettered message stays where on-call and the redrive look for it.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  private readonly client: SQSClient;

  constructor(private readonly options: SqsDeadLetterQueueOptions) {
    this.client = options.client ?? new SQSClient(AWS_CLIENT_CONFIG);
  }

  async peek(hideSeconds: number): Promise<PeekedDeadLetter[]> {
    try {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          // A long poll asks every SQS server: an empty answer means nothing is left to peek.
          WaitTimeSeconds: 1,
          VisibilityTimeout: hideSeconds,
          MessageAttributeNames: [RejectAttribute.sqsMessageId, RejectAttribute.reason],
        }),
      );
      return Messages.map((m) => {
        const rejectedMessageId = m.MessageAttributes?.[RejectAttribute.sqsMessageId]?.StringValue;
        return {
          messageId: m.MessageId ?? '',
          body: m.Body ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          ...(rejectedMessageId ? { rejectedMessageId } : {}),
          ...(m.MessageAttributes?.[RejectAttribute.reason]?.StringValue ? { rejectedByDispatcher: true } : {}),
        };
      });
    } catch (error) {
      throw new Error(`SQS peek of the DLQ failed (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
    }
  }

  async release(messages: readonly PeekedDeadLetter[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      try {
        // A failed entry (a message redrive deleted meanwhile) needs nothing: its hiding ends on its own.
        await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.deadLetterQueueUrl,
            Entries: chunk.map((m, n) => ({ Id: String(n), ReceiptHandle: m.receiptHandle, VisibilityTimeout: 0 })),
          }),
        );
      } catch (error) {
        throw new Error(`SQS release of peeked DLQ messages failed (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
      }
    }
  }
}
