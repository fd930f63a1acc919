import { setTimeout as sleep } from 'node:timers/promises';
import type { SendPacer } from '../ports';

export interface SendRateLimiterOptions {
  /** Base of the jittered exponential back-off after a refused send, in ms. @default 100 */
  readonly backoffMs?: number;
}

/**
 * Spaces sends so one execution environment stays under its share of the SES account rate
 * (`maxSendRate / maxConcurrency`). Calls queue in arrival order; no burst beyond one token.
 */
export class SendRateLimiter implements SendPacer {
  private next = 0;
  private readonly intervalMs: number;

  /** @param perSecond sends per second; 0 or Infinity disables the limit */
  constructor(
    perSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly options: SendRateLimiterOptions = {},
  ) {
    this.intervalMs = perSecond > 0 && Number.isFinite(perSecond) ? 1000 / perSecond : 0;
  }

  async acquire(maxWaitMs = Infinity): Promise<boolean> {
    if (this.intervalMs === 0) return maxWaitMs >= 0;
    const now = this.clock();
    const slot = Math.max(now, this.next);
    // Refused before waiting, and the slot stays free for the next caller.
    if (slot - now > maxWaitMs || maxWaitMs < 0) return false;
    this.next = slot + this.intervalMs;
    // The global timer (not timers/promises), so tests with fake timers can drive it.
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
    return true;
  }

  async backoff(attempt: number): Promise<void> {
    await sleep((this.options.backoffMs ?? 100) * 2 ** (attempt - 1) * (0.5 + Math.random()));
  }
}
