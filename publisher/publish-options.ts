import type { SQSClient } from '@aws-sdk/client-sqs';

export interface PublishOptions {
  /** The dispatch queue (stack output `QueueUrl`). */
  readonly queueUrl: string;
  /** @default one client per process, built from the environment (region, credentials, endpoint) */
  readonly client?: SQSClient;
  /**
   * SendMessageBatch calls per message, the first included. Only entries SQS failed on its side
   * (`SenderFault: false`, throttling, 5xx, network) are tried again; the SDK's own retries of
   * one call come on top.
   * @default 4
   */
  readonly maxAttempts?: number;
  /** First retry delay; each further one doubles, with full jitter, up to 5 s. @default 100 */
  readonly baseDelayMs?: number;
  /** SendMessageBatch calls in flight at once. @default 4 */
  readonly concurrency?: number;
}

export const PUBLISH_DEFAULTS = {
  maxAttempts: 4,
  baseDelayMs: 100,
  concurrency: 4,
} as const satisfies Partial<PublishOptions>;

/** Most entries in one SendMessageBatch. */
export const MAX_BATCH_ENTRIES = 10;
/** Most bytes of message bodies in one SendMessageBatch (the classic SQS payload limit). */
export const MAX_BATCH_BYTES = 256 * 1024;
/** Longest retry delay. */
export const MAX_RETRY_DELAY_MS = 5_000;
