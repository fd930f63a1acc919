import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface DynamoDbStreamPollerOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** The function the event source mapping invokes (a stream handler with `ReportBatchItemFailures`). */
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;
  /** @default 100 */
  readonly batchSize?: number;
  /** Pause between polls of a shard that had nothing. @default 100 */
  readonly intervalMs?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** A failed invocation (thrown, or a crash): the batch is retried from the same record. */
  readonly onError?: (error: unknown) => void;
}

export interface StreamPollerStats {
  invocations: number;
  errors: number;
  records: number;
}

/**
 * A DynamoDB Streams event source mapping, locally: reads every shard of a stream (DynamoDB
 * Local's, through the Streams API) in order, invokes the handler with batches shaped as Lambda
 * delivers them, and moves its checkpoint only past what the handler took: a thrown invocation is
 * retried from the same record, a batch item failure from the failed record on. Like the real
 * mapping, it delivers at least once, in order per item.
 */
export class DynamoDbStreamPoller {
  readonly stats: StreamPollerStats = { invocations: 0, errors: 0, records: 0 };
  /** Per shard: the last sequence number the handler took. */
  private readonly checkpoints = new Map<string, string>();
  private readonly finished = new Set<string>();
  private running?: Promise<void>;
  private stopped = true;
  private pass?: Promise<number>;

  constructor(private readonly options: DynamoDbStreamPollerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = (async () => {
      while (!this.stopped) {
        const read = await this.pollOnce().catch((error: unknown) => {
          this.options.onError?.(error);
          return 0;
        });
        if (read === 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs ?? 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.pass?.catch(() => undefined);
  }

  /**
   * Polls until a whole pass over the shards finds nothing new and the handler took everything
   * (or `timeoutMs` passes): what was written before the call has been handed to the handler.
   */
  async catchUp(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const before = this.stats.errors;
      if ((await this.pollOnce()) === 0 && this.stats.errors === before) return true;
      if (this.stats.errors !== before) await new Promise((resolve) => setTimeout(resolve, this.options.intervalMs ?? 100));
    }
    return false;
  }

  /** One pass over every shard (one at a time: a caller arriving during a pass waits for it). Returns the records read. */
  pollOnce(): Promise<number> {
    const previous = this.pass ?? Promise.resolve(0);
    const pass = previous.catch(() => 0).then(() => this.passOverShards());
    this.pass = pass;
    return pass;
  }

  private async passOverShards(): Promise<number> {
    const { StreamDescription } = await this.options.client.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn }));
    // Parents before children: a split's children continue the parent's order for each item.
    const shards = [...(StreamDescription?.Shards ?? [])].sort((a, b) =>
      (a.SequenceNumberRange?.StartingSequenceNumber ?? '').localeCompare(b.SequenceNumberRange?.StartingSequenceNumber ?? '', 'en', {
        numeric: true,
      }),
    );
    let read = 0;
    for (const shard of shards) {
      const shardId = shard.ShardId;
      if (!shardId || this.finished.has(shardId)) continue;
      if (shard.ParentShardId && !this.finished.has(shard.ParentShardId) && shards.some((s) => s.ShardId === shard.ParentShardId)) continue;
      read += await this.pollShard(shardId);
    }
    return read;
  }

  private async pollShard(shardId: string): Promise<number> {
    const checkpoint = this.checkpoints.get(shardId);
    const { ShardIterator } = await this.options.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ...(checkpoint
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: checkpoint }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    if (!ShardIterator) return 0;
    const { Records = [], NextShardIterator } = await this.options.client.send(
      new GetRecordsCommand({ ShardIterator, Limit: this.options.batchSize ?? 100 }),
    );
    if (Records.length === 0) {
      if (!NextShardIterator) this.finished.add(shardId);
      return 0;
    }
    const event: DynamoDBStreamEvent = { Records: Records.map((record) => this.toLambdaRecord(record)) };
    this.stats.invocations++;
    let response: DynamoDBBatchResponse | void;
    try {
      response = await this.options.handler(event);
    } catch (error) {
      // A function error: nothing of this batch counts as taken; the next poll invokes it again.
      this.stats.errors++;
      this.options.onError?.(error);
      return Records.length;
    }
    const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
    const failedAt = failed === undefined ? -1 : Records.findIndex((record) => record.dynamodb?.SequenceNumber === failed);
    if (failed !== undefined) this.stats.errors++;
    // Taken: everything before the first failed record (all of them when none failed). An
    // identifier that names no record of the batch fails the whole batch, as Lambda treats it.
    const taken = failed === undefined ? Records.length : Math.max(0, failedAt);
    this.stats.records += taken;
    const last = Records[taken - 1]?.dynamodb?.SequenceNumber;
    if (last) this.checkpoints.set(shardId, last);
    return Records.length;
  }

  private toLambdaRecord(record: StreamRecord): DynamoDBRecord {
    const { dynamodb } = record;
    return {
      eventID: record.eventID,
      eventName: record.eventName as DynamoDBRecord['eventName'],
      eventVersion: record.eventVersion ?? '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.options.region ?? 'us-east-1',
      eventSourceARN: this.options.streamArn,
      dynamodb: {
        ...(dynamodb as unknown as DynamoDBRecord['dynamodb']),
        ApproximateCreationDateTime: dynamodb?.ApproximateCreationDateTime
          ? dynamodb.ApproximateCreationDateTime.getTime() / 1000
          : undefined,
      },
    };
  }
}
