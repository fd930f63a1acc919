/**
 * Every default of the pipeline and the range of every integer setting, written once. The CDK
 * settings (lib/settings.ts), the constructs, the dashboard and the Lambda config
 * (lambdas/core/config.ts) all read them from here, so a value like `fanInLimit: 3` cannot drift
 * between the deployment and the function. Pure: no AWS, no env, no CDK.
 */

/** An inclusive integer range. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** The defaults of every deployment setting and every dispatcher config key. */
export const DEFAULTS = {
  fromAddress: 'no-reply@portal.example.org',
  fanInLimit: 3,
  fanInWindowSeconds: 86_400,
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
  maxConcurrency: 10,
  dispatcherReservedConcurrency: 0,
  breakerReservedConcurrency: 0,
  feedbackReservedConcurrency: 0,
  queueRetentionDays: 4,
  deadLetterRetentionDays: 14,
  alarmEmail: '',
  fanInAlarmThreshold: 1,
  fanInAlarmPeriodSeconds: 60,
  maxSendRatePerSecond: 14,
  createEmailIdentity: false,
  enableBackupPlan: true,
  transientBounceLimit: 3,
  /** Recipient mismatches per 5 minutes that raise `BlockedSpike`. */
  blockedSpikeThreshold: 5,
  /** Messages of one batch worked on at once (see DispatchConfig.handlerConcurrency). */
  handlerConcurrency: 1,
  /** Seconds a claim counts as a live attempt: two function timeouts of 30 s. */
  claimLeaseSeconds: 60,
} as const;

/**
 * The SDK clients' timeouts in every Lambda. Without them a connection DynamoDB (or any AWS API)
 * accepts and never answers runs into the function timeout: the 12.6 time check cannot cut a call
 * already made, and a claim whose answer is lost that way strands its message as claimed.
 *
 * DynamoDB: one try and one retry, each at most `connectionTimeoutMs + requestTimeoutMs`, plus the
 * SDK's back-off before the retry (at most 200 ms): 2 s at most, the claim's share of the attempt
 * budget (`ATTEMPT_BUDGET.claimMs`, lambdas/dispatcher/time-budget.ts; a test holds them together).
 * DynamoDB answers in milliseconds; a call that has not answered in 600 ms is treated as the store
 * being unavailable (the dispatcher's `unanswered` claim: looked up, given back, tried afresh once).
 * The other APIs (SQS, Lambda, EventBridge, Secrets Manager) are off the claim path: 1 s to connect, 3 s to answer.
 */
export const SDK_TIMEOUTS = {
  dynamodb: { connectionTimeoutMs: 300, requestTimeoutMs: 600, maxAttempts: 2, firstRetryDelayMaxMs: 200 },
  other: { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000 },
} as const;

export type DefaultKey = keyof typeof DEFAULTS;

/** The range of every integer setting (deployment and function alike). */
export const RANGES = {
  fanInLimit: { min: 1, max: 1000 },
  fanInWindowSeconds: { min: 60, max: 31 * 86_400 },
  maxReceiveCount: { min: 1, max: 1000 },
  batchSize: { min: 1, max: 10_000 },
  maxBatchingWindowSeconds: { min: 0, max: 300 },
  maxConcurrency: { min: 2, max: 1000 },
  dispatcherReservedConcurrency: { min: 0, max: 1000 },
  breakerReservedConcurrency: { min: 0, max: 1000 },
  feedbackReservedConcurrency: { min: 0, max: 1000 },
  queueRetentionDays: { min: 1, max: 13 },
  deadLetterRetentionDays: { min: 2, max: 14 },
  fanInAlarmThreshold: { min: 1, max: 1_000_000 },
  fanInAlarmPeriodSeconds: { min: 60, max: 86_400 },
  maxSendRatePerSecond: { min: 1, max: 100_000 },
  transientBounceLimit: { min: 1, max: 100 },
  blockedSpikeThreshold: { min: 1, max: 1_000_000 },
  handlerConcurrency: { min: 1, max: 10_000 },
  claimLeaseSeconds: { min: 1, max: 86_400 },
} as const satisfies Partial<Record<DefaultKey, IntegerRange>>;

