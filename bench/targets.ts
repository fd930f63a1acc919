/** What `npm run bench` must show (issue 8). */
export const TARGETS = {
  minThroughputRatio: 0.8,
  maxDynamoDbWriteCallsPerMessage: 2,
  maxBundleBytes: 600 * 1024,
  maxInitMs: 200,
  maxSafetyShare: 0.03,
  minMessages: 2000,
  minRuns: 2,
  minSpawns: 10,
} as const;

export type Targets = typeof TARGETS;

/** The figures the targets are checked against. */
export interface MeasuredFigures {
  readonly messages: number;
  readonly runsPerSide: number;
  readonly throughputRatio: number;
  /** Per handled message: per sent when all are sent (an in-doubt message costs the same claim and settle). */
  readonly dynamoDbWriteCallsPerMessage: number;
  readonly bundleBytes: number;
  readonly initMs: number;
  readonly spawns: number;
  readonly safetyShare: number;
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

/** Every target with its measured value; the run fails when any is not met. */
export function checkTargets(m: MeasuredFigures, t: Targets = TARGETS): TargetCheck[] {
  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  return [
    { name: 'sample size', target: `≥ ${t.minMessages} messages × ≥ ${t.minRuns} runs per side`, actual: `${m.messages} × ${m.runsPerSide}`, met: m.messages >= t.minMessages && m.runsPerSide >= t.minRuns },
    { name: 'throughput pipeline/naive', target: `≥ ${t.minThroughputRatio}`, actual: m.throughputRatio.toFixed(3), met: m.throughputRatio >= t.minThroughputRatio },
    {
      name: 'DynamoDB write calls per message',
      target: `≤ ${t.maxDynamoDbWriteCallsPerMessage}`,
      actual: m.dynamoDbWriteCallsPerMessage.toFixed(3),
      met: m.dynamoDbWriteCallsPerMessage <= t.maxDynamoDbWriteCallsPerMessage,
    },
    { name: 'bundle size', target: `≤ ${t.maxBundleBytes / 1024} KB`, actual: `${(m.bundleBytes / 1024).toFixed(1)} KB`, met: m.bundleBytes <= t.maxBundleBytes },
    { name: 'module init (median)', target: `≤ ${t.maxInitMs} ms over ≥ ${t.minSpawns} spawns`, actual: `${m.initMs.toFixed(1)} ms over ${m.spawns}`, met: m.initMs <= t.maxInitMs && m.spawns >= t.minSpawns },
    { name: 'safety share of cost per 1M', target: `≤ ${pct(t.maxSafetyShare)}`, actual: pct(m.safetyShare), met: m.safetyShare <= t.maxSafetyShare },
  ];
}
