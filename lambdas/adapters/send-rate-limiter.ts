/**
 * Spaces sends so one execution environment stays under its share of the SES account rate
 * (`maxSendRate / maxConcurrency`). Calls queue in arrival order; no burst beyond one token.
 */
export class SendRateLimiter {
  private next = 0;
  private readonly intervalMs: number;

  /** @param perSecond sends per second; 0 or Infinity disables the limit */
  constructor(perSecond: number, private readonly clock: () => number = Date.now) {
    this.intervalMs = perSecond > 0 && Number.isFinite(perSecond) ? 1000 / perSecond : 0;
  }

  async acquire(): Promise<void> {
    if (this.intervalMs === 0) return;
    const now = this.clock();
    const slot = Math.max(now, this.next);
    this.next = slot + this.intervalMs;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }
}
