import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type BatchWriteItemCommandOutput,
  DeleteTableCommand,
  UpdateTimeToLiveCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import pLimit from 'p-limit';
import { DEFAULT_CONFIG } from '../lambdas/core/config';
import { dispatchRefFromText } from '../lambdas/core/templates';
import { Env, LEDGER_TABLE } from '../lambdas/tables';
import type { EmbeddedAws } from '../local/embedded-aws';
import { EventSourcePoller } from '../local/event-source-poller';
import { ledgerTableInput } from '../local/provision';
import { BENCH_SIDES, type BenchInvocationEmit, type BenchSide, type BenchWorkerInit } from './bench-handler';
import { countCalls, emptyTally, mergeTally, takeTally, type CallTally } from './call-counter';
import { benchMessage, memberFor, type BenchMessage } from './messages';
import { PEER_IDEMPOTENCY_TABLE } from './peer-sender';
import { addCounts } from './stats';

export interface ThroughputOptions {
  /** Messages per measured run (the same set on both sides). */
  readonly messages: number;
  /** Messages per invocation (the event source's batch size). */
  readonly batchSize: number;
  /** Pollers / execution environments (the event source's concurrency). */
  readonly concurrency: number;
  /** Longest a measured run may take. @default 300000 */
  readonly runTimeoutMs?: number;
  readonly progress?: (line: string) => void;
}

/** One measured run of one side. */
export interface SideRun {
  readonly side: BenchSide;
  readonly run: number;
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Worker calls (DynamoDB, SES, DLQ sends) and the poller's SQS receive/delete, up to the last delete. */
  readonly tally: CallTally;
  readonly invocations: number;
  readonly handlerDurationsMs: number[];
  readonly outcomes: Record<string, number>;
  /** SendMessageBatch calls that published the measured messages. */
  readonly publishRequests: number;
  readonly sesStored: number;
  /** Empty unless an e-mail reached another address or a dispatchId was sent twice: the run is void. */
  readonly violations: string[];
  /** Set when fewer e-mails were sent than published (the outcomes say why). */
  readonly shortfall?: string;
  /** Publish (the portal's SendMessageBatch answered) → SES accepted, per e-mail, ms (only with `recordAcceptance`). */
  readonly latenciesMs?: number[];
  /**
   * Set when the run hit its `maxSeconds` before every message was sent: how many were deleted by
   * then (`messages`, `seconds` and `perSecond` describe that part; the rest was purged).
   */
  readonly cutAt?: { readonly seconds: number; readonly deleted: number; readonly of: number };
}

/** How one run differs from a plain throughput run (a backlog published, then drained at full speed). */
export interface RunPlan {
  /** @default the measured set */
  readonly messages?: readonly BenchMessage[];
  /** Added to the handler's environment (the quota run's per-environment send rate). */
  readonly env?: Readonly<Record<string, string>>;
  /** Pollers / environments for this run. @default the bench's concurrency */
  readonly concurrency?: number;
  /** Measure publish → SES acceptance per e-mail. @default false */
  readonly recordAcceptance?: boolean;
  /**
   * Publish at this rate (10 per SendMessageBatch) while the pollers run: the latency run.
   * @default everything published before the pollers start: a backlog
   */
  readonly publishPerSecond?: number;
  /** Called after the warm-up, just before the measured messages are published (sets the SES quota). */
  readonly beforeMeasuring?: () => Promise<void>;
  /** What the progress line calls the run. @default the side */
  readonly label?: string;
  /** Longest the run may take before it fails. @default the bench's runTimeoutMs */
  readonly timeoutMs?: number;
  /**
   * Stop measuring after this long even if not every message was sent (the quota run on a machine
   * too slow for Q): the pollers stop, what is in flight finishes, the rest is purged. @default no cap
   */
  readonly maxSeconds?: number;
}

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
const MEASURED_SET = 'bench';

/**
 * Runs the naive sender or the pipeline over the same messages on the embedded emulators, both
 * behind the same local event source poller (same receive, batch size, concurrency, delete and
 * worker-thread environments), so the only difference between the sides is the handler.
 */
export class ThroughputBench {
  private runs = 0;
  readonly measured: BenchMessage[];

  constructor(
    private readonly aws: EmbeddedAws,
    private readonly bundlePath: string,
    private readonly options: ThroughputOptions,
  ) {
    this.measured = Array.from({ length: options.messages }, (_, i) => benchMessage(MEASURED_SET, i + 1));
  }

