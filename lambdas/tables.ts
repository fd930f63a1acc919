/**
 * One description of the tables, shared by the CDK stack (`lib/`), the embedded local AWS
 * (`local/`), the adapters and the ops CLI, so the key names cannot drift apart.
 */

export const MEMBERS_TABLE = {
  /** Logical name; the deployed name comes from the stack output / env var `MEMBERS_TABLE`. */
  name: 'mail-dispatch-members',
  partitionKey: 'memberId',
  /** Finds who holds an address (the registry guard): partition `email`. */
  byEmailIndex: { name: 'by-email', partitionKey: 'email' },
} as const;

export const LEDGER_TABLE = {
  name: 'mail-dispatch-ledger',
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB deletes expired fan-in counters (late: code also filters by window). */
  ttlAttribute: 'expiresAt',
  /** Audit by member: partition `memberId`, sort `claimedAt` (ISO-8601). */
  byMemberIndex: { name: 'by-member', partitionKey: 'memberId', sortKey: 'claimedAt' },
  /** Audit by address: partition `toHash` (keyed hash), sort `claimedAt`. */
  byAddressIndex: { name: 'by-address', partitionKey: 'toHash', sortKey: 'claimedAt' },
  /** Audit by time: partition `auditDay` (YYYY-MM-DD), sort `claimedAt`. */
  byDayIndex: { name: 'by-day', partitionKey: 'auditDay', sortKey: 'claimedAt' },
} as const;

/**
 * Ledger partition keys. Dispatch records use the dispatchId itself, which can never contain
 * `#` (the contract allows `[A-Za-z0-9._:-]`), so these prefixes cannot collide with one.
 */
export const LedgerKey = {
  dispatch: (dispatchId: string) => dispatchId,
  /** A rejected body has no trustworthy dispatchId: one record per SQS message. */
  rejected: (sqsMessageId: string) => `rejected#${sqsMessageId}`,
  fanIn: (addressHash: string, window: number) => `fanin#${addressHash}#${window}`,
  /** Registry address index: which members use an address (`members`), and as their own e-mail (`owners`). */
  registry: (addressHash: string) => `registry#${addressHash}`,
  pauseFlag: 'control#pause',
} as const;

export const QUEUES = {
  dispatch: 'mail-dispatch-queue',
  deadLetter: 'mail-dispatch-dlq',
} as const;

export const SES_CONFIGURATION_SET = 'mail-dispatch';

/** SQS message attributes the dispatcher sets on a rejected message it moves to the DLQ. */
export const RejectAttribute = {
  reason: 'mailDispatchRejectReason',
  field: 'mailDispatchRejectField',
  dispatchId: 'mailDispatchDispatchId',
} as const;

/** Environment variables the Lambda handlers read (set by the stack, or by the local runtime). */
export const Env = {
  membersTable: 'MEMBERS_TABLE',
  ledgerTable: 'LEDGER_TABLE',
  deadLetterQueueUrl: 'DLQ_URL',
  fromAddress: 'FROM_ADDRESS',
  configurationSet: 'SES_CONFIGURATION_SET',
  fanInLimit: 'FAN_IN_LIMIT',
  fanInWindowSeconds: 'FAN_IN_WINDOW_SECONDS',
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
  claimLeaseSeconds: 'CLAIM_LEASE_SECONDS',
  /** Secrets Manager ARN of the address-hash key (AWS). */
  addressHashSecretArn: 'ADDRESS_HASH_SECRET_ARN',
  /** The key itself (local only). */
  addressHashKey: 'ADDRESS_HASH_KEY',
  eventSourceMappingId: 'EVENT_SOURCE_MAPPING_ID',
  /** The breaker function the dispatcher invokes when it pauses the pipeline itself (AWS; unset locally). */
  breakerFunctionName: 'BREAKER_FUNCTION_NAME',
  /** Messages of one batch worked on at once. */
  handlerConcurrency: 'HANDLER_CONCURRENCY',
  /** This execution environment's share of the SES send rate (sends/s); unset = unlimited. */
  maxSendsPerSecond: 'MAX_SENDS_PER_SECOND',
} as const;
