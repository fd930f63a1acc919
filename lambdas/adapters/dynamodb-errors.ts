import { StoreUnavailableError } from '../core/errors';

const THROTTLES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ThrottlingError',
  'LimitExceededException',
]);

/** True for the errors a DynamoDB caller may retry later (throttles, transient 5xx). */
export function isRetryableStoreError(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  return THROTTLES.has(e?.name ?? '') || (e?.$metadata?.httpStatusCode ?? 0) >= 500 || e?.$retryable !== undefined;
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
