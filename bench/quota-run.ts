import { Env } from '../lambdas/tables';
import type { EmbeddedAws } from '../local/embedded-aws';
import type { SesQuotaStats } from '../local/ses-quota';
import { benchMessages } from './messages';
import { percentile } from './stats';
import type { SideRun, ThroughputBench } from './throughput';

/**
 * Each execution environment's share of the account's send rate, as the stack gives it to the
 * dispatcher (`MAX_SENDS_PER_SECOND` in lib/constructs/dispatcher.ts: rounded down to 1/1000).
 */
export function perEnvironmentSendRate(maxSendRatePerSecond: number, maxConcurrency: number): number {
  return Math.floor((maxSendRatePerSecond / maxConcurrency) * 1000) / 1000;
}

/** The quota run's figures (issue 17.2). */
export interface QuotaFigures {
  /** The SES quota Q, e-mails per second. */
  readonly quota: number;
  readonly burst: number;
  /** Pollers (the event source's maxConcurrency) and each one's pacing. */
  readonly concurrency: number;
  readonly perEnvironmentRate: number;
  readonly backlog: number;
  /** Distinct e-mails SES accepted. */
  readonly accepted: number;
  /** SendEmail calls answered 429. */
  readonly throttled: number;
  /**
   * Whether the whole backlog was sent within the run's cap (1.1 × backlog / Q). When not,
   * `drainSeconds` is projected from the rate achieved: backlog / acceptedPerSecond.
   */
  readonly drained: boolean;
  /** Length of the measured run (the drain, or up to the cap). */
  readonly runSeconds: number;
  /** From the pollers' start to the backlog's last delete (projected when not drained). */
  readonly drainSeconds: number;
  /** backlog / Q: the drain if every second carried Q sends. */
  readonly idealDrainSeconds: number;
  /** drainSeconds / idealDrainSeconds − 1 (goal within ±5 %). */
  readonly drainOverIdeal: number;
  readonly acceptedPerSecond: number;
  /** acceptedPerSecond / Q (goal ≥ 0.95). */
  readonly quotaUtilisation: number;
  /** throttled / (accepted + throttled) SendEmail calls (goal ≤ 1 %). */
  readonly throttledShare: number;
}

/**
 * Reduces a drain of `backlog` messages under quota `stats` to the figures: `accepted` e-mails in
 * `runSeconds` (all of the backlog when `drained`). Pure.
 */
export function quotaFigures(input: {
  readonly stats: SesQuotaStats;
  readonly concurrency: number;
  readonly backlog: number;
  readonly accepted: number;
  readonly runSeconds: number;
  readonly drained: boolean;
}): QuotaFigures {
  const { stats, backlog, accepted, runSeconds, drained } = input;
  const idealDrainSeconds = backlog / stats.perSecond;
  const acceptedPerSecond = runSeconds > 0 ? accepted / runSeconds : 0;
  const drainSeconds = drained ? runSeconds : acceptedPerSecond > 0 ? backlog / acceptedPerSecond : Number.POSITIVE_INFINITY;
  const calls = stats.accepted + stats.throttled;
  return {
    quota: stats.perSecond,
    burst: stats.burst,
    concurrency: input.concurrency,
    perEnvironmentRate: perEnvironmentSendRate(stats.perSecond, input.concurrency),
    backlog,
    accepted,
    throttled: stats.throttled,
    drained,
    runSeconds,
    drainSeconds,
    idealDrainSeconds,
    drainOverIdeal: drainSeconds / idealDrainSeconds - 1,
    acceptedPerSecond,
    quotaUtilisation: acceptedPerSecond / stats.perSecond,
    throttledShare: calls > 0 ? stats.throttled / calls : 0,
  };
}

