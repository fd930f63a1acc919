import { billedMs, costPerMillion, feedbackLoopUsage, addCosts, safetyShare, type CostPerMillion, type UsagePerEmail } from './cost-model';
import { outcomeFeedCost, safetyBudget, safetyCostRows, type SafetyBudget, type SafetyCostRow } from './cost-rows';
import { PRICES } from './prices';
import { callsOf, emptyTally, isDynamoDbRead, isDynamoDbWrite, mergeTally, type CallTally } from './call-counter';
import { median, perUnit } from './stats';
import type { SideRun } from './throughput';

/** One side's runs, summed and reduced to per-message figures. */
export interface SideSummary {
  readonly runs: number;
  readonly perSecondRuns: number[];
  readonly medianPerSecond: number;
  readonly sent: number;
  /** Messages that reached an outcome (sent, in-doubt, blocked, …), retries excluded. */
  readonly handled: number;
  readonly calls: Record<string, number>;
  /** Summed wall time per call kind, ms. */
  readonly latencyMs: Record<string, number>;
  readonly perSent: {
    readonly dynamoDb: number;
    readonly dynamoDbWrites: number;
    /**
     * Write calls per handled message: the same as per sent when every message is sent; an
     * `in-doubt` outcome (an emulator dropping a connection mid-send) also claims and settles.
     */
    readonly dynamoDbWritesPerHandled: number;
    readonly dynamoDbReads: number;
    readonly ses: number;
    /** The consumer's SQS calls (the poller's receive and delete, the handler's DLQ sends). */
    readonly sqs: number;
    /** The portal's SendMessageBatch calls. */
    readonly sqsPublish: number;
    readonly lambdaInvocations: number;
    /** Write request units the emulator reported (table + indexes), or null when it reported none. */
    readonly writeUnits: number | null;
    readonly writeUnitsOnIndexes: number | null;
    readonly readUnits: number | null;
  };
  readonly handlerMs: { readonly median: number; readonly mean: number; readonly billedMean: number; readonly perMessage: number };
  readonly usage: UsagePerEmail;
  /** DynamoDB units per sent e-mail by what consumed them (`CallTally.unitsByUse`). */
  readonly unitsPerSent: Record<string, number>;
  /**
   * Wall time awaited per sent e-mail, by call (sum of each call's time / sent): with one message
   * at a time per environment, these add up to the handler's time per message; with a batch in
   * parallel, they overlap.
   */
  readonly callMsPerSent: Record<string, number>;
}

export function summariseSide(runs: readonly SideRun[]): SideSummary {
  const tally: CallTally = runs.reduce((sum, run) => mergeTally(sum, run.tally), emptyTally());
  const sent = runs.reduce((sum, run) => sum + (run.outcomes.sent ?? 0), 0);
  const handled = runs.reduce(
    (sum, run) => sum + Object.entries(run.outcomes).reduce((n, [state, count]) => n + (state === 'retry' ? 0 : count), 0),
    0,
  );
  const durations = runs.flatMap((run) => run.handlerDurationsMs);
  const invocations = runs.reduce((sum, run) => sum + run.invocations, 0);
  const publish = runs.reduce((sum, run) => sum + run.publishRequests, 0);
  const reported = tally.capacity.reportedCalls > 0;
  const perSent = {
    dynamoDb: perUnit(callsOf(tally, 'DynamoDB'), sent),
    dynamoDbWrites: perUnit(callsOf(tally, 'DynamoDB', isDynamoDbWrite), sent),
    dynamoDbWritesPerHandled: perUnit(callsOf(tally, 'DynamoDB', isDynamoDbWrite), handled),
    dynamoDbReads: perUnit(callsOf(tally, 'DynamoDB', isDynamoDbRead), sent),
    ses: perUnit(callsOf(tally, 'SESv2'), sent),
    sqs: perUnit(callsOf(tally, 'SQS'), sent),
    sqsPublish: perUnit(publish, sent),
    lambdaInvocations: perUnit(invocations, sent),
    writeUnits: reported ? perUnit(tally.capacity.writeUnits, sent) : null,
    writeUnitsOnIndexes: reported ? perUnit(tally.capacity.writeUnitsOnIndexes, sent) : null,
    readUnits: reported ? perUnit(tally.capacity.readUnits, sent) : null,
  };
  const billed = billedMs(durations);
  const mean = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : 0;
  return {
    runs: runs.length,
    perSecondRuns: runs.map((run) => run.perSecond),
    medianPerSecond: median(runs.map((run) => run.perSecond)),
    sent,
    handled,
    calls: tally.calls,
    latencyMs: tally.latencyMs,
    perSent,
    handlerMs: {
      median: durations.length ? median(durations) : 0,
      mean,
      billedMean: billed,
      perMessage: perUnit(mean * invocations, sent),
    },
    unitsPerSent: Object.fromEntries(Object.entries(tally.unitsByUse).map(([key, n]) => [key, perUnit(n, sent)])),
    callMsPerSent: Object.fromEntries(Object.entries(tally.latencyMs).map(([key, ms]) => [key, perUnit(ms, sent)])),
    usage: {
      sesSends: perSent.ses,
      sqsRequests: perSent.sqs + perSent.sqsPublish,
      dynamoDbWriteUnits: perSent.writeUnits ?? 0,
      dynamoDbReadUnits: perSent.readUnits ?? 0,
      lambdaInvocations: perSent.lambdaInvocations,
      lambdaBilledMsPerInvocation: billed,
    },
  };
}

