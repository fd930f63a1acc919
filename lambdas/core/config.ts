import { DEFAULTS, FUNCTION_RANGES, rangeProblems } from './defaults';
import { ConfigurationError } from './errors';

/** Settings of one deployment; every key has a safe default. */
export interface DispatchConfig {
  /** Distinct members allowed per address per window. @default 3 */
  readonly fanInLimit: number;
  /** Length of the fan-in window. @default 86400 (one day) */
  readonly fanInWindowSeconds: number;
  /** Messages per handler invocation. @default 10 */
  readonly batchSize: number;
  /** Receives before SQS moves a message to the DLQ. @default 5 */
  readonly maxReceiveCount: number;
  /**
   * Messages of one batch worked on at once. Each message is claimed just before its send (never
   * ahead: issue 12.1), so an invocation that dies leaves at most the messages it was sending in
   * doubt: one at 1, up to this many above. At 1 the previous message's `sent` write may still be
   * in flight (`PendingSettles`): one more e-mail SES accepted may be left in-doubt, and its SES
   * Send event reconciles it to sent. One invocation sends 10-20 e-mails/s one at a time;
   * scale with the event source's maxConcurrency first.
   * @default 1
   */
  readonly handlerConcurrency: number;
  /**
   * How long a claim counts as a live attempt. A claim older than this (or one whose SQS
   * message was received again) belongs to an attempt that died: its outcome is unknown.
   * @default 60 (seconds; the function timeout is 30 s)
   */
  readonly claimLeaseSeconds: number;
}

export const DEFAULT_CONFIG: DispatchConfig = {
  fanInLimit: DEFAULTS.fanInLimit,
  fanInWindowSeconds: DEFAULTS.fanInWindowSeconds,
  batchSize: DEFAULTS.batchSize,
  maxReceiveCount: DEFAULTS.maxReceiveCount,
  handlerConcurrency: DEFAULTS.handlerConcurrency,
  claimLeaseSeconds: DEFAULTS.claimLeaseSeconds,
};

/** Fills defaults and reports every out-of-range or unknown key in one error (ranges: FUNCTION_RANGES). */
export function resolveConfig(partial: Partial<Record<keyof DispatchConfig, unknown>> = {}): DispatchConfig {
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(partial)) if (value !== undefined) merged[key] = value;
  const known = Object.fromEntries(Object.keys(DEFAULT_CONFIG).map((key) => [key, merged[key]]));
  const problems = rangeProblems(known, FUNCTION_RANGES);
  const unknown = Object.keys(partial).filter((key) => !(key in DEFAULT_CONFIG));
  problems.push(...unknown.map((key) => `unknown setting ${key}`));
  if (problems.length > 0) throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`);
  return merged as unknown as DispatchConfig;
}
