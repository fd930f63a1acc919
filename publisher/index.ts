/**
 * The portal's client of the dispatch queue (`mail-dispatch/publisher`). It validates with the
 * dispatcher's own schema, parses the outcome events it gets back with the publisher's own schema,
 * and never imports the CDK: a portal can depend on it alone.
 */
export { publishDispatch, publishDispatches } from './publish';
export { PUBLISH_DEFAULTS, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, type PublishOptions } from './publish-options';
export { PublishFailure, type PublishAccepted, type PublishRefused, type PublishResult } from './publish-result';
export { dispatchMessageJsonSchema } from './message-json-schema';
export { outcomeEventJsonSchema } from './outcome-event-json-schema';
/** The outcome feed, as the portal receives it back: parse every event with `parseOutcomeEvent`. */
export {
  KNOWN_OUTCOME_EVENTS,
  OUTCOME_EVENT_DETAIL_TYPE,
  OUTCOME_EVENT_SCHEMA_VERSION,
  OUTCOME_EVENT_SOURCE,
  outcomeEventDetailSchema,
  outcomeEventEnvelopeSchema,
  parseOutcomeEvent,
  type OutcomeEventDetail,
  type OutcomeEventEnvelope,
  type OutcomeEventParse,
} from '../lambdas/core/outcome-event';
export { OutcomeEventType } from '../lambdas/core/outcomes';
export {
  MAX_BODY_BYTES,
  dispatchMessageSchema,
  parseDispatchMessage,
  type DispatchMessage,
  type DispatchMessageInput,
  type MessageParse,
} from '../lambdas/core/message';
export { TEMPLATES, TEMPLATE_NAMES, type TemplateName } from '../lambdas/core/templates';
export { ConfigurationError, MailDispatchError } from '../lambdas/core/errors';
