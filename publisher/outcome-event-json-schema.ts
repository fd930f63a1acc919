import { z } from 'zod';
import {
  OUTCOME_EVENT_DETAIL_TYPE,
  OUTCOME_EVENT_SCHEMA_VERSION,
  OUTCOME_EVENT_SOURCE,
  outcomeEventEnvelopeSchema,
} from '../lambdas/core/outcome-event';

type JsonSchema = Record<string, unknown>;

/**
 * The outcome feed's event as JSON Schema (draft 2020-12), for portals not written in TypeScript:
 * the EventBridge event a rule's target receives, its `detail` generated from the publisher's own
 * zod schema (`outcomeEventDetailSchema`), so the two cannot drift apart. Written to
 * `docs/outcome-event.schema.json` by `npm run schema:generate`.
 */
export function outcomeEventJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(outcomeEventEnvelopeSchema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  const properties = { ...(generated.properties as Record<string, JsonSchema>) };
  properties.id = {
    description: "EventBridge's id of this delivery (differs between redeliveries: deduplicate on detail.outcomeId).",
    ...properties.id,
  };
  properties.time = { description: 'When the bus received the event.', ...properties.time };
  properties.detail = {
    description: 'The outcome: identifiers, states, reasons and times only; never an address, an address hash or template data.',
    ...properties.detail,
  };
  return {
    $schema: generated.$schema,
    title: 'mail-dispatch outcome event',
    description:
      `One change of a dispatch's ledger record, as the outcome bus delivers it (source \`${OUTCOME_EVENT_SOURCE}\`, ` +
      `detail-type \`${OUTCOME_EVENT_DETAIL_TYPE}\`, detail.schemaVersion ${OUTCOME_EVENT_SCHEMA_VERSION}). Delivered at least once: ` +
      'deduplicate on detail.outcomeId, order one dispatch by detail.version. Other envelope fields EventBridge adds (account, region, ' +
      'resources, version) are allowed. GENERATED from lambdas/core/outcome-event.ts by `npm run schema:generate`: do not edit. ' +
      'TypeScript consumers use parseOutcomeEvent from mail-dispatch/publisher.',
    type: generated.type,
    properties,
    required: generated.required,
  };
}

/** The committed file's text: stable key order, two-space indent, final newline. */
export function renderOutcomeEventJsonSchema(): string {
  return `${JSON.stringify(outcomeEventJsonSchema(), null, 2)}\n`;
}
