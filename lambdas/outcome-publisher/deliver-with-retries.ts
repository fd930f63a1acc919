import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Tries of an entry the bus refused (throttled, internal error), the first included. @default 6 */
  readonly attempts?: number;
  /** First back-off; doubles each try, with full jitter. @default 100 */
  readonly baseDelayMs?: number;
}

/** The answer to one batch call: which of its entries (by position in the call) the bus refused. */
export type BatchCall<T> = (entries: readonly T[]) => Promise<readonly number[]>;

/**
 * Sends `entries` in calls of at most `maxPerCall`, in order, and tries refused entries again (a
 * partial failure such as PutEvents' `FailedEntryCount`, or a call that threw) with jittered
 * back-off. Returns the indexes still refused after every try.
 */
export async function deliverWithRetries<T>(
  entries: readonly T[],
  maxPerCall: number,
  call: BatchCall<T>,
  options: RetryOptions = {},
): Promise<number[]> {
  const attempts = options.attempts ?? 6;
  const base = options.baseDelayMs ?? 100;
  let pending = entries.map((_, index) => index);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const refused: number[] = [];
    for (let start = 0; start < pending.length; start += maxPerCall) {
      const chunk = pending.slice(start, start + maxPerCall);
      try {
        for (const position of await call(chunk.map((index) => entries[index]))) refused.push(chunk[position]);
      } catch {
        // Throttled or down: the whole call is refused; nothing in it is known to be delivered.
        refused.push(...chunk);
      }
    }
    pending = refused;
    if (pending.length === 0 || attempt >= attempts) break;
    await sleep(Math.random() * base * 2 ** (attempt - 1));
  }
  return pending;
}
