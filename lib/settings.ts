import type { Node } from 'constructs';
import { parseRecipient } from '../lambdas/core/address';
import { DEFAULTS, RANGES, type RelatedSettings, rangeProblems, relatedSettingProblems } from '../lambdas/core/defaults';
import { ConfigurationError } from '../lambdas/core/errors';
import { batchTimeProblem } from '../lambdas/dispatcher/time-budget';
import { checkReputationSettings, REPUTATION_DEFAULTS } from '../lambdas/core/reputation';

/**
 * The deployment settings, read from CDK context (`cdk.json` or `-c key=value`). Every key has a
 * safe default; every out-of-range value is reported, all at once, before anything is built.
 */
export interface DeploymentSettings {
  /** The only address the dispatcher may send from (the `ses:FromAddress` condition). @default 'no-reply@portal.example.org' */
  readonly fromAddress: string;
  /** Distinct members allowed per address per fan-in window. @default 3 */
  readonly fanInLimit: number;
  /** Length of the fan-in window, seconds. @default 86400 */
  readonly fanInWindowSeconds: number;
  /** Receives before SQS moves a message to the DLQ. @default 5 */
  readonly maxReceiveCount: number;
  /** Messages per dispatcher invocation (event source batch size). @default 10 */
  readonly batchSize: number;
  /** How long the event source gathers a batch, seconds (0-300). @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent dispatcher invocations (the event source's `maxConcurrency`, 2-1000: the cap on the dispatcher). @default 10 */
  readonly maxConcurrency: number;
  /**
   * Reserved concurrency of the dispatcher: 0 reserves none (the event source's maxConcurrency
   * already caps it); otherwise at least maxConcurrency, or the mapping is throttled. Every
   * reservation is taken from the account's pool, which must keep 100 unreserved. @default 0
   */
  readonly dispatcherReservedConcurrency: number;
  /** Reserved concurrency of the breaker; 0 reserves none (the dispatcher sets the pause flag itself). @default 0 */
  readonly breakerReservedConcurrency: number;
  /** Reserved concurrency of the SES feedback function; 0 reserves none (throttled SNS deliveries are retried). @default 0 */
  readonly feedbackReservedConcurrency: number;
  /** How long a message may wait in the dispatch queue, days (1-13; less than the DLQ's). @default 4 */
  readonly queueRetentionDays: number;
  /**
   * How long the DLQ keeps a message, days (2-14). SQS keeps a message's first enqueue time when it
   * moves it to the DLQ, so this must exceed queueRetentionDays. @default 14
   */
  readonly deadLetterRetentionDays: number;
  /** On-call address subscribed to the alarm topic; empty for none. @default '' (no subscription) */
  readonly alarmEmail: string;
  /** `FanInBlocked` sum per period that trips `FanInSpike` (and pauses the queue). @default 1 */
  readonly fanInAlarmThreshold: number;
  /** Period of `FanInSpike`, seconds (a multiple of 60: the metrics are standard resolution). @default 60 */
  readonly fanInAlarmPeriodSeconds: number;
  /** The SES account's sending quota (messages per second): the dispatcher paces to it and the dashboard marks it. @default 14 */
  readonly maxSendRatePerSecond: number;
  /** Create (and DKIM-sign with) an SES domain identity for the from-address's domain. @default false (identity managed outside this stack) */
  readonly createEmailIdentity: boolean;
  /**
   * IAM roles (the portal's) allowed to publish to the dispatch queue: granted on the queue policy
   * and the key policy. Context gives them comma-separated; each must be an IAM role ARN of a role
   * that exists. @default [] (no publisher granted by this stack)
   */
  readonly publisherRoleArns: readonly string[];
  /** Back the tables up with AWS Backup; `false` only for an emulator without AWS Backup (LocalStack). @default true */
  readonly enableBackupPlan: boolean;
  /**
   * The portal's subscriptions to the outcome feed: SQS queue ARNs or EventBridge bus ARNs, each
   * the target of a rule matching every `Dispatch Outcome` event. Comma-separated in context.
   * @default [] (no subscriber: add a rule by hand, docs/deploy.md)
   */
  readonly outcomeSubscriberArns: readonly string[];
  /** Transient bounces in a row of one (member, address) after which the feedback function treats it as permanent. @default 3 */
  readonly transientBounceLimit: number;
  /** Reputation guard: hard bounces per 100 sends that pause the pipeline (0.5-4.9: below AWS's 5 % review rate). @default 4 */
  readonly reputationBounceRatePercent: number;
  /** Reputation guard: complaints per 100 sends that pause the pipeline (0.01-0.09: below AWS's 0.1 %). @default 0.08 */
  readonly reputationComplaintRatePercent: number;
  /** Reputation guard: the sends the pipeline's own rates are measured over (100-1,000,000). @default 2000 */
  readonly reputationWindowSends: number;
}

