import { costPerMillion, feedbackLoopUsage, gbSeconds, type CostPerMillion, type FeedbackLoopAssumptions } from './cost-model';
import { PRICES, type Prices } from './prices';

const MILLION = 1_000_000;

/** One safety layer's cost per 1M e-mails (issue 17.4). */
export interface SafetyCostRow {
  readonly layer: SafetyLayer;
  readonly usdPerMillion: number;
  /** What it is made of, per e-mail. */
  readonly basis: string;
  /** `measured` on the emulators in this run, or `model` (on paper, assumptions in `basis`). */
  readonly source: 'measured' | 'model';
}

export const SAFETY_LAYERS = [
  'claim transaction',
  'fan-in counter',
  'audit indexes',
  'settle',
  'pause-flag reads',
  'dispatcher Lambda time',
  'dispatcher SQS calls',
  'outcome feed',
  'feedback loop',
] as const;
export type SafetyLayer = (typeof SAFETY_LAYERS)[number];

/** What the pipeline used per sent e-mail beyond the naive sender, as the bench counted it. */
export interface MeasuredSafetyUsage {
  /** Write/read units by use (`CallTally.unitsByUse` / sent). */
  readonly unitsPerSent: Readonly<Record<string, number>>;
  readonly pipeline: CostPerMillion;
  readonly naive: CostPerMillion;
}

/** The outcome feed on paper: the ledger's stream → the publisher Lambda → EventBridge. */
export interface OutcomeFeedAssumptions {
  /** Events published per e-mail (`sent`, then SES's `delivered`). @default 2 */
  readonly eventsPerEmail?: number;
  /**
   * Stream records per e-mail that pass the mapping's filter and reach the function: the claim's
   * insert, the settle, the delivery fate. @default 3
   */
  readonly streamRecordsPerEmail?: number;
  /** Stream records per invocation (batch size 100, no batching window: small batches at a steady rate). @default 10 */
  readonly recordsPerInvocation?: number;
  /** Billed duration of one invocation (one PutEvents of up to 10 entries). @default 60 */
  readonly billedMsPerInvocation?: number;
  /** The publisher's memory (lib/constructs/outcome-feed.ts). @default 256 */
  readonly memoryMb?: number;
}

/** The outcome feed's cost per 1M e-mails, by part. */
export function outcomeFeedCost(
  a: OutcomeFeedAssumptions = {},
  prices: Prices = PRICES,
): { eventBridge: number; streams: number; lambda: number; total: number } {
  const events = a.eventsPerEmail ?? 2;
  const records = a.streamRecordsPerEmail ?? 3;
  const invocations = records / (a.recordsPerInvocation ?? 10);
  const eventBridge = events * prices.eventBridgePerEvent * MILLION;
  // One GetRecords per invocation at least; free when the reader is Lambda's mapping.
  const streams = invocations * prices.dynamoDbStreamsPerReadByLambda * MILLION;
  const lambda =
    invocations *
    (prices.lambdaPerRequest + gbSeconds(a.billedMsPerInvocation ?? 60, a.memoryMb ?? 256) * prices.lambdaPerGbSecond) *
    MILLION;
  return { eventBridge, streams, lambda, total: eventBridge + streams + lambda };
}

const units = (m: MeasuredSafetyUsage, ...keys: string[]) => keys.reduce((sum, key) => sum + (m.unitsPerSent[key] ?? 0), 0);

/**
 * One row per safety layer, each priced alone: the dispatch path's rows from what this run
 * measured (write and read units by use, the Lambda and SQS differences against the naive
 * sender), the outcome feed and the feedback loop on paper. The measured rows add up to the
 * measured pipeline − naive difference.
 */
