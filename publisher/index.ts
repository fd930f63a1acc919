/**
 * The portal's client of the dispatch queue (`mail-dispatch/publisher`). It validates with the
 * dispatcher's own schema and never imports the CDK: a portal can depend on it alone.
 */
export { publishDispatch, publishDispatches } from './publish';
export { PUBLISH_DEFAULTS, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, type PublishOptions } from './publish-options';
export { PublishFailure, type PublishAccepted, type PublishRefused, type PublishResult } from './publish-result';
export { dispatchMessageJsonSchema } from './message-json-schema';
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
