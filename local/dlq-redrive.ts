import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { RejectAttribute } from '../lambdas/tables';

export interface RedriveResult {
  /** DLQ message id → the id of its copy in the dispatch queue. */
  readonly moved: ReadonlyMap<string, string>;
  /** Rejected bodies (reject attribute set): they would be rejected again, so they stay in the DLQ. */
  readonly keptRejected: number;
}

/**
 * `ops redrive`: moves dead-lettered messages back to the dispatch queue (receive → send → delete,
 * as the emulator has no StartMessageMoveTask), keeping their bodies and attributes. A message the
 * dispatcher rejected stays where it is.
 */
export async function redriveDeadLetters(sqs: SQSClient, options: { readonly dlqUrl: string; readonly queueUrl: string }): Promise<RedriveResult> {
  const moved = new Map<string, string>();
  const kept: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.dlqUrl,
        MaxNumberOfMessages: 10,
        // Long enough that the kept ones do not come back during this redrive.
        VisibilityTimeout: 300,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      if (message.MessageAttributes?.[RejectAttribute.reason]) {
        kept.push(message);
        continue;
      }
      const { MessageId } = await sqs.send(
        new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: message.Body ?? '', MessageAttributes: message.MessageAttributes }),
      );
      await sqs.send(new DeleteMessageCommand({ QueueUrl: options.dlqUrl, ReceiptHandle: message.ReceiptHandle }));
      moved.set(message.MessageId ?? '', MessageId ?? '');
    }
  }
  for (let i = 0; i < kept.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.dlqUrl,
        Entries: kept.slice(i, i + 10).map((message, j) => ({ Id: String(j), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return { moved, keptRejected: kept.length };
}