/** Publish → SES acceptance at half the quota (issue 17.3). */
export interface LatencyFigures {
  readonly publishPerSecond: number;
  readonly messages: number;
  /** E-mails accepted (and timed); fewer than `messages` when the run hit its cap: the percentiles are then lower bounds. */
  readonly measured: number;
  readonly throttled: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function latencyFigures(
  latenciesMs: readonly number[],
  publishPerSecond: number,
  messages: number,
  throttled: number,
): LatencyFigures {
  if (latenciesMs.length === 0) throw new RangeError('The latency run measured no e-mail');
  return {
    publishPerSecond,
    messages,
    measured: latenciesMs.length,
    throttled,
    p50: percentile(latenciesMs, 50),
    p95: percentile(latenciesMs, 95),
    p99: percentile(latenciesMs, 99),
    max: Math.max(...latenciesMs),
  };
}

export interface QuotaRunOptions {
  readonly quota: number;
  /** @default max(1, quota / 10): see local/ses-quota.ts */
  readonly burst?: number;
  readonly concurrency: number;
  readonly backlog: number;
  readonly latencySeconds: number;
  readonly progress?: (line: string) => void;
}

export interface QuotaRunResult {
  readonly quota: QuotaFigures;
  readonly latency: LatencyFigures;
  readonly runs: SideRun[];
}

/**
 * The pipeline against the SES quota, on the same poller and emulators as the throughput runs:
 * a backlog drained under quota Q with the deployed pacing (Q / maxConcurrency per environment),
 * then a stream published at Q / 2 for `latencySeconds`, each e-mail timed publish → acceptance.
 */
export async function runQuotaAndLatency(bench: ThroughputBench, aws: EmbeddedAws, options: QuotaRunOptions): Promise<QuotaRunResult> {
  const { quota, concurrency } = options;
  const settings = { perSecond: quota, ...(options.burst === undefined ? {} : { burst: options.burst }) };
  const env = { [Env.maxSendsPerSecond]: String(perEnvironmentSendRate(quota, concurrency)) };
  const log = options.progress ?? (() => undefined);

  const backlog = benchMessages('quota', options.backlog);
  const half = quota / 2;
  const stream = benchMessages('latency', Math.round(half * options.latencySeconds));
  log(`registering ${backlog.length + stream.length} members for the quota and latency runs`);
  await bench.register([...backlog, ...stream]);

  const idealSeconds = options.backlog / quota;
  // A machine too slow for Q would take the bench past its 10 minutes: the drain stops at 1.1 × the
  // ideal (the goal is within 5 % of it: a drain still running then has missed it, by a projected margin).
  const drain = await bench.run('pipeline', {
    messages: backlog,
    env,
    concurrency,
    label: `quota drain (Q ${quota}/s, ${concurrency} pollers at ${env[Env.maxSendsPerSecond]}/s)`,
    beforeMeasuring: async () => void (await aws.setSesQuota(settings)),
    maxSeconds: Math.max(60, idealSeconds * 1.1),
    timeoutMs: Math.max(120_000, idealSeconds * 3000),
  });
  const drainStats = await aws.setSesQuota(undefined);
  if (!drainStats) throw new Error('The SES quota was not in place during the drain');

  const latencyRun = await bench.run('pipeline', {
    messages: stream,
    env,
    concurrency,
    recordAcceptance: true,
    publishPerSecond: half,
    label: `latency at Q/2 (${half}/s)`,
    beforeMeasuring: async () => void (await aws.setSesQuota(settings)),
    maxSeconds: options.latencySeconds + 15,
    timeoutMs: Math.max(120_000, options.latencySeconds * 3000),
  });
  const latencyStats = await aws.setSesQuota(undefined);

  return {
    quota: quotaFigures({
      stats: drainStats,
      concurrency,
      backlog: options.backlog,
      // Cut at the cap: what was sent (deleted) by then; the in-flight rest finished after it.
      accepted: drain.cutAt ? drain.cutAt.deleted : drain.sesStored,
      runSeconds: drain.seconds,
      drained: !drain.cutAt,
    }),
    latency: latencyFigures(latencyRun.latenciesMs ?? [], half, stream.length, latencyStats?.throttled ?? 0),
    runs: [drain, latencyRun],
  };
}