export function safetyCostRows(
  m: MeasuredSafetyUsage,
  options: { readonly outcomeFeed?: OutcomeFeedAssumptions; readonly feedback?: FeedbackLoopAssumptions; readonly memoryMb: number },
  prices: Prices = PRICES,
): SafetyCostRow[] {
  const wru = (n: number) => n * prices.dynamoDbPerWriteUnit * MILLION;
  const rru = (n: number) => n * prices.dynamoDbPerReadUnit * MILLION;
  const claimWrites = units(m, 'TransactWriteItems:check', 'TransactWriteItems:record', 'TransactWriteItems:unattributed');
  const snapshotReads = units(m, 'BatchGetItem');
  const fanIn = units(m, 'TransactWriteItems:fan-in');
  const indexes = units(m, 'TransactWriteItems:indexes', 'UpdateItem:indexes', 'PutItem:indexes');
  const settle = units(m, 'UpdateItem', 'PutItem', 'DeleteItem');
  const pause = units(m, 'GetItem');
  const feed = outcomeFeedCost(options.outcomeFeed, prices);
  // The feedback function has ServiceFunction's default memory, as the dispatcher does.
  const feedback = costPerMillion(feedbackLoopUsage(options.feedback), options.memoryMb, prices);
  const f = (x: number, digits = 2) => x.toFixed(digits);
  return [
    {
      layer: 'claim transaction',
      usdPerMillion: wru(claimWrites) + rru(snapshotReads),
      basis: `member ConditionCheck + ledger record, 2 WRU each: ${f(claimWrites)} WRU; the batch's snapshot read ${f(snapshotReads, 3)} RRU`,
      source: 'measured',
    },
    {
      layer: 'fan-in counter',
      usdPerMillion: wru(fanIn),
      basis: `mailbox counter write in the claim: ${f(fanIn)} WRU`,
      source: 'measured',
    },
    {
      layer: 'audit indexes',
      usdPerMillion: wru(indexes),
      basis: `3 KEYS_ONLY index entries written by the claim: ${f(indexes)} WRU`,
      source: 'measured',
    },
    { layer: 'settle', usdPerMillion: wru(settle), basis: `ledger UpdateItem sent/released: ${f(settle)} WRU`, source: 'measured' },
    {
      layer: 'pause-flag reads',
      usdPerMillion: rru(pause),
      basis: `strongly consistent GetItem, cached ≤ 1 s per environment: ${f(pause, 3)} RRU`,
      source: 'measured',
    },
    {
      layer: 'dispatcher Lambda time',
      usdPerMillion: m.pipeline.lambda - m.naive.lambda,
      basis: `billed GB-s + requests, pipeline − naive ($${f(m.pipeline.lambda)} − $${f(m.naive.lambda)})`,
      source: 'measured',
    },
    {
      layer: 'dispatcher SQS calls',
      usdPerMillion: m.pipeline.sqs - m.naive.sqs,
      basis: 'receive/delete/DLQ calls, pipeline − naive',
      source: 'measured',
    },
    {
      layer: 'outcome feed',
      usdPerMillion: feed.total,
      basis:
        `${options.outcomeFeed?.eventsPerEmail ?? 2} PutEvents entries $${f(feed.eventBridge)}; stream reads by Lambda $${f(feed.streams)} (free); ` +
        `${options.outcomeFeed?.streamRecordsPerEmail ?? 3} records / ${options.outcomeFeed?.recordsPerInvocation ?? 10} per invocation, ` +
        `${options.outcomeFeed?.billedMsPerInvocation ?? 60} ms at ${options.outcomeFeed?.memoryMb ?? 256} MB: $${f(feed.lambda)}`,
      source: 'model',
    },
    {
      layer: 'feedback loop',
      usdPerMillion: feedback.total,
      basis: `${options.feedback?.eventsPerEmail ?? 2} SES events → SNS $${f(feedback.sns)} + Lambda $${f(feedback.lambda)} + ${options.feedback?.writeUnitsPerEvent ?? 1} WRU each $${f(feedback.dynamoDb)}`,
      source: 'model',
    },
  ];
}