  /** Registers every measured message's member (raw PutRequests: the registry guard is not measured). */
  async prepare(): Promise<void> {
    await this.putMembers(this.measured);
  }

  /**
   * One untimed run of each side over a set of their own: the emulators' JIT, the JVM and the
   * sockets warm up before the first measured run, which otherwise comes out several times slower.
   */
  async prime(count: number): Promise<void> {
    const messages = Array.from({ length: count }, (_, i) => benchMessage('prime', i + 1));
    await this.putMembers(messages);
    for (const side of BENCH_SIDES) {
      const { violations } = await this.run(side, { messages, label: `${side} (priming, not measured)` });
      if (violations.length > 0) throw new Error(`The priming run of ${side} broke the pipeline's promise: ${violations.join('; ')}`);
    }
  }

  /** Registers the members of a message set of the caller's (the quota and latency runs). */
  async register(messages: readonly BenchMessage[]): Promise<void> {
    await this.putMembers(messages);
  }

  /** A measured run of `side` over the measured set (or over `plan.messages`). */
  async run(side: BenchSide, plan: RunPlan = {}): Promise<SideRun> {
    const run = ++this.runs;
    const { aws } = this;
    const messages = plan.messages ?? this.measured;
    const options = { ...this.options, messages: messages.length, concurrency: plan.concurrency ?? this.options.concurrency };
    const log = options.progress ?? (() => undefined);
    await aws.clearSes();
    if (side === 'pipeline') await this.resetLedger();
    if (side === 'peer') await this.resetIdempotencyTable();
    const depth = await aws.queueDepth();
    if (depth.total !== 0) {
      // What the previous run handed back and never sent (its shortfall, reported there): not this run's.
      await aws.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: aws.queueUrl }));
      log(`run ${run}: purged ${depth.total} messages the previous run left in the queue`);
    }

    const pollerTally = emptyTally();
    const sqs = new SQSClient({ region: aws.region, endpoint: aws.endpoints.sqs, credentials: CREDENTIALS });
    countCalls(sqs, 'SQS', pollerTally);
    const workerTally = emptyTally();
    const outcomes: Record<string, number> = {};
    const durations: number[] = [];
    const acceptedAt = new Map<string, number>();
    const publishedAt = new Map<string, number>();
    let measuring = false;
    let deletedAtStart = 0;
    let finishedAt = 0;
    let finalPollerTally: CallTally | undefined;
    const workerData: BenchWorkerInit = { side, recordAcceptance: plan.recordAcceptance ?? false };
    const poller: EventSourcePoller = new EventSourcePoller({
      sqs,
      queueUrl: aws.queueUrl,
      queueArn: aws.queueArn,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      waitTimeSeconds: 1,
      functionTimeoutMs: 30_000,
      environment: {
        bundlePath: this.bundlePath,
        workerData,
        // What the stack deploys: one message at a time per invocation (see docs/decisions.md).
        env: { ...process.env, ...aws.env, [Env.handlerConcurrency]: String(DEFAULT_CONFIG.handlerConcurrency), ...plan.env },
        onEmit: (message) => {
          const emitted = message as BenchInvocationEmit;
          if (!measuring || emitted?.type !== 'bench-invocation') return;
          mergeTally(workerTally, emitted.tally);
          addCounts(outcomes, emitted.outcomes);
          durations.push(emitted.durationMs);
          for (const [dispatchId, at] of emitted.accepted ?? []) if (!acceptedAt.has(dispatchId)) acceptedAt.set(dispatchId, at);
        },
        onLogLine: () => undefined,
      },
      onInvocation: () => {
        if (measuring && finishedAt === 0 && poller.stats.deleted - deletedAtStart >= options.messages) {
          finishedAt = performance.now();
          finalPollerTally = mergeTally(emptyTally(), pollerTally);
        }
      },
    });

    try {
      poller.start();
      await this.warmUp(poller, run, options.concurrency);
      poller.disable();
      await waitFor(() => poller.busy.receiving === 0 && poller.busy.processing === 0, 10_000, 'the pollers to go quiet after warm-up');
      await aws.clearSes();
      await plan.beforeMeasuring?.();
      const label = plan.label ?? side;
      const record = (batch: readonly BenchMessage[]) => {
        const at = Date.now();
        for (const m of batch) publishedAt.set(m.dispatchId, at);
      };
      const paced = plan.publishPerSecond;
      const publishRequests = paced ? 0 : await this.publish(messages, record);
      takeTally(pollerTally);
      deletedAtStart = poller.stats.deleted;
      measuring = true;
      log(`run ${run}: ${label}, ${options.messages} messages${paced ? ` published at ${paced}/s` : ''}`);
      const started = performance.now();
      poller.enable();
      const pacedRequests = paced ? await this.publishPaced(messages, paced, record) : 0;
      const deadline = plan.maxSeconds ? started + plan.maxSeconds * 1000 : Number.POSITIVE_INFINITY;
      await waitFor(
        () => finishedAt > 0 || performance.now() > deadline,
        plan.timeoutMs ?? options.runTimeoutMs ?? 300_000,
        `${label} to send ${options.messages} messages`,
      );
      let cutAt: SideRun['cutAt'];
      if (finishedAt === 0) {
        finishedAt = performance.now();
        finalPollerTally = mergeTally(emptyTally(), pollerTally);
        cutAt = { seconds: (finishedAt - started) / 1000, deleted: poller.stats.deleted - deletedAtStart, of: options.messages };
      }
      poller.disable();
      if (cutAt) {
        // What is in flight finishes (and is counted: the SES store must match the outcomes), the rest goes.
        await waitFor(() => poller.busy.receiving === 0 && poller.busy.processing === 0, 60_000, 'the pollers to go quiet after the cap');
        await aws.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: aws.queueUrl }));
        log(`run ${run}: ${label} cut at ${cutAt.seconds.toFixed(0)} s with ${cutAt.deleted} of ${cutAt.of} sent; the rest purged`);
      }
      measuring = false;
      const seconds = (finishedAt - started) / 1000;
      const counted = cutAt?.deleted ?? options.messages;
      const stored = await aws.sesStore();
      const result: SideRun = {
        side,
        run,
        messages: counted,
        seconds,
        perSecond: counted / seconds,
        tally: mergeTally(mergeTally(emptyTally(), workerTally), finalPollerTally ?? pollerTally),
        invocations: durations.length,
        handlerDurationsMs: durations,
        outcomes,
        publishRequests: publishRequests + pacedRequests,
        sesStored: stored.length,
        ...(plan.recordAcceptance ? { latenciesMs: latencies(publishedAt, acceptedAt) } : {}),
        ...this.verify(messages, outcomes, stored),
        ...(cutAt ? { cutAt } : {}),
      };
      const notes = [...result.violations, ...(result.shortfall ? [result.shortfall] : [])];
      log(
        `run ${run}: ${label} ${result.perSecond.toFixed(1)} msg/s (${seconds.toFixed(2)} s)${notes.length ? ` — ${notes.join('; ')}` : ''}`,
      );
      return result;
    } finally {
      await poller.stop();
      sqs.destroy();
    }
  }

  /** Gives every execution environment its cold start (bundle load, clients, deps) before timing. */
  private async warmUp(poller: EventSourcePoller, run: number, concurrency: number): Promise<void> {
    const perRound = this.options.batchSize * concurrency * 2;
    for (let round = 0; round < 5; round++) {
      const warm = Array.from({ length: perRound }, (_, i) => benchMessage(`warm${run}`, round * perRound + i + 1));
      await this.putMembers(warm);
      const target = poller.stats.deleted + warm.length;
      await this.publish(warm);
      // Ten cold starts at once on a busy 2-core machine can take a minute by themselves.
      await waitFor(
        () => poller.stats.deleted >= target,
        180_000,
        'the warm-up messages',
        () => `${poller.stats.deleted}/${target} deleted, ${JSON.stringify(poller.stats)}, ${poller.coldStarts} cold starts`,
      );
      if (poller.coldStarts >= concurrency) return;
    }
  }

  /**
   * Safety violations (an e-mail at another address, one dispatchId sent twice, an e-mail the
   * benchmark did not publish) and shortfalls (fewer sent than published: an outcome other than
   * `sent`, e.g. `in-doubt` when an emulator drops a connection mid-send, which the pipeline
   * must never re-send).
   */
  private verify(
    messages: readonly BenchMessage[],
    outcomes: Record<string, number>,
    stored: Awaited<ReturnType<EmbeddedAws['sesStore']>>,
  ): { violations: string[]; shortfall?: string } {
    const violations: string[] = [];
    const expected = new Map(messages.map((m) => [m.dispatchId, m.to]));
    const seen = new Set<string>();
    let wrong = 0;
    let unknown = 0;
    for (const mail of stored) {
      const ref = dispatchRefFromText(mail.body.text ?? '');
      const to = ref ? expected.get(ref) : undefined;
      if (!ref || !to) unknown++;
      else if (mail.destination.to.length !== 1 || mail.destination.to[0] !== to) wrong++;
      if (ref) seen.add(ref);
    }
    if (wrong > 0) violations.push(`${wrong} e-mails went to another address`);
    if (unknown > 0) violations.push(`${unknown} e-mails carry no known dispatch reference`);
    if (seen.size !== stored.length) violations.push(`${stored.length - seen.size} dispatchIds reached SES more than once`);
    const sent = outcomes.sent ?? 0;
    if (sent !== seen.size) violations.push(`the handler reported ${sent} sent but SES holds ${seen.size} distinct e-mails`);
    const shortfall =
      seen.size < messages.length
        ? `${messages.length - seen.size} of ${messages.length} not sent (outcomes ${JSON.stringify(outcomes)})`
        : undefined;
    return { violations, ...(shortfall ? { shortfall } : {}) };
  }

  private async publish(
    messages: readonly BenchMessage[],
    published: (batch: readonly BenchMessage[]) => void = () => undefined,
  ): Promise<number> {
    const limit = pLimit(4);
    const chunks = chunk(messages, 10);
    await Promise.all(chunks.map((entries, c) => limit(() => this.publishBatch(entries, c, published))));
    return chunks.length;
  }

  /** Publishes 10 at a time on a fixed schedule (`perSecond` messages a second, no catch-up burst beyond one batch). */
  private async publishPaced(
    messages: readonly BenchMessage[],
    perSecond: number,
    published: (batch: readonly BenchMessage[]) => void,
  ): Promise<number> {
    const chunks = chunk(messages, 10);
    const intervalMs = (10 / perSecond) * 1000;
    const start = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let c = 0; c < chunks.length; c++) {
      const wait = start + c * intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(this.publishBatch(chunks[c], c, published));
    }
    await Promise.all(inFlight);
    return chunks.length;
  }

  private async publishBatch(
    entries: readonly BenchMessage[],
    c: number,
    published: (batch: readonly BenchMessage[]) => void,
  ): Promise<void> {
    const response = await this.aws.clients.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.aws.queueUrl,
        Entries: entries.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) })),
      }),
    );
    if (response.Failed?.length) throw new Error(`Publishing chunk ${c} failed for ${response.Failed.length} messages`);
    published(entries);
  }

  private async putMembers(messages: readonly BenchMessage[]): Promise<void> {
    const limit = pLimit(4);
    await Promise.all(
      chunk(messages, 25).map((part) =>
        limit(async () => {
          let requests: WriteRequest[] | undefined = part.map((m) => ({ PutRequest: { Item: marshall(memberFor(m)) } }));
          for (let attempt = 0; requests && requests.length > 0; attempt++) {
            if (attempt > 8) throw new Error('DynamoDB Local left member writes unprocessed');
            const response: BatchWriteItemCommandOutput = await this.aws.clients.dynamodb.send(
              new BatchWriteItemCommand({ RequestItems: { [this.aws.tables.members]: requests } }),
            );
            requests = response.UnprocessedItems?.[this.aws.tables.members];
          }
        }),
      ),
    );
  }

  /** A fresh idempotency table for every peer run: the same dispatchIds must be sendable again. */
  private async resetIdempotencyTable(): Promise<void> {
    const client = this.aws.clients.dynamodb;
    const { name, partitionKey, ttlAttribute } = PEER_IDEMPOTENCY_TABLE;
    await client.send(new DeleteTableCommand({ TableName: name })).catch((error: unknown) => {
      if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    });
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      }),
    );
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true } }),
    );
  }

  /** A fresh ledger for every pipeline run: the same dispatchIds must be sendable again. */
  private async resetLedger(): Promise<void> {
    const client = this.aws.clients.dynamodb;
    const table = this.aws.tables.ledger;
    await client.send(new DeleteTableCommand({ TableName: table }));
    // Without a stream, as the bench's tables start (run-bench.ts): on DynamoDB Local a re-created
    // stream-enabled table takes writes 3-5× slower (npm run bench:emulator-streams).
    await client.send(new CreateTableCommand(ledgerTableInput(table, { streams: false })));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.ttlAttribute, Enabled: true },
      }),
    );
  }
}

/** Publish → acceptance per accepted e-mail that was published in this run, ms. */
function latencies(publishedAt: ReadonlyMap<string, number>, acceptedAt: ReadonlyMap<string, number>): number[] {
  const out: number[] = [];
  for (const [dispatchId, at] of acceptedAt) {
    const published = publishedAt.get(dispatchId);
    if (published !== undefined) out.push(at - published);
  }
  return out;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${detail ? ` (${detail()})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
