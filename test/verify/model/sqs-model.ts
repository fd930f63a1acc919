/**
 * An SQS standard queue and its DLQ as AWS documents them: a received message is invisible for
 * the visibility timeout, then visible again with `ApproximateReceiveCount` + 1; a message
 * received more than `maxReceiveCount` times moves to the DLQ at its next receive; a standard
 * queue may deliver a copy while the first is in flight (new receipt handle, count + 1); every
 * receipt handle it gave out deletes it (docs/decisions.md, issue 20's shapes);
 * `DeleteMessageBatch` reports bad handles in `Failed`.
 */
import { awsError } from './dynamo-model';

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Record<string, { DataType: string; StringValue?: string }>;
  queue: 'main' | 'dlq';
  receiveCount: number;
  /** Model time (ms) from which it may be received again. */
  visibleAt: number;
  /** Receipt handles given out, latest last. */
  readonly handles: string[];
  deleted: boolean;
  readonly sentAt: number;
}

export const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dispatch-queue';
export const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/mail-dispatch-dlq';

export class SqsModel {
  readonly messages: QueueMessage[] = [];
  private ids = 0;
  private handleIds = 0;

  constructor(
    private readonly now: () => number,
    readonly settings: { readonly visibilityTimeoutSeconds: number; readonly maxReceiveCount: number },
  ) {}

  send(queue: 'main' | 'dlq', body: string, attributes: QueueMessage['attributes'] = {}, messageId?: string): QueueMessage {
    const message: QueueMessage = {
      messageId: messageId ?? `sqs-${++this.ids}`,
      body,
      attributes,
      queue,
      receiveCount: 0,
      visibleAt: this.now(),
      handles: [],
      deleted: false,
      sentAt: this.now(),
    };
    this.messages.push(message);
    return message;
  }

  visible(queue: 'main' | 'dlq'): QueueMessage[] {
    return this.messages.filter((m) => m.queue === queue && !m.deleted && m.visibleAt <= this.now());
  }

  inFlight(queue: 'main' | 'dlq'): QueueMessage[] {
    return this.messages.filter((m) => m.queue === queue && !m.deleted && m.visibleAt > this.now());
  }

  /** The earliest model time a hidden message becomes visible, if any. */
  nextVisibility(): number | undefined {
    const times = this.messages.filter((m) => !m.deleted && m.visibleAt > this.now()).map((m) => m.visibleAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** One receive: moves over-received messages to the DLQ, hands out up to `max` others. */
  receive(queue: 'main' | 'dlq', max: number, visibilitySeconds = this.settings.visibilityTimeoutSeconds): QueueMessage[] {
    const out: QueueMessage[] = [];
    for (const m of this.visible(queue)) {
      if (out.length >= max) break;
      if (queue === 'main' && m.receiveCount >= this.settings.maxReceiveCount) {
        m.queue = 'dlq';
        m.receiveCount = 0;
        m.handles.length = 0;
        continue;
      }
      this.deliver(m, visibilitySeconds);
      out.push(m);
    }
    return out;
  }

  /** A second copy of an in-flight message, as a standard queue may deliver it. */
  duplicate(m: QueueMessage, visibilitySeconds = this.settings.visibilityTimeoutSeconds): QueueMessage {
    this.deliver(m, visibilitySeconds);
    return m;
  }

  private deliver(m: QueueMessage, visibilitySeconds: number): void {
    m.receiveCount += 1;
    m.visibleAt = this.now() + visibilitySeconds * 1000;
    m.handles.push(`rh-${m.messageId}-${++this.handleIds}`);
  }

  /** Deletes by receipt handle (any handle of the message's current stay in its queue). */
  delete(handle: string): boolean {
    const m = this.messages.find((x) => !x.deleted && x.handles.includes(handle));
    if (!m) return false;
    m.deleted = true;
    return true;
  }

  changeVisibility(handle: string, seconds: number): boolean {
    const m = this.messages.find((x) => !x.deleted && x.handles[x.handles.length - 1] === handle);
    if (!m) return false;
    m.visibleAt = this.now() + seconds * 1000;
    return true;
  }

  private queueOf(url: string | undefined): 'main' | 'dlq' {
    if (url === QUEUE_URL) return 'main';
    if (url === DLQ_URL) return 'dlq';
    throw awsError('QueueDoesNotExist', 'The specified queue does not exist.', 400);
  }

  private toWire(m: QueueMessage) {
    return {
      MessageId: m.messageId,
      ReceiptHandle: m.handles[m.handles.length - 1],
      Body: m.body,
      Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
      MessageAttributes: Object.keys(m.attributes).length > 0 ? m.attributes : undefined,
    };
  }

  /** The SQS API, by SDK command name (what the rejected sink and `ops redrive` call). */
  execute(command: string, input: Record<string, any>): unknown {
    switch (command) {
      case 'SendMessageCommand': {
        const m = this.send(this.queueOf(input.QueueUrl), input.MessageBody, input.MessageAttributes ?? {});
        return { MessageId: m.messageId };
      }
      case 'SendMessageBatchCommand': {
        const queue = this.queueOf(input.QueueUrl);
        const entries = input.Entries as { Id: string; MessageBody: string; MessageAttributes?: QueueMessage['attributes'] }[];
        if (entries.length > 10)
          throw awsError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10', 400);
        return {
          Successful: entries.map((e) => ({ Id: e.Id, MessageId: this.send(queue, e.MessageBody, e.MessageAttributes ?? {}).messageId })),
          Failed: [],
        };
      }
      case 'ReceiveMessageCommand': {
        const got = this.receive(this.queueOf(input.QueueUrl), input.MaxNumberOfMessages ?? 1, input.VisibilityTimeout);
        return { Messages: got.map((m) => this.toWire(m)) };
      }
      case 'DeleteMessageCommand':
        if (!this.delete(input.ReceiptHandle)) throw awsError('ReceiptHandleIsInvalid', 'The receipt handle provided is not valid.', 400);
        return {};
      case 'DeleteMessageBatchCommand': {
        const entries = input.Entries as { Id: string; ReceiptHandle: string }[];
        if (entries.length > 10)
          throw awsError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10', 400);
        const ok = entries.filter((e) => this.delete(e.ReceiptHandle));
        const failed = entries.filter((e) => !ok.includes(e));
        return {
          Successful: ok.map((e) => ({ Id: e.Id })),
          Failed: failed.map((e) => ({ Id: e.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true })),
        };
      }
      case 'ChangeMessageVisibilityBatchCommand': {
        const entries = input.Entries as { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[];
        const ok = entries.filter((e) => this.changeVisibility(e.ReceiptHandle, e.VisibilityTimeout));
        return {
          Successful: ok.map((e) => ({ Id: e.Id })),
          Failed: entries.filter((e) => !ok.includes(e)).map((e) => ({ Id: e.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true })),
        };
      }
      case 'GetQueueAttributesCommand': {
        const queue = this.queueOf(input.QueueUrl);
        const live = this.messages.filter((m) => m.queue === queue && !m.deleted);
        return {
          Attributes: {
            ApproximateNumberOfMessages: String(live.filter((m) => m.visibleAt <= this.now()).length),
            ApproximateNumberOfMessagesNotVisible: String(live.filter((m) => m.visibleAt > this.now()).length),
          },
        };
      }
      default:
        throw awsError('UnsupportedOperation', `The queue model does not implement ${command}`, 400);
    }
  }
}