/** What it would take for the safety share to reach `maxShare`, in figures. */
export interface SafetyBudget {
  readonly maxShare: number;
  /** The most the safety may add to the naive sender's cost: naive × share / (1 − share). */
  readonly budgetUsdPerMillion: number;
  readonly safetyUsdPerMillion: number;
  readonly share: number;
  /** How much must go: safety − budget (0 when within). */
  readonly cutUsdPerMillion: number;
  readonly levers: readonly SafetyLever[];
  /** The safety cost and share with every lever applied. */
  readonly afterLeversUsdPerMillion: number;
  readonly afterLeversShare: number;
}

export interface SafetyLever {
  readonly change: string;
  readonly savesUsdPerMillion: number;
}

const rowCost = (rows: readonly SafetyCostRow[], ...layers: SafetyLayer[]) =>
  rows.filter((r) => layers.includes(r.layer)).reduce((s, r) => s + r.usdPerMillion, 0);

/**
 * The safety share's budget and the design changes that would close the gap, each priced from
 * the rows. Levers: provisioned DynamoDB capacity at `provisionedUtilisation` instead of
 * on-demand; the audit indexes dropped from the write path (audit from the outcome feed's
 * archive instead); one outcome event per e-mail instead of two; the dispatcher at 128 MB.
 */
export function safetyBudget(
  rows: readonly SafetyCostRow[],
  naiveTotal: number,
  options: { readonly maxShare?: number; readonly provisionedUtilisation?: number; readonly dispatcherMemoryMb: number } = {
    dispatcherMemoryMb: 512,
  },
  prices: Prices = PRICES,
): SafetyBudget {
  const maxShare = options.maxShare ?? 0.03;
  const safety = rows.reduce((s, r) => s + r.usdPerMillion, 0);
  const budget = (naiveTotal * maxShare) / (1 - maxShare);
  const utilisation = options.provisionedUtilisation ?? 0.7;
  // A write unit sustained for a second on provisioned capacity, at the utilisation autoscaling keeps.
  const provisionedPerWrite = prices.dynamoDbPerWcuHour / 3600 / utilisation;
  const provisionedFactor = provisionedPerWrite / prices.dynamoDbPerWriteUnit;
  const indexes = rowCost(rows, 'audit indexes');
  const dynamoWrites = rowCost(rows, 'claim transaction', 'fan-in counter', 'settle') + indexes;
  const feed = rows.find((r) => r.layer === 'outcome feed');
  const feedEvents = feed ? prices.eventBridgePerEvent * MILLION : 0;
  const lambda = rowCost(rows, 'dispatcher Lambda time');
  const levers: SafetyLever[] = [
    { change: 'audit indexes off the write path (audit queries served from the outcome feed archive)', savesUsdPerMillion: indexes },
    {
      change: `provisioned DynamoDB capacity at ${Math.round(utilisation * 100)} % utilisation (×${provisionedFactor.toFixed(2)} per write unit)`,
      savesUsdPerMillion: (dynamoWrites - indexes) * (1 - provisionedFactor),
    },
    { change: 'one outcome event per e-mail (the delivery fate only on a bounce or complaint)', savesUsdPerMillion: feedEvents },
    {
      change: `dispatcher at 128 MB instead of ${options.dispatcherMemoryMb} MB (I/O-bound: same duration)`,
      savesUsdPerMillion: Math.max(0, lambda) * (1 - 128 / options.dispatcherMemoryMb),
    },
  ];
  const after = safety - levers.reduce((s, l) => s + l.savesUsdPerMillion, 0);
  const share = (x: number) => x / (naiveTotal + x);
  return {
    maxShare,
    budgetUsdPerMillion: budget,
    safetyUsdPerMillion: safety,
    share: share(safety),
    cutUsdPerMillion: Math.max(0, safety - budget),
    levers,
    afterLeversUsdPerMillion: after,
    afterLeversShare: share(after),
  };
}
