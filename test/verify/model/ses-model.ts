/**
 * SES v2 `SendEmail` with every answer the contract names. Which answer a call meets is the
 * scheduler's choice; whether SES kept the e-mail is part of the answer ("5xx having accepted").
 */
import { awsError } from './dynamo-model';

export const SesAnswer = {
  Accepted: 'accepted',
  Throttled: '429-throttled',
  Refused: '4xx-refused',
  NotConnected: 'connection-refused',
  ServerErrorAccepted: '5xx-having-accepted',
  ServerErrorNotAccepted: '5xx-having-not',
  TimeoutAccepted: 'timeout-having-accepted',
  TimeoutNotAccepted: 'timeout-having-not',
} as const;
export type SesAnswer = (typeof SesAnswer)[keyof typeof SesAnswer];

export const ALL_SES_ANSWERS: readonly SesAnswer[] = Object.values(SesAnswer);
/** Answers that leave the outcome unknown to the caller. */
export const AMBIGUOUS_SES_ANSWERS: ReadonlySet<string> = new Set([
  SesAnswer.ServerErrorAccepted,
  SesAnswer.ServerErrorNotAccepted,
  SesAnswer.TimeoutAccepted,
  SesAnswer.TimeoutNotAccepted,
]);

export interface Acceptance {
  readonly sesMessageId: string;
  readonly dispatchId?: string;
  readonly to: readonly string[];
  readonly at: number;
  readonly step: number;
  readonly actorId: string;
  /** The claim the sending actor held for this dispatchId when it sent (token). */
  readonly claimToken?: string;
  readonly answer: string;
}

/** Whether an answer means SES kept the e-mail. */
export function sesAccepted(answer: string): boolean {
  return answer === SesAnswer.Accepted || answer === SesAnswer.ServerErrorAccepted || answer === SesAnswer.TimeoutAccepted;
}

/** The error (or response) the SDK gives for an answer. */
export function sesResponse(answer: string, messageId: string): { MessageId: string } {
  switch (answer) {
    case SesAnswer.Accepted:
      return { MessageId: messageId };
    case SesAnswer.Throttled:
      throw awsError('TooManyRequestsException', 'Too many requests', 429);
    case SesAnswer.Refused:
      throw awsError('BadRequestException', 'Bad request', 400);
    case SesAnswer.NotConnected:
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' });
    case SesAnswer.ServerErrorAccepted:
    case SesAnswer.ServerErrorNotAccepted:
      // What the SDK makes of a 502 with an HTML body: name `Unknown`, the status kept.
      throw awsError('Unknown', 'UnknownError', 502);
    case SesAnswer.TimeoutAccepted:
    case SesAnswer.TimeoutNotAccepted:
      throw Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: {} });
    default:
      throw new Error(`unknown SES answer ${answer}`);
  }
}
