/**
 * The outcome feed's contract: one event per change of a dispatch's ledger record, as the portal
 * receives it from the EventBridge bus (`source` `mail-dispatch`, `detail-type` `Dispatch Outcome`).
 * Identifiers, states, reasons and times only: never an address, an address hash or template data.
 */
import { z } from 'zod';
import { OutcomeEventType } from './outcomes';

export const OUTCOME_EVENT_SOURCE = 'mail-dispatch';
export const OUTCOME_EVENT_DETAIL_TYPE = 'Dispatch Outcome';
/** Bumped only for a change a consumer must handle; new optional fields keep it. */
export const OUTCOME_EVENT_SCHEMA_VERSION = 1;

/**
 * A value copied from the ledger into an event: identifier-like (no `@`, no spaces), and no run of
 * 32 hex digits (an address hash looks like that), so it cannot carry an address or its hash.
 */
const SAFE_VALUE = /^(?!.*[0-9a-fA-F]{32})[A-Za-z0-9._:+=/#-]{1,200}$/;
/** An event name: the ones below, or one a newer ledger writer adds (e.g. a recipient's report). */
export const EVENT_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const iso = z.iso.datetime({ offset: true });
const safe = z.string().regex(SAFE_VALUE);

export const KNOWN_OUTCOME_EVENTS = Object.values(OutcomeEventType) as [OutcomeEventType, ...OutcomeEventType[]];

export const outcomeEventDetailSchema = z
  .object({
    schemaVersion: z.literal(OUTCOME_EVENT_SCHEMA_VERSION),
    outcomeId: z
      .string()
      .regex(/^[A-Za-z0-9._:#-]{1,200}$/)
      .describe(
        'Stable id of this event: the ledger record key and its version. The same change is always the same id: deduplicate on it.',
      ),
    version: z
      .number()
      .int()
      .positive()
      .describe("The record's version this event describes (1 = its first ledger write); orders one dispatch's events."),
    dispatchId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/)
      .nullable()
      .describe('null for a rejected body that had no readable dispatchId.'),
    memberId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .nullable(),
    event: z
      .union([z.enum(KNOWN_OUTCOME_EVENTS), z.string().regex(EVENT_NAME)])
      .describe(
        'A dispatch state the ledger recorded (sent, blocked, rejected, duplicate, in-doubt, failed) or what SES reported after accepting ' +
          '(delivered, bounced, complained, ses-rejected, delayed). Consumers must accept (and may ignore) names added later.',
      ),
    reason: safe
      .optional()
      .describe(
        'blocked/rejected/failed: the reason; bounced: permanent | transient | undetermined; ses-rejected: reject | rendering-failure.',
      ),
    field: safe.optional().describe('rejected invalid-message: the offending field.'),
    template: safe.optional(),
    at: iso.describe('When it happened (for SES events: when SES says so).'),
    recordedAt: iso.optional().describe('When the ledger recorded an SES event.'),
    claimedAt: iso.optional(),
    sentAt: iso.optional(),
    sqsMessageId: safe.optional().describe('The SQS message (the publish) this outcome is about, for blocked, rejected and duplicate.'),
    bounceSubType: safe.optional().describe("SES's bounce sub-type (General, NoEmail, MailboxFull, …)."),
    treatedAsPermanent: z
      .boolean()
      .optional()
      .describe('A transient bounce that completed a run of transient bounces: the address is suppressed.'),
    delayType: safe.optional(),
    complaintType: safe.optional(),
  })
  .strict();

export type OutcomeEventDetail = z.infer<typeof outcomeEventDetailSchema>;

/** The event as a consumer gets it from EventBridge (a rule's SQS target receives this JSON). */
export const outcomeEventEnvelopeSchema = z.object({
  id: z.string(),
  source: z.literal(OUTCOME_EVENT_SOURCE),
  'detail-type': z.literal(OUTCOME_EVENT_DETAIL_TYPE),
  time: z.string(),
  detail: outcomeEventDetailSchema,
});

export type OutcomeEventEnvelope = z.infer<typeof outcomeEventEnvelopeSchema>;

export type OutcomeEventParse =
  | { readonly ok: true; readonly event: OutcomeEventDetail }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Parses one outcome event as a consumer receives it: the EventBridge envelope (as an SQS target
 * delivers it, JSON text or parsed), or its `detail` alone. Never throws.
 */
export function parseOutcomeEvent(input: unknown): OutcomeEventParse {
  let value = input;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, problems: ['not JSON'] };
    }
  }
  const isEnvelope = typeof value === 'object' && value !== null && 'detail' in value;
  const result = isEnvelope ? outcomeEventEnvelopeSchema.safeParse(value) : outcomeEventDetailSchema.safeParse(value);
  if (result.success)
    return {
      ok: true,
      event: 'detail' in result.data ? (result.data as OutcomeEventEnvelope).detail : (result.data as OutcomeEventDetail),
    };
  return { ok: false, problems: result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`) };
}
