import { DISPATCH_ID_PATTERN, parseDispatchMessage, type DispatchMessageInput } from '../lambdas/core/message';
import { PublishFailure, type PublishRefused } from './publish-result';

/** A message ready for SQS: the exact body the dispatcher will parse. */
export interface SerialisedDispatch {
  readonly index: number;
  readonly dispatchId: string;
  readonly body: string;
  readonly bytes: number;
}

/**
 * SQS refuses bodies with characters outside XML 1.0's set. After `JSON.stringify` only U+FFFE and
 * U+FFFF can remain (control characters and lone surrogates are already escaped), and only inside
 * strings, where a `\uXXXX` escape is the same JSON value.
 */
const SQS_UNSAFE = /[\uFFFE\uFFFF]/g;

/**
 * Serialises one message and validates the body with the dispatcher's own parser, so a message
 * the dispatcher would reject is refused here, with the same reason and field, and never queued.
 */
export function serialiseDispatch(message: DispatchMessageInput, index: number): SerialisedDispatch | PublishRefused {
  let json: string | undefined;
  try {
    json = JSON.stringify(message);
  } catch {
    json = undefined; // circular structure, BigInt: not JSON, as the dispatcher would see it
  }
  if (json === undefined) {
    return refused(index, undefined, { reason: PublishFailure.InvalidJson, detail: 'message cannot be serialised as JSON' });
  }
  const body = json.replace(SQS_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  const parsed = parseDispatchMessage(body);
  if (!parsed.ok) {
    // A body too large is refused before it is parsed, so the parser recovers no id; the input still
    // has one, and the portal needs it to match the result to its message.
    const dispatchId = parsed.dispatchId ?? (parsed.reason === PublishFailure.TooLarge ? wellFormedDispatchId(message) : undefined);
    return refused(index, dispatchId, { reason: parsed.reason, field: parsed.field, detail: parsed.detail });
  }
  return { index, dispatchId: parsed.message.dispatchId, body, bytes: Buffer.byteLength(body, 'utf8') };
}

function refused(
  index: number,
  dispatchId: string | undefined,
  why: { readonly reason: PublishFailure; readonly field?: string; readonly detail: string },
): PublishRefused {
  return { index, dispatchId, ok: false, ...why, ...(why.field === undefined ? {} : { field: why.field }), retryable: false, attempts: 0 };
}

/** The input's dispatchId when it is well-formed (a malformed one is never echoed back). */
function wellFormedDispatchId(message: DispatchMessageInput): string | undefined {
  const id = (message as { dispatchId?: unknown } | null)?.dispatchId;
  return typeof id === 'string' && DISPATCH_ID_PATTERN.test(id) ? id : undefined;
}
