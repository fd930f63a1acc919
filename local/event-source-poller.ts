import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { deleteMessages } from '../cli/src/ops/sqs-batch';
import { ExecutionEnvironment, type ExecutionEnvironmentOptions, type InvocationResult } from './execution-environment';

export interface EventSourcePollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Messages per invocation (SQS returns at most 10 per receive; more are gathered over several). @default 10 */
  readonly batchSize?: number;
  /** Concurrent pollers, each with its own execution environment (Lambda concurrency). @default 2 */
  readonly concurrency?: number;
  /** Long-poll wait; short locally so a disable takes effect quickly. @default 1 */
  readonly waitTimeSeconds?: number;
  /** The function timeout; a timed-out invocation deletes nothing and loses its environment. @default 30000 */
  readonly functionTimeoutMs?: number;
  /** How to build an execution environment (the bundled handler, its env, log and emit sinks). */
  readonly environment: ExecutionEnvironmentOptions;
  /** Whether the mapping starts enabled. @default true */
  readonly enabled?: boolean;
  /**
   * Asked once per received message: `true` delivers a second copy while the first is in flight,
   * as a standard queue may (the `sqs duplicate-delivery` fault): same message id and body, a new
   * receipt handle, `ApproximateReceiveCount` one higher, in another invocation that starts a
   * moment later. Either receipt handle deletes the message, as in SQS.
   */
  readonly duplicateDelivery?: () => boolean;
  /** Called after each invocation, for progress and tests. */
  readonly onInvocation?: (invocation: InvocationReport) => void;
}

export interface InvocationReport {
  readonly poller: number;
  readonly duplicate: boolean;
  readonly messageIds: readonly string[];
  readonly result: InvocationResult['kind'];
  /** Epoch ms when the invocation started. */
  readonly startedAt: number;
  readonly deleted: readonly string[];
  /** Successes SQS would not delete (a `Failed` entry, or the call failed): they come back after the visibility timeout. */
  readonly undeleted: readonly string[];
  readonly left: readonly string[];
  readonly durationMs: number;
}

/**
 * What the Lambda SQS event source mapping does, against the SQS emulator: concurrent pollers
 * long-poll the queue, hand each batch to the handler as a real-shaped `SQSEvent`, delete what
 * succeeded (everything not in `batchItemFailures`), and leave the rest to come back after the
 * visibility timeout; the queue's redrive policy moves a message to the DLQ after `maxReceiveCount`
 * receives. A handler error, a crash or a timeout fails the whole batch. `disable()` is the pause:
 * pollers stop receiving, invocations in flight finish.
 */
export class EventSourcePoller {
  private running = false;
  private enabledFlag: boolean;
  private readonly loops: Promise<void>[] = [];
  private readonly environments: ExecutionEnvironment[][] = [];
  private receiving = 0;
  private processing = 0;
  private wake: (() => void)[] = [];
  /** The receipt handle a duplicate copy stands for: SQS's own handle of the same message. */
  private readonly duplicateHandles = new Map<string, string>();
  readonly stats = { invocations: 0, messages: 0, deleted: 0, deleteFailed: 0, crashed: 0, errors: 0, timeouts: 0 };

  constructor(private readonly options: EventSourcePollerOptions) {
    this.enabledFlag = options.enabled ?? true;
  }

  get enabled(): boolean {
    return this.enabledFlag;
  }

  /** Pollers receiving or invocations running: what must finish before a paused pipeline is quiet. */
  get busy(): { readonly receiving: number; readonly processing: number } {
    return { receiving: this.receiving, processing: this.processing };
  }

