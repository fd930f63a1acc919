import { SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { RejectReason } from '../core/outcomes';
import { RejectAttribute } from '../tables';
import type { RejectedMessageSink } from '../ports';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

export interface SqsRejectedMessageSinkOptions {
  readonly deadLetterQueueUrl: string;
  /** @default a client built from the environment */
  readonly client?: SQSClient;
}

/** Moves a rejected body, unchanged, to the DLQ with its reason as message attributes. */
export class SqsRejectedMessageSink implements RejectedMessageSink {
  private readonly client: SQSClient;

  constructor(private readonly options: SqsRejectedMessageSinkOptions) {
    this.client = options.client ?? new SQSClient(AWS_CLIENT_CONFIG);
  }

  async moveRejected(
    body: string,
    rejection: { reason: RejectReason; field?: string; dispatchId?: string; sqsMessageId?: string },
  ): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      [RejectAttribute.reason]: { DataType: 'String', StringValue: rejection.reason },
    };
    // The copy in the DLQ gets a new message id: the original names the ledger's `rejected#` record (the DLQ watch checks it).
    if (rejection.sqsMessageId) attributes[RejectAttribute.sqsMessageId] = { DataType: 'String', StringValue: rejection.sqsMessageId };
    if (rejection.field) attributes[RejectAttribute.field] = { DataType: 'String', StringValue: rejection.field };
    if (rejection.dispatchId) attributes[RejectAttribute.dispatchId] = { DataType: 'String', StringValue: rejection.dispatchId };
    try {
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.options.deadLetterQueueUrl, MessageBody: body, MessageAttributes: attributes }),
      );
    } catch (error) {
      throw new Error(`SQS move to DLQ failed (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
    }
  }
}
