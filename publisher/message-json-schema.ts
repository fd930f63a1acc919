import { z } from 'zod';
import { MAX_BODY_BYTES, dispatchMessageSchema } from '../lambdas/core/message';
import { DISPATCH_REF_KEY, TEMPLATE_NAMES, TEMPLATES } from '../lambdas/core/templates';

type JsonSchema = Record<string, unknown>;

/**
 * `to` as `parseRecipient` (lambdas/core/address.ts) accepts it: one bare ASCII addr-spec, spaces
 * or tabs around it allowed (they are trimmed), a local part of at most 64 and an address of at
 * most 254 characters. The zod schema holds this rule as a transform, which JSON Schema cannot
 * carry, so it is restated here; a test checks the two agree.
 */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const RECIPIENT_PATTERN =
  `^[ \\t]*(?=[!-~]{1,64}@)(?=[!-~]{1,254}[ \\t]*$)` +
  `${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})[ \\t]*$`;

/**
 * The message contract as JSON Schema (draft 2020-12), for portals not written in TypeScript.
 * Generated from the dispatcher's zod schema (`dispatchMessageSchema`), plus what zod holds as code:
 * the recipient rule, the template allow-list and each template's `data` keys (`TEMPLATES`).
 * Written to `docs/dispatch-message.schema.json` by `npm run schema:generate`.
 */
export function dispatchMessageJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(dispatchMessageSchema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  const properties = { ...(generated.properties as Record<string, JsonSchema>) };
  const described = (name: string, description: string, patch: JsonSchema = {}) => {
    properties[name] = { description, ...properties[name], ...patch };
  };
  described(
    'dispatchId',
    'Idempotency key: one dispatchId is sent at most once, ever. A blocked or rejected one may be published again, corrected.',
  );
  described('memberId', 'The member the message is for, as registered in the member registry.');
  described(
    'to',
    'Exactly one bare address (no display name, list, comment, quoted local part, CR/LF or non-ASCII character; IDN domains in xn-- form). ' +
      "Compared, trimmed and ASCII-lower-cased, with the member's registered address (or one of their authorised proxies) at send time.",
    { type: 'string', pattern: RECIPIENT_PATTERN },
  );
  described('template', `A template name from the deployed allow-list: ${TEMPLATE_NAMES.join(', ')}.`, {
    type: 'string',
    enum: [...TEMPLATE_NAMES],
  });
  delete properties.template?.minLength;
  delete properties.template?.maxLength;
  described(
    'data',
    `Flat map of string values; only the keys the template declares (see allOf). \`${DISPATCH_REF_KEY}\` is set by the dispatcher, never by a publisher.`,
  );
  described('requestedAt', 'When the portal queued the message (ISO-8601 with an offset). Informational.');

  return {
    $schema: generated.$schema,
    title: 'mail-dispatch message',
    description:
      `The SQS message body the portal publishes to the dispatch queue: UTF-8 JSON of at most ${MAX_BODY_BYTES} bytes. ` +
      'GENERATED from lambdas/core/message.ts and lambdas/core/templates.ts by `npm run schema:generate`: do not edit. ' +
      'The dispatcher validates with its own parser; where this schema and the parser could differ (data lengths are counted ' +
      'here in code points, there in UTF-16 units), the parser decides and a refused message is recorded as rejected, never sent.',
    type: generated.type,
    properties,
    required: generated.required,
    additionalProperties: generated.additionalProperties,
    allOf: TEMPLATE_NAMES.map((name) => templateRule(name)),
  };
}

/** `data` for one template: its declared keys, their maximum lengths, the required ones. */
function templateRule(name: (typeof TEMPLATE_NAMES)[number]): JsonSchema {
  const fields: Record<string, { maxLength: number; required?: boolean }> = TEMPLATES[name].fields;
  const required = Object.entries(fields)
    .filter(([, spec]) => spec.required)
    .map(([key]) => key);
  const data: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(Object.entries(fields).map(([key, spec]) => [key, { type: 'string', maxLength: spec.maxLength }])),
    additionalProperties: false,
    ...(required.length > 0 ? { required } : {}),
  };
  return {
    description: `Template ${name}: data keys ${Object.keys(fields).join(', ') || '(none)'}.`,
    if: { properties: { template: { const: name } }, required: ['template'] },
    then: { properties: { data }, ...(required.length > 0 ? { required: ['data'] } : {}) },
  };
}

/** The committed file's text: stable key order, two-space indent, final newline. */
export function renderDispatchMessageJsonSchema(): string {
  return `${JSON.stringify(dispatchMessageJsonSchema(), null, 2)}\n`;
}
