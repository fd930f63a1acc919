import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUnavailableError } from '../core/errors';

const THROTTLES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ThrottlingError',
  'LimitExceededException',
]);

/**
 * A single write on an item an ongoing transaction holds. Nothing was written, and the SDK does
 * not retry it (it is in none of smithy's retryable codes): the caller must.
 */
const TRANSACTION_CONFLICT = 'TransactionConflictException';

/** Cancellation reason codes that say "contention, nothing wrong with the request": try again later. */
const CONTENTION_CODES = new Set(['TransactionConflict', 'ThrottlingError']);

/** What a `TransactionCanceledException` says, read from its `CancellationReasons` (one per item, in order). */
export type Cancellation =
  /** At least one condition failed: that is an answer, not a reason to try again. */
  | { readonly kind: 'condition'; readonly codes: readonly string[] }
  /** Only contention (another transaction, a throttle): nothing was written, the same request may succeed. */
  | { readonly kind: 'contention'; readonly codes: readonly string[]; readonly throttled: boolean }
  /** Anything else (a validation error, an item too large, no reasons at all): never guessed as either. */
  | { readonly kind: 'other'; readonly codes: readonly string[] };

/** Reads a transaction's cancellation; `undefined` when the error is not one. */
export function classifyCancellation(error: unknown): Cancellation | undefined {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name !== 'TransactionCanceledException') return undefined;
  const codes = (e.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
  const problems = codes.filter((code) => code !== 'None');
  if (problems.includes('ConditionalCheckFailed')) return { kind: 'condition', codes };
  if (problems.length > 0 && problems.every((code) => CONTENTION_CODES.has(code))) {
    return { kind: 'contention', codes, throttled: problems.includes('ThrottlingError') };
  }
  return { kind: 'other', codes };
}

/** True for the errors a DynamoDB caller may retry later (throttles, transient 5xx, contention). */
export function isRetryableStoreError(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = e?.name ?? '';
  return (
    THROTTLES.has(name) ||
    name === TRANSACTION_CONFLICT ||
    classifyCancellation(error)?.kind === 'contention' ||
    (e?.$metadata?.httpStatusCode ?? 0) >= 500 ||
    e?.$retryable !== undefined
  );
}

/** Wraps an SDK error with `cause`, turning retryable ones into `StoreUnavailableError`. */
export function wrapStoreError(operation: string, error: unknown): Error {
  const name = (error as { name?: string })?.name ?? 'Error';
  if (isRetryableStoreError(error)) return new StoreUnavailableError(`DynamoDB ${operation} unavailable (${name})`, { cause: error });
  return new Error(`DynamoDB ${operation} failed (${name})`, { cause: error });
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/**
 * Full-jitter exponential back-off for contention: a transaction conflict clears in milliseconds
 * (the other transaction commits), a throttle needs longer (capacity to scale or refill).
 */
export function contentionDelayMs(attempt: number, throttled: boolean): number {
  const base = throttled ? 50 : 10;
  return Math.random() * Math.min(1000, base * 2 ** attempt);
}

/**
 * Sends a single write, trying again with back-off while it meets an ongoing transaction
 * (`TransactionConflictException`); other errors, and the last conflict, are thrown as they are.
 */
export async function sendRetryingConflicts<T>(send: () => Promise<T>, tries = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if ((error as { name?: string })?.name !== TRANSACTION_CONFLICT || attempt >= tries) throw error;
      await sleep(contentionDelayMs(attempt, false));
    }
  }
}
