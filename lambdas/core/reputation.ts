/**
 * The reputation guard's rule, pure: the pipeline's own bounce and complaint rates over its last
 * sends, and which alarms pause the pipeline for reputation. AWS reviews an SES account at a 5 %
 * bounce rate or a 0.1 % complaint rate and may pause it at 10 % / 0.5 %; the guard acts below.
 */
import { PauseReason } from './outcomes';

/** The two rates the guard watches (the `Rate` dimension of `ReputationBreached`). */
export const ReputationRate = {
  Bounce: 'bounce',
  Complaint: 'complaint',
} as const;
export type ReputationRate = (typeof ReputationRate)[keyof typeof ReputationRate];

export interface ReputationSettings {
  /** Hard (permanent) bounces per 100 sends at which the guard pauses. @default 4 */
  readonly bounceRatePercent: number;
  /** Complaints per 100 sends at which the guard pauses. @default 0.08 */
  readonly complaintRatePercent: number;
  /**
   * The sends a rate is measured over: the rate counts only once this many were sent, and
   * covers the last `windowSends` to `2 × windowSends` sends (the current window and the one before). @default 2000
   */
  readonly windowSends: number;
}

export const REPUTATION_DEFAULTS: ReputationSettings = { bounceRatePercent: 4, complaintRatePercent: 0.08, windowSends: 2000 };

/** Deployable ranges: both thresholds stay below AWS's review rates (5 %, 0.1 %). */
export const REPUTATION_RANGES = {
  bounceRatePercent: { min: 0.5, max: 4.9 },
  complaintRatePercent: { min: 0.01, max: 0.09 },
  windowSends: { min: 100, max: 1_000_000 },
} as const satisfies Record<keyof ReputationSettings, { min: number; max: number }>;

/**
 * The guard's counters (one ledger item): the current window of sends and the one before it.
 * A window closes when it reaches `windowSends` sends and becomes `previous`.
 */
export interface ReputationCounts {
  readonly sends: number;
  readonly bounces: number;
  readonly complaints: number;
  readonly previous: { readonly sends: number; readonly bounces: number; readonly complaints: number };
}

export interface ReputationMeasure {
  /** Sends the rates are over (current and previous window together). */
  readonly sends: number;
  readonly bounceRatePercent: number;
  readonly complaintRatePercent: number;
  /** Rates at or above their threshold, over at least `windowSends` sends. */
  readonly breaches: readonly ReputationRate[];
}

/**
 * The rates over the sends the counters hold. Below `windowSends` sends nothing breaches: a few
 * bounces among the first sends of a new deployment are noise, and AWS too judges over volume.
 */
export function measureReputation(counts: ReputationCounts, settings: ReputationSettings): ReputationMeasure {
  const sends = counts.sends + counts.previous.sends;
  const bounces = counts.bounces + counts.previous.bounces;
  const complaints = counts.complaints + counts.previous.complaints;
  const percent = (n: number) => (sends === 0 ? 0 : (100 * n) / sends);
  const bounceRatePercent = percent(bounces);
  const complaintRatePercent = percent(complaints);
  const breaches: ReputationRate[] = [];
  if (sends >= settings.windowSends) {
    if (bounceRatePercent >= settings.bounceRatePercent) breaches.push(ReputationRate.Bounce);
    if (complaintRatePercent >= settings.complaintRatePercent) breaches.push(ReputationRate.Complaint);
  }
  return { sends, bounceRatePercent, complaintRatePercent, breaches };
}

/** Problems with reputation settings, one per entry (empty when valid). */
export function checkReputationSettings(settings: ReputationSettings): string[] {
  return (Object.keys(REPUTATION_RANGES) as (keyof ReputationSettings)[]).flatMap((key) => {
    const { min, max } = REPUTATION_RANGES[key];
    const value = settings[key];
    const integer = key === 'windowSends';
    const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
    return ok
      ? []
      : [`reputation ${key} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${JSON.stringify(value)})`];
  });
}

/**
 * The reputation alarms, by the short name the stack gives them (`<stack>-<name>`), and the pause
 * reason each makes the breaker record. The pipeline's own rates come from the feedback
 * function's `ReputationBreached` metric; SES's account-level ones from `AWS/SES`.
 */
export const REPUTATION_ALARMS = {
  BounceRate: PauseReason.BounceRate,
  ComplaintRate: PauseReason.ComplaintRate,
  SesAccountBounceRate: PauseReason.BounceRate,
  SesAccountComplaintRate: PauseReason.ComplaintRate,
} as const;
export type ReputationAlarm = keyof typeof REPUTATION_ALARMS;

/** The pause reason of an alarm the breaker acts on: a reputation alarm's own, otherwise `alarm`. */
export function pauseReasonOfAlarm(alarmName: string): string {
  const short = alarmName.slice(alarmName.lastIndexOf('-') + 1) as ReputationAlarm;
  return Object.hasOwn(REPUTATION_ALARMS, short) ? REPUTATION_ALARMS[short] : PauseReason.Alarm;
}
