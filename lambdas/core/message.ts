// zod/mini: the same validation as classic zod at a tenth of the bundle (the Lambda ships it).
import * as z from 'zod/mini';
import { parseRecipient } from './address';
import { RejectReason } from './outcomes';
import { DISPATCH_REF_KEY, isTemplateName, TEMPLATES, type TemplateName } from './templates';

/** Largest accepted SQS body, in UTF-8 bytes (the classic SQS limit the contract names). */
export const MAX_BODY_BYTES = 256 * 1024;

export const DISPATCH_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const MEMBER_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The message contract (see docs and `docs/dispatch-message.schema.json`). Strict: an unknown
 * key (a `cc`, a second recipient) is a rejection, not something to ignore.
 */
export const dispatchMessageSchema = z.strictObject({
  dispatchId: z.string().check(z.regex(DISPATCH_ID_PATTERN, 'must be 1-128 characters of [A-Za-z0-9._:-]')),
  memberId: z.string().check(z.regex(MEMBER_ID_PATTERN, 'must be 1-64 characters of [A-Za-z0-9._-]')),
  /** Checked here; `parseDispatchMessage` returns it normalised. */
  to: z.string().check(z.refine((value) => parseRecipient(value).ok, 'must be one bare address')),
  template: z.string().check(z.minLength(1), z.maxLength(128)),
  data: z._default(z.record(z.string(), z.string()), {}),
  requestedAt: z.optional(z.iso.datetime({ offset: true })),
});

/** What the portal publishes (input side: `data` may be omitted). */
export type DispatchMessageInput = z.input<typeof dispatchMessageSchema>;

/** A validated message: `to` is normalised, `template` is on the allow-list, `data` fits it. */
export type DispatchMessage = Omit<z.output<typeof dispatchMessageSchema>, 'template'> & {
  readonly template: TemplateName;
};

export type MessageParse =
  | { readonly ok: true; readonly message: DispatchMessage }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      /** The offending field, for `invalid-message`. */
      readonly field?: string;
      /** Why, in words safe to log: never the field's value. */
      readonly detail: string;
      /** Identifiers recovered from a rejected body when they are well-formed (for the ledger). */
      readonly dispatchId?: string;
      readonly memberId?: string;
    };

/** Parses and validates one SQS body. Never throws. */
export function parseDispatchMessage(body: string): MessageParse {
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    return { ok: false, reason: RejectReason.TooLarge, detail: `body is larger than ${MAX_BODY_BYTES} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: RejectReason.InvalidJson, detail: 'body is not JSON' };
  }
  const ids = recoverIds(json);
  const result = dispatchMessageSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.length ? String(issue.path[0]) : (unknownKeyOf(issue) ?? 'body');
    return { ok: false, reason: RejectReason.InvalidMessage, field, detail: describeIssue(issue, field, json), ...ids };
  }
  const recipient = parseRecipient(result.data.to);
  const message = { ...result.data, to: recipient.ok ? recipient.address : result.data.to };
  if (!isTemplateName(message.template)) {
    return { ok: false, reason: RejectReason.UnknownTemplate, field: 'template', detail: 'template is not on the allow-list', ...ids };
  }
  const fields: Record<string, { maxLength: number; required?: boolean }> = TEMPLATES[message.template].fields;
  for (const [key, value] of Object.entries(message.data)) {
    const spec = key === DISPATCH_REF_KEY ? undefined : fields[key];
    if (!spec)
      return {
        ok: false,
        reason: RejectReason.InvalidMessage,
        field: 'data',
        detail: `data has a key the template does not accept`,
        ...ids,
      };
    if (value.length > spec.maxLength) {
      return {
        ok: false,
        reason: RejectReason.InvalidMessage,
        field: 'data',
        detail: `data value is longer than ${spec.maxLength}`,
        ...ids,
      };
    }
  }
  const missing = Object.entries(fields).find(([key, spec]) => spec.required && !(key in message.data));
  if (missing) return { ok: false, reason: RejectReason.InvalidMessage, field: 'data', detail: 'data misses a required key', ...ids };
  return { ok: true, message: { ...message, template: message.template } };
}

function recoverIds(json: unknown): { dispatchId?: string; memberId?: string } {
  if (typeof json !== 'object' || json === null) return {};
  const { dispatchId, memberId } = json as Record<string, unknown>;
  return {
    ...(typeof dispatchId === 'string' && DISPATCH_ID_PATTERN.test(dispatchId) ? { dispatchId } : {}),
    ...(typeof memberId === 'string' && MEMBER_ID_PATTERN.test(memberId) ? { memberId } : {}),
  };
}

/**
 * The issue in words, never the value. zod/mini carries no messages ("Invalid input" for all), so
 * the kinds a publisher meets are said here: an unknown field by name, a missing one, a wrong type.
 */
function describeIssue(issue: z.core.$ZodIssue | undefined, field: string, json: unknown): string {
  if (!issue) return `${field} is invalid`;
  if (issue.code === 'unrecognized_keys') return field === 'body' ? 'body has an unknown field' : `unknown field ${field}`;
  if (issue.code === 'invalid_type') {
    const present = typeof json === 'object' && json !== null && (json as Record<string, unknown>)[field] !== undefined;
    if (!present && issue.path.length === 1) return `${field} is required`;
    const expected = issue.expected === 'record' ? 'object' : String(issue.expected);
    return `${field} must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
  }
  if (issue.message && issue.message !== 'Invalid input') return `${field} ${issue.message}`;
  if (issue.code === 'invalid_format')
    return `${field} is not a valid ${issue.format === 'datetime' ? 'ISO 8601 date-time with an offset' : issue.format}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') return `${field} is too ${issue.code === 'too_small' ? 'short' : 'long'}`;
  return `${field} is invalid`;
}

/** An unknown key's name is reported only when it looks like a field name: a key is publisher data too. */
function unknownKeyOf(issue: z.core.$ZodIssue | undefined): string | undefined {
  if (issue?.code !== 'unrecognized_keys') return undefined;
  const key = issue.keys[0];
  return key !== undefined && /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(key) ? key : 'body';
}
