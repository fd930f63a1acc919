import { SES_TIMEOUTS } from '../adapters/sesv2-mail-sender';

/** The dispatcher function's timeout, seconds (the stack deploys it; lib/settings.ts checks a batch fits it). */
export const DISPATCHER_TIMEOUT_SECONDS = 30;

/**
 * The time one message needs once it is claimed, so that a Lambda timeout can never land between a
 * claim and its send or settle (issue 12.6): a claim made without this much time left could apply
 * and then be cut off before SendEmail, a never-sent message that ends in-doubt.
 *
 * - claim: one TransactWriteItems, with the SDK's own retries of a throttled call (DynamoDB answers
 *   in milliseconds; 2 s covers three attempts and their back-off);
 * - send: the SES client's connection timeout plus its request timeout (issue 20.4), the longest a
 *   SendEmail can take before it ends as refused or in-doubt;
 * - settle: the ledger write after the send, up to four tries with 100 + 200 + 400 ms of back-off
 *   (`settleWithRetries`), 2 s.
 */
export const ATTEMPT_BUDGET = {
  claimMs: 2_000,
  sendMs: SES_TIMEOUTS.connectionTimeoutMs + SES_TIMEOUTS.requestTimeoutMs,
  settleMs: 2_000,
} as const;

/** claim + send + settle: the time an invocation must have left to claim one more message. @default 11 s */
export const ATTEMPT_BUDGET_MS = ATTEMPT_BUDGET.claimMs + ATTEMPT_BUDGET.sendMs + ATTEMPT_BUDGET.settleMs;

/** What decides whether one full batch fits the function timeout. */
export interface BatchTimeSettings {
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly maxSendRatePerSecond: number;
}

/**
 * Why one full batch cannot finish inside the function timeout, or undefined when it can. Each of
 * the `maxConcurrency` environments paces to `maxSendRatePerSecond / maxConcurrency`, so a batch
 * waits up to `batchSize × maxConcurrency / maxSendRatePerSecond` seconds for its send slots, and
 * its last message then needs the attempt budget. A batch that does not fit is not unsafe (what is
 * left is handed back unclaimed), but every hand-back is a receive: messages would reach the DLQ
 * after `maxReceiveCount` batches without ever being tried.
 */
export function batchTimeProblem(settings: BatchTimeSettings, timeoutSeconds = DISPATCHER_TIMEOUT_SECONDS): string | undefined {
  const { batchSize, maxConcurrency, maxSendRatePerSecond: rate } = settings;
  if (![batchSize, maxConcurrency, rate].every((n) => Number.isFinite(n) && n > 0)) return undefined;
  const pacingSeconds = (batchSize * maxConcurrency) / rate;
  const budgetSeconds = ATTEMPT_BUDGET_MS / 1000;
  if (pacingSeconds + budgetSeconds <= timeoutSeconds) return undefined;
  const spare = timeoutSeconds - budgetSeconds;
  const fixes = [`raise maxSendRatePerSecond to at least ${Math.ceil((batchSize * maxConcurrency) / spare)} if the SES quota allows`];
  const maxBatch = Math.floor((spare * rate) / maxConcurrency);
  if (maxBatch >= 1) fixes.unshift(`lower batchSize to at most ${maxBatch}`);
  const maxEnvironments = Math.floor((spare * rate) / batchSize);
  if (maxEnvironments >= 2) fixes.unshift(`lower maxConcurrency to at most ${maxEnvironments}`);
  return (
    `one batch cannot finish in the dispatcher's ${timeoutSeconds} s timeout: batchSize (${batchSize}) × maxConcurrency (${maxConcurrency}) / ` +
    `maxSendRatePerSecond (${rate}) = ${round(pacingSeconds)} s of pacing, plus ${budgetSeconds} s for the last message's claim, send and settle; ` +
    fixes.join(', or ')
  );
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
