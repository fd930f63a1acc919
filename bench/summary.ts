import { billedMs, costPerMillion, feedbackLoopUsage, addCosts, safetyShare, type CostPerMillion, type UsagePerEmail } from './cost-model';
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
}

export function summariseSide(runs: readonly SideRun[]): SideSummary {
  const tally: CallTally = runs.reduce((sum, run) => mergeTally(sum, run.tally), emptyTally());
  const sent = runs.reduce((sum, run) => sum + (run.outcomes.sent ?? 0), 0);
  const handled = runs.reduce((sum, run) => sum + Object.entries(run.outcomes).reduce((n, [state, count]) => n + (state === 'retry' ? 0 : count), 0), 0);
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
    handlerMs: { median: durations.length ? median(durations) : 0, mean, billedMean: billed, perMessage: perUnit(mean * invocations, sent) },
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
  readonly pipeline: CostPerMillion;
  /** The SES feedback loop (Send + Delivery events → SNS → feedback Lambda → conditional update), on paper. */
  readonly feedbackLoop: CostPerMillion;
  readonly pipelineWithFeedback: CostPerMillion;
  /** (pipeline − naive) / pipeline, dispatch path as measured: the gated figure. */
  readonly safetyShare: number;
  readonly safetyShareWithFeedback: number;
}

export function summariseCost(naive: SideSummary, pipeline: SideSummary, memoryMb: number): CostSummary {
  const naiveCost = costPerMillion(naive.usage, memoryMb, PRICES);
  const pipelineCost = costPerMillion(pipeline.usage, memoryMb, PRICES);
  const feedbackLoop = costPerMillion(feedbackLoopUsage(), memoryMb, PRICES);
  const pipelineWithFeedback = addCosts(pipelineCost, feedbackLoop);
  return {
    memoryMb,
    naive: naiveCost,
    pipeline: pipelineCost,
    feedbackLoop,
    pipelineWithFeedback,
    safetyShare: safetyShare(pipelineCost, naiveCost),
    safetyShareWithFeedback: safetyShare(pipelineWithFeedback, naiveCost),
  };
}
