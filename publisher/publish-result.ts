import { RejectReason } from '../lambdas/core/outcomes';

/**
 * Why a message was not accepted by SQS. The contract's rejection reasons (the very ones the
 * dispatcher would record) come first; the last two are about SQS itself.
 */
export const PublishFailure = {
  ...RejectReason,
  /** SQS refused the entry as the caller's fault (`SenderFault: true`, or a client error such as `AccessDenied`). */
  SqsRefused: 'sqs-refused',
  /** SQS kept failing on its side (server fault, throttling, network) through every attempt. */
  SqsUnavailable: 'sqs-unavailable',
} as const;
export type PublishFailure = (typeof PublishFailure)[keyof typeof PublishFailure];

/** SQS took the message: the dispatcher will see it. */
export interface PublishAccepted {
  /** Position of the message in the input. */
  readonly index: number;
  readonly dispatchId: string;
  readonly ok: true;
  /** The SQS message id. */
  readonly messageId: string;
  /** SendMessageBatch calls this entry took (1 = no retry). */
  readonly attempts: number;
}

/** The message is not in the queue. */
export interface PublishRefused {
  readonly index: number;
  /** `undefined` when the input had no well-formed dispatchId (it is never echoed back malformed). */
  readonly dispatchId: string | undefined;
  readonly ok: false;
  readonly reason: PublishFailure;
  /** The offending field, for `invalid-message` and `unknown-template` (the dispatcher's own). */
  readonly field?: string;
  /** Why, in words safe to log: never a field's value. */
  readonly detail: string;
  /** The SQS error code, for the `sqs-*` reasons. */
  readonly code?: string;
  /** Publishing the same message again later may succeed (only `sqs-unavailable`). */
  readonly retryable: boolean;
  /** SendMessageBatch calls this entry took (0 = refused before SQS). */
  readonly attempts: number;
}

/** One result per input message, in input order: nothing is silently dropped. */
export type PublishResult = PublishAccepted | PublishRefused;