/** The defaults of lambdas/core/defaults.ts, plus the lists only a deployment has. */
export const DEFAULT_SETTINGS: DeploymentSettings = {
  fromAddress: DEFAULTS.fromAddress,
  fanInLimit: DEFAULTS.fanInLimit,
  fanInWindowSeconds: DEFAULTS.fanInWindowSeconds,
  maxReceiveCount: DEFAULTS.maxReceiveCount,
  batchSize: DEFAULTS.batchSize,
  maxBatchingWindowSeconds: DEFAULTS.maxBatchingWindowSeconds,
  maxConcurrency: DEFAULTS.maxConcurrency,
  dispatcherReservedConcurrency: DEFAULTS.dispatcherReservedConcurrency,
  breakerReservedConcurrency: DEFAULTS.breakerReservedConcurrency,
  feedbackReservedConcurrency: DEFAULTS.feedbackReservedConcurrency,
  queueRetentionDays: DEFAULTS.queueRetentionDays,
  deadLetterRetentionDays: DEFAULTS.deadLetterRetentionDays,
  alarmEmail: DEFAULTS.alarmEmail,
  fanInAlarmThreshold: DEFAULTS.fanInAlarmThreshold,
  fanInAlarmPeriodSeconds: DEFAULTS.fanInAlarmPeriodSeconds,
  maxSendRatePerSecond: DEFAULTS.maxSendRatePerSecond,
  createEmailIdentity: DEFAULTS.createEmailIdentity,
  publisherRoleArns: [],
  enableBackupPlan: DEFAULTS.enableBackupPlan,
  outcomeSubscriberArns: [],
  transientBounceLimit: DEFAULTS.transientBounceLimit,
  reputationBounceRatePercent: REPUTATION_DEFAULTS.bounceRatePercent,
  reputationComplaintRatePercent: REPUTATION_DEFAULTS.complaintRatePercent,
  reputationWindowSends: REPUTATION_DEFAULTS.windowSends,
};

export type SettingKey = keyof DeploymentSettings;
export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

/** An IAM role ARN in any partition, with or without a path. */
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** An SQS queue ARN or an EventBridge bus ARN (the outcome feed's subscribers). */
export const SUBSCRIBER_ARN =
  /^arn:aws(?:-[a-z]+)*:(?:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}(?:\.fifo)?|events:[a-z0-9-]+:\d{12}:event-bus\/[\w.\-/]{1,256})$/;

/**
 * Context values come as numbers from cdk.json and as strings from `-c key=value`; a list comes
 * comma-separated (or as a JSON array from cdk.json).
 */
function coerce(key: SettingKey, raw: unknown): unknown {
  if (Array.isArray(DEFAULT_SETTINGS[key])) {
    return typeof raw === 'string'
      ? raw
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '')
      : raw;
  }
  const kind = typeof DEFAULT_SETTINGS[key];
  if (typeof raw !== 'string' || kind === 'string') return raw;
  if (kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

/** The settings (in context, or a MailDispatch's props) are wrong: every problem, one per entry (`message` joins them). */
export class InvalidSettingsError extends ConfigurationError {
  /** @param source what held them, for the message: `mail-dispatch context` or `MailDispatch props`. */
  constructor(
    readonly problems: readonly string[],
    source = 'mail-dispatch context',
  ) {
    super(`Invalid ${source}: ${problems.join('; ')}`);
    this.name = 'InvalidSettingsError';
  }
}

/** Context keys of CDK and its tools (not ours) that carry no `:`, `/` or `@`. */
const TOOL_CONTEXT_KEYS: readonly string[] = ['cli-telemetry', 'acknowledged-issue-numbers'];

/**
 * Context keys that are neither a setting nor CDK's own, each with the setting it was probably
 * meant to be. CDK and tool keys are namespaced (`@aws-cdk/…`, `aws:cdk:…`, lookups with `:`).
 */
export function unknownContextKeys(context: Record<string, unknown>): string[] {
  return unknownKeys(
    Object.keys(context).filter((key) => !/[:/@]/.test(key) && !TOOL_CONTEXT_KEYS.includes(key)),
    'key',
  );
}

/** Each of `keys` that is not a setting, with the setting it was probably meant to be (`what`: key, prop). */
export function unknownKeys(keys: readonly string[], what: string): string[] {
  return keys
    .filter((key) => !(SETTING_KEYS as readonly string[]).includes(key))
    .map((key) => {
      const near = closestSetting(key);
      return near
        ? `unknown ${what} ${key}: did you mean ${near}?`
        : `unknown ${what} ${key} (the ${what}s are ${SETTING_KEYS.join(', ')})`;
    });
}

/** The setting a misspelling most likely meant: same letters ignoring case, or at most 3 edits (fewer for short words). */
function closestSetting(key: string): SettingKey | undefined {
  let best: { key: SettingKey; distance: number } | undefined;
  for (const candidate of SETTING_KEYS) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.min(3, Math.floor(candidate.length / 3)) && (!best || distance < best.distance))
      best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? previous[j - 2] + 1 : Infinity;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1), swap);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Reads the settings from context, lets `overrides` win, and validates them together. Only
 * `bin/mail-dispatch.ts` reads context; a CDK app that embeds MailDispatch passes props instead.
 * @throws InvalidSettingsError listing every invalid or unknown key.
 */