  /** Cold starts so far across all environments. */
  get coldStarts(): number {
    return this.environments.flat().reduce((sum, environment) => sum + environment.coldStarts, 0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const concurrency = Math.max(1, this.options.concurrency ?? 2);
    for (let index = 0; index < concurrency; index++) {
      this.environments[index] = [new ExecutionEnvironment(this.options.environment)];
      this.loops.push(this.pollLoop(index));
    }
  }

  enable(): void {
    this.enabledFlag = true;
    for (const wake of this.wake.splice(0)) wake();
  }

  disable(): void {
    this.enabledFlag = false;
  }

  /** Stops polling, lets invocations in flight finish, and ends every execution environment. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wake.splice(0)) wake();
    await Promise.allSettled(this.loops.splice(0));
    await Promise.allSettled(this.environments.flat().map((environment) => environment.stop()));
  }

  private async pollLoop(index: number): Promise<void> {
    while (this.running) {
      if (!this.enabledFlag) {
        await new Promise<void>((resolve) => {
          this.wake.push(resolve);
          setTimeout(resolve, 250).unref();
        });
        continue;
      }
      let messages: Message[];
      this.receiving++;
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        if (this.running) await sleep(200);
        continue;
      } finally {
        this.receiving--;
      }
      if (messages.length === 0) continue;
      this.processing++;
      try {
        await this.invokeBatch(index, messages);
      } finally {
        this.processing--;
      }
    }
  }

  private async receiveBatch(): Promise<Message[]> {
    const batchSize = this.options.batchSize ?? 10;
    const messages: Message[] = [];
    while (messages.length < batchSize && this.running) {
      const want = Math.min(10, batchSize - messages.length);
      const { Messages = [] } = await this.options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: want,
          WaitTimeSeconds: messages.length === 0 ? (this.options.waitTimeSeconds ?? 1) : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...Messages);
      if (Messages.length < want) break;
    }
    return messages;
  }

  private async invokeBatch(index: number, messages: Message[]): Promise<void> {
    const records = messages.map((message) => this.toRecord(message));
    const duplicates = this.options.duplicateDelivery
      ? records.filter(() => this.options.duplicateDelivery?.()).map((r) => this.secondCopy(r))
      : [];
    const environments = this.environments[index];
    if (duplicates.length > 0 && environments.length < 2) environments.push(new ExecutionEnvironment(this.options.environment));
    await Promise.all([
      this.invokeOn(index, environments[0], records, false),
      // The copy arrives while the first is still being handled: a little later, not at once.
      duplicates.length > 0
        ? sleep(20 + Math.random() * 180).then(() => this.invokeOn(index, environments[1], duplicates, true))
        : undefined,
    ]);
    for (const copy of duplicates) this.duplicateHandles.delete(copy.receiptHandle);
  }

  /** A second receive of the same message, as SQS gives it: a new receipt handle, one more receive. */
  private secondCopy(record: SQSRecord): SQSRecord {
    const receiptHandle = `${record.receiptHandle}.copy-${randomUUID()}`;
    this.duplicateHandles.set(receiptHandle, record.receiptHandle);
    const count = Number(record.attributes.ApproximateReceiveCount) || 1;
    return { ...record, receiptHandle, attributes: { ...record.attributes, ApproximateReceiveCount: String(count + 1) } };
  }

  private async invokeOn(index: number, environment: ExecutionEnvironment, records: SQSRecord[], duplicate: boolean): Promise<void> {
    const started = Date.now();
    const event: SQSEvent = { Records: records };
    const result = await environment.invoke(event, this.options.functionTimeoutMs ?? 30_000);
    const failed = failedMessageIds(result, records);
    const succeeded = records.filter((record) => !failed.has(record.messageId));
    // As the mapping does: 10 per DeleteMessageBatch, and a success SQS would not delete (a
    // `Failed` entry, a failed call) simply comes back after the visibility timeout.
    const handles = succeeded.map((record) => this.duplicateHandles.get(record.receiptHandle) ?? record.receiptHandle);
    const outcome = await deleteMessages(this.options.sqs, this.options.queueUrl, handles);
    const undeleted = new Set(outcome.failed.map((f) => succeeded[f.index].messageId));
    const deleted = succeeded.filter((record) => !undeleted.has(record.messageId));
    this.stats.invocations++;
    this.stats.messages += records.length;
    this.stats.deleted += deleted.length;
    this.stats.deleteFailed += undeleted.size;
    if (result.kind === 'crashed') this.stats.crashed++;
    if (result.kind === 'error') this.stats.errors++;
    if (result.kind === 'timeout') this.stats.timeouts++;
    this.options.onInvocation?.({
      poller: index,
      duplicate,
      messageIds: records.map((record) => record.messageId),
      result: result.kind,
      startedAt: started,
      deleted: deleted.map((record) => record.messageId),
      undeleted: [...undeleted],
      left: records.filter((record) => failed.has(record.messageId)).map((record) => record.messageId),
      durationMs: Date.now() - started,
    });
  }

  private toRecord(message: Message): SQSRecord {
    const arn = this.options.queueArn;
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          {
            dataType: value.DataType ?? 'String',
            stringValue: value.StringValue,
            binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? '',
      ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
      eventSource: 'aws:sqs',
      eventSourceARN: arn,
      awsRegion: arn.split(':')[3] ?? 'us-east-1',
    };
  }
}

/**
 * The messages the mapping must leave in the queue. As in Lambda: an error, a crash or a timeout
 * fails the whole batch, and so does a response naming a message that was not in the batch.
 */
function failedMessageIds(result: InvocationResult, records: readonly SQSRecord[]): Set<string> {
  const all = new Set(records.map((record) => record.messageId));
  if (result.kind !== 'response') return all;
  const failures = result.response?.batchItemFailures ?? [];
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