export interface CostSummary {
  readonly memoryMb: number;
  readonly naive: CostPerMillion;
  readonly peer: CostPerMillion;
  readonly pipeline: CostPerMillion;
  /** The outcome feed (ledger stream → publisher → EventBridge), on paper. */
  readonly outcomeFeed: ReturnType<typeof outcomeFeedCost>;
  /** The SES feedback loop (Send + Delivery events → SNS → feedback Lambda → conditional update), on paper. */
  readonly feedbackLoop: CostPerMillion;
  readonly pipelineWithFeedback: CostPerMillion;
  /** (pipeline − naive) / pipeline, dispatch path as measured: the gated figure. */
  readonly safetyShare: number;
  readonly safetyShareWithFeedback: number;
  /** One row per safety layer (issue 17.4); they add up to `safetyUsdPerMillion`. */
  readonly rows: SafetyCostRow[];
  /** Every layer: the measured dispatch path, the outcome feed and the feedback loop. */
  readonly safetyUsdPerMillion: number;
  /** safety / (naive + safety): the share with every layer. */
  readonly safetyShareAllLayers: number;
  /** What ≤ 3 % would take. */
  readonly budget: SafetyBudget;
  /** The peer's own cost over the naive sender (its idempotency table and Lambda time). */
  readonly peerOverNaive: number;
}

export function summariseCost(naive: SideSummary, peer: SideSummary, pipeline: SideSummary, memoryMb: number): CostSummary {
  const naiveCost = costPerMillion(naive.usage, memoryMb, PRICES);
  const peerCost = costPerMillion(peer.usage, memoryMb, PRICES);
  const pipelineCost = costPerMillion(pipeline.usage, memoryMb, PRICES);
  const rows = safetyCostRows({ unitsPerSent: pipeline.unitsPerSent, pipeline: pipelineCost, naive: naiveCost }, { memoryMb });
  const safety = rows.reduce((sum, row) => sum + row.usdPerMillion, 0);
  const feedbackLoop = costPerMillion(feedbackLoopUsage(), memoryMb, PRICES);
  const pipelineWithFeedback = addCosts(pipelineCost, feedbackLoop);
  return {
    memoryMb,
    naive: naiveCost,
    peer: peerCost,
    pipeline: pipelineCost,
    outcomeFeed: outcomeFeedCost(),
    feedbackLoop,
    pipelineWithFeedback,
    safetyShare: safetyShare(pipelineCost, naiveCost),
    safetyShareWithFeedback: safetyShare(pipelineWithFeedback, naiveCost),
    rows,
    safetyUsdPerMillion: safety,
    safetyShareAllLayers: safety / (naiveCost.total + safety),
    budget: safetyBudget(rows, naiveCost.total, { dispatcherMemoryMb: memoryMb }),
    peerOverNaive: peerCost.total - naiveCost.total,
  };
}