export type RangedKey = keyof typeof RANGES;

/**
 * The function's own ranges. One difference from a deployment: the fan-in window may be seconds
 * long, because the local runtime and the tests drive the window with an injected clock; a
 * deployment still needs a minute at least (RANGES).
 */
export const FUNCTION_RANGES: Readonly<Record<RangedKey, IntegerRange>> = {
  ...RANGES,
  fanInWindowSeconds: { min: 1, max: RANGES.fanInWindowSeconds.max },
};

/** `key must be an integer from min to max (got value)`, or undefined when `value` is in range. */
export function rangeProblem(key: string, value: unknown, range: IntegerRange): string | undefined {
  if (Number.isInteger(value) && (value as number) >= range.min && (value as number) <= range.max) return undefined;
  return `${key} must be an integer from ${range.min} to ${range.max} (got ${JSON.stringify(value)})`;
}

/** Every key of `values` that has a range and is outside it (keys whose value is undefined are skipped). */
export function rangeProblems(
  values: Readonly<Partial<Record<RangedKey, unknown>>>,
  ranges: Readonly<Record<RangedKey, IntegerRange>> = RANGES,
): string[] {
  return (Object.keys(values) as RangedKey[])
    .filter((key) => key in ranges && values[key] !== undefined)
    .map((key) => rangeProblem(key, values[key], ranges[key]))
    .filter((problem): problem is string => problem !== undefined);
}

/** The settings the rules between settings look at. */
export interface RelatedSettings {
  readonly batchSize?: number;
  readonly maxBatchingWindowSeconds?: number;
  readonly maxConcurrency?: number;
  readonly dispatcherReservedConcurrency?: number;
  readonly queueRetentionDays?: number;
  readonly deadLetterRetentionDays?: number;
  readonly fanInAlarmPeriodSeconds?: number;
}

/**
 * The rules between settings (each checked only when its values are in range), shared by the
 * context parser and the constructs so both refuse the same deployments.
 */
export function relatedSettingProblems(s: RelatedSettings): string[] {
  const problems: string[] = [];
  const isInt = (value: unknown): value is number => Number.isInteger(value);
  // The dispatcher's metrics are standard resolution (one datapoint a minute): a shorter period
  // would leave the alarm in INSUFFICIENT_DATA instead of paging.
  if (isInt(s.fanInAlarmPeriodSeconds) && s.fanInAlarmPeriodSeconds % 60 !== 0) {
    problems.push(
      `fanInAlarmPeriodSeconds must be a multiple of 60 (got ${s.fanInAlarmPeriodSeconds}): the metrics are standard resolution`,
    );
  }
  const reserved = s.dispatcherReservedConcurrency;
  const concurrency = s.maxConcurrency ?? DEFAULTS.maxConcurrency;
  if (isInt(reserved) && reserved > 0 && reserved < concurrency) {
    problems.push(
      `dispatcherReservedConcurrency must be 0 (none) or at least maxConcurrency (${concurrency}), or the event source is throttled (got ${reserved})`,
    );
  }
  const [queueDays, deadLetterDays] = [s.queueRetentionDays, s.deadLetterRetentionDays];
  if (queueDays !== undefined && deadLetterDays !== undefined && deadLetterDays <= queueDays) {
    problems.push(
      `deadLetterRetentionDays (${deadLetterDays}) must exceed queueRetentionDays (${queueDays}): SQS keeps a message's first enqueue time in the DLQ`,
    );
  }
  if ((s.batchSize ?? DEFAULTS.batchSize) > 10 && (s.maxBatchingWindowSeconds ?? DEFAULTS.maxBatchingWindowSeconds) < 1) {
    problems.push('batchSize above 10 needs maxBatchingWindowSeconds of at least 1 (an SQS event source rule)');
  }
  return problems;
}

/**
 * Each environment of the dispatcher paces itself to its share of the SES quota (sends per
 * second, three decimals, rounded down so the shares never add up to more than the quota).
 */
export function sendsPerSecondPerEnvironment(maxSendRatePerSecond: number, maxConcurrency: number): number {
  return Math.floor((maxSendRatePerSecond / maxConcurrency) * 1000) / 1000;
}