export function readSettings(node: Node, overrides: Partial<DeploymentSettings> = {}): DeploymentSettings {
  const values: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const fromContext = node.tryGetContext(key);
    values[key] = overrides[key] ?? (fromContext === undefined ? undefined : coerce(key, fromContext));
  }
  // A misspelled key would otherwise be ignored and its setting left at the default, silently.
  return resolveSettings(values, unknownContextKeys(node.getAllContext() as Record<string, unknown>));
}

/**
 * The settings: `values` over DEFAULT_SETTINGS (an undefined value takes the default), normalised
 * (addresses, lists) and validated together: the context's path and MailDispatch's props share
 * every rule. `problemsSoFar` (e.g. unknown keys) are reported in the same error.
 * @throws InvalidSettingsError listing every problem (`source` names what held the settings).
 */
export function resolveSettings(
  values: Readonly<Partial<Record<SettingKey, unknown>>>,
  problemsSoFar: readonly string[] = [],
  source?: string,
): DeploymentSettings {
  const merged: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) merged[key] = values[key] === undefined ? DEFAULT_SETTINGS[key] : values[key];
  const problems = [...problemsSoFar];
  // Only the settings that have a range (lists, strings and booleans are checked below).
  const ranged = Object.fromEntries(
    Object.keys(RANGES)
      .filter((key) => key in merged)
      .map((key) => [key, merged[key]]),
  );
  problems.push(...rangeProblems(ranged));
  const from = typeof merged.fromAddress === 'string' ? parseRecipient(merged.fromAddress) : undefined;
  if (!from?.ok) problems.push(`fromAddress must be one bare e-mail address (got ${JSON.stringify(merged.fromAddress)})`);
  else merged.fromAddress = from.address;
  if (typeof merged.alarmEmail !== 'string') problems.push('alarmEmail must be a string');
  else if (merged.alarmEmail.trim() !== '') {
    const alarm = parseRecipient(merged.alarmEmail);
    if (!alarm.ok) problems.push(`alarmEmail must be empty or one bare e-mail address (got ${JSON.stringify(merged.alarmEmail)})`);
    else merged.alarmEmail = alarm.address;
  } else merged.alarmEmail = '';
  for (const key of ['createEmailIdentity', 'enableBackupPlan'] as const) {
    if (typeof merged[key] !== 'boolean') problems.push(`${key} must be true or false (got ${JSON.stringify(merged[key])})`);
  }
  const publishers = merged.publisherRoleArns;
  if (!Array.isArray(publishers) || publishers.some((arn) => typeof arn !== 'string')) {
    problems.push(`publisherRoleArns must be IAM role ARNs, comma-separated (got ${JSON.stringify(publishers)})`);
  } else {
    const invalid = publishers.filter((arn: string) => !ROLE_ARN.test(arn));
    if (invalid.length > 0)
      problems.push(
        `publisherRoleArns must be IAM role ARNs (arn:aws:iam::<account>:role/<name>); not one: ${invalid.map((arn) => JSON.stringify(arn)).join(', ')}`,
      );
    else merged.publisherRoleArns = [...new Set(publishers as string[])];
  }
  const subscribers = merged.outcomeSubscriberArns;
  if (!Array.isArray(subscribers) || subscribers.some((arn) => typeof arn !== 'string')) {
    problems.push(`outcomeSubscriberArns must be SQS queue or EventBridge bus ARNs, comma-separated (got ${JSON.stringify(subscribers)})`);
  } else {
    const invalid = subscribers.filter((arn: string) => !SUBSCRIBER_ARN.test(arn));
    if (invalid.length > 0)
      problems.push(
        `outcomeSubscriberArns must be SQS queue ARNs (arn:aws:sqs:<region>:<account>:<name>) or bus ARNs (arn:aws:events:<region>:<account>:event-bus/<name>); not one: ${invalid.map((arn) => JSON.stringify(arn)).join(', ')}`,
      );
    else merged.outcomeSubscriberArns = [...new Set(subscribers as string[])];
  }

  problems.push(...relatedSettingProblems(merged as RelatedSettings));
  // A batch that cannot finish in the function timeout hands its tail back unclaimed on every
  // receive (issue 12.6): safe, but those messages reach the DLQ without ever being tried.
  const batchTime = batchTimeProblem(merged as unknown as DeploymentSettings);
  if (batchTime) problems.push(batchTime);
  // The guard's ranges live beside its rule (lambdas/core/reputation.ts): one home for them.
  problems.push(
    ...checkReputationSettings({
      bounceRatePercent: merged.reputationBounceRatePercent as number,
      complaintRatePercent: merged.reputationComplaintRatePercent as number,
      windowSends: merged.reputationWindowSends as number,
    }).map((problem) => problem.replace(/^reputation (\w)/, (_, c: string) => `reputation${c.toUpperCase()}`)),
  );
  if (problems.length > 0) throw new InvalidSettingsError(problems, source);
  return merged as unknown as DeploymentSettings;
}

/** The domain part of a validated address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
