/**
 * One description of the tables, shared by the CDK stack (`lib/`), the embedded local AWS
 * (`local/`), the adapters and the ops CLI, so the key names cannot drift apart.
 */

export const MEMBERS_TABLE = {
  /** Logical name; the deployed name comes from the stack output / env var `MEMBERS_TABLE`. */
  name: 'mail-dispatch-members',
  partitionKey: 'memberId',
  /**
   * The stream the registry watch counts members per mailbox from (issue 12.2c): old and new
   * image, so a changed or removed address is taken off its mailbox. (The `by-email` index is
   * gone, issue 12.12: nothing read it, and it was a full copy of every address.)
   */
  streamViewType: 'NEW_AND_OLD_IMAGES',
} as const;

/**
 * What an audit index stores besides its own keys and the table's `pk`. `KEYS_ONLY`: the settle
 * write (state, `sentAt`, `sesMessageId`, `history`) changes no projected attribute, so DynamoDB
 * writes no index item for it, and the claim writes index items of a few bytes. Readers query
 * the index for keys and read the records themselves (`cli/src/ops/ledger-query.ts`). An `INCLUDE`
 * here must name only attributes that never change after the claim.
 */
export type IndexProjection = 'KEYS_ONLY';

export const LEDGER_TABLE = {
  name: 'mail-dispatch-ledger',
  partitionKey: 'pk',
  /** Epoch seconds; DynamoDB deletes expired fan-in counters (late: code also filters by window). */
  ttlAttribute: 'expiresAt',
  /**
   * The stream the outcome feed publishes from (the outbox): old and new image, so the publisher
   * sees exactly which history entries a write appended.
   */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  /** Audit by member: partition `memberId`, sort `claimedAt` (ISO-8601). */
  byMemberIndex: { name: 'by-member', partitionKey: 'memberId', sortKey: 'claimedAt', projection: 'KEYS_ONLY' },
  /** Audit by address: partition `toHash` (keyed hash), sort `claimedAt`. */
  byAddressIndex: { name: 'by-address', partitionKey: 'toHash', sortKey: 'claimedAt', projection: 'KEYS_ONLY' },
  /**
   * Audit by time: partition `auditDay` (`YYYY-MM-DD#<shard>`, see `AuditDay`), sort `claimedAt`.
   * One key per day would take every claim of the day on one index partition (1,000 WCU/s),
   * its sort key always increasing so that DynamoDB cannot split it.
   */
  byDayIndex: { name: 'by-day', partitionKey: 'auditDay', sortKey: 'claimedAt', projection: 'KEYS_ONLY', shards: 8 },
} as const;

export interface LedgerIndex {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly projection: IndexProjection;
}

/** The ledger's audit indexes, as the stack and the local emulator create them. */
export const LEDGER_AUDIT_INDEXES: readonly LedgerIndex[] = [
  LEDGER_TABLE.byMemberIndex,
  LEDGER_TABLE.byAddressIndex,
  LEDGER_TABLE.byDayIndex,
];

/**
 * The `auditDay` values of the by-day index: a record claimed on a day lands on one of
 * `LEDGER_TABLE.byDayIndex.shards` partitions of that day, chosen by a stable hash of its ledger
 * `pk` (the dispatchId, or `rejected#<sqsMessageId>`), so readers fan out over the day's shards.
 */
export const AuditDay = {
  /** The partition of a record with ledger key `pk` claimed at `at` (ISO-8601, UTC). */
  of: (at: string, pk: string): string => `${at.slice(0, 10)}#${fnv1a32(pk) % LEDGER_TABLE.byDayIndex.shards}`,
  /**
   * Every partition of one UTC day (`YYYY-MM-DD`). The bare day comes first: records written
   * before the index was sharded keep it as their `auditDay`.
   */
  partitions: (day: string): string[] => [day, ...Array.from({ length: LEDGER_TABLE.byDayIndex.shards }, (_, shard) => `${day}#${shard}`)],
} as const;

/** 32-bit FNV-1a over UTF-16 code units: small, stable across runtimes, well spread on short ids. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * Ledger partition keys. Dispatch records use the dispatchId itself, which can never contain
 * `#` (the contract allows `[A-Za-z0-9._:-]`), so these prefixes cannot collide with one.
 */
export const LedgerKey = {
  dispatch: (dispatchId: string) => dispatchId,
  /** A rejected body has no trustworthy dispatchId: one record per SQS message. */
  rejected: (sqsMessageId: string) => `rejected#${sqsMessageId}`,
  /** The fan-in counter of one mailbox (`mailboxOf`), keyed by the mailbox's hash: one item, no calendar window. */
  fanIn: (mailboxHash: string) => `fanin#${mailboxHash}`,
  /** Registry address index: which members use an address (`members`), and as their own e-mail (`owners`). */
  registry: (addressHash: string) => `registry#${addressHash}`,
  pauseFlag: 'control#pause',
  /** The reputation guard's counters: sends, hard bounces and complaints of the current and the previous window of sends. */
  reputationWindow: 'reputation#window',
  /** Transient bounces in a row of one (member, address hash), for `transientBounceLimit`. */
  transientBounces: (toHash: string, memberId: string) => `softbounce#${toHash}#${memberId}`,
  /** "Not for me" reports of one window bucket (a set of `<at>|<dispatchId>`), for the breaker's threshold. */
  reportWindow: (bucket: number) => `notforme#${bucket}`,
  /** A rate-limit counter of the "not for me" page: `kind` is `token` or `source`, `id` a keyed pseudonym. */
  rateLimit: (kind: 'token' | 'source', id: string, bucket: number) => `ratelimit#${kind}#${id}#${bucket}`,
} as const;

/**
 * What each function may touch in the tables, in one place: the IAM statements of
 * `lib/constructs/*` are built from these lists (asserted in `test/infra/constructs/*`). A new
 * attribute or item kind a function writes goes here first (docs/security.md, "Table access").
 */
/**
 * Every ledger key that is not a dispatch record: each has a `<kind>#` prefix (`LedgerKey`), and a
 * dispatch record's key is the dispatchId itself, which cannot contain `#` (`DISPATCH_ID_PATTERN`,
 * lambdas/core/message.ts). So one pattern covers every item kind, including ones added later.
 */
const NOT_DISPATCH_RECORDS = ['*#*'];

/** What setting the pause flag writes (`DynamoDbPauseSwitch.pause`, not from the registry watch): not `resumedBy`/`resumedAt`. */
const PAUSE_FLAG_ATTRIBUTES = [
  LEDGER_TABLE.partitionKey,
  'paused',
  'reason',
  'by',
  'at',
  'alarmName',
  'addressHash',
  'pauses',
  'version',
  'lastPauseReason',
  'lastPauseBy',
  'lastPauseAt',
  'repeatedPauses',
];

/** What the feedback function writes and tests on a dispatch record: reconcile and fate, not the audit keys. */
const FEEDBACK_DISPATCH_RECORD_UPDATE = [
  LEDGER_TABLE.partitionKey,
  'state',
  'sesMessageId',
  'sentAt',
  'reconciledAt',
  'history',
  'fate',
  'fateAt',
  'updatedAt',
  'feedbackKeys',
];

export const TABLE_ACCESS = {
  feedback: {
    /** Member attributes the feedback function reads and writes (dynamodb:Attributes): never `email`, `proxies`, `status`. */
    memberAttributes: [MEMBERS_TABLE.partitionKey, 'suppressions', 'version'],
    /** Its dispatch-record statement reaches no other item kind (the pause flag, the address index, counters). */
    dispatchRecordDeniedKeys: NOT_DISPATCH_RECORDS,
    /**
     * What reconciling a send and recording a fate write and test on a dispatch record (UpdateItem). Never
     * `memberId`/`toHash`: they key the by-member/by-address audit indexes, and a role that could set them
     * could rewrite the audit trail. No UpdateItem of the function names them (it reads them back, below).
     */
    dispatchRecordUpdateAttributes: FEEDBACK_DISPATCH_RECORD_UPDATE,
    /** What it reads back of a dispatch record (GetItem, projected): the above and the member and address hash. */
    dispatchRecordReadAttributes: [...FEEDBACK_DISPATCH_RECORD_UPDATE, 'memberId', 'toHash'],
    /** Its own counters: transient bounces in a row per (address, member), the reputation window. */
    counterKeys: ['softbounce#*', LedgerKey.reputationWindow],
    counterAttributes: [
      LEDGER_TABLE.partitionKey,
      'bounces',
      'eventKeys',
      'updatedAt',
      'expiresAt',
      'curSends',
      'curBounces',
      'curComplaints',
      'prevSends',
      'prevBounces',
      'prevComplaints',
      'closedAt',
    ],
  },
  notForMe: {
    /** Member attributes the page reads and writes: the suppression of the reported address only. */
    memberAttributes: [MEMBERS_TABLE.partitionKey, 'suppressions', 'updatedAt'],
    dispatchRecordDeniedKeys: NOT_DISPATCH_RECORDS,
    /** What the page reads of a dispatch record (`findDispatch`, GetItem, projected). */
    dispatchRecordReadAttributes: [LEDGER_TABLE.partitionKey, 'memberId', 'toHash', 'reportedNotMineAt', 'updatedAt', 'history'],
    /**
     * What a report writes and tests on it (UpdateItem): never `memberId` (the by-member audit key). `toHash`
     * stays only because the report's ConditionExpression tests `toHash = :hash` (the link's address is the
     * record's), and IAM's `dynamodb:Attributes` cannot tell a tested attribute from a written one.
     */
    dispatchRecordUpdateAttributes: [LEDGER_TABLE.partitionKey, 'toHash', 'reportedNotMineAt', 'updatedAt', 'history'],
    /** The breaker's report window and the page's rate limits. */
    counterKeys: ['notforme#*', 'ratelimit#*'],
    counterAttributes: [LEDGER_TABLE.partitionKey, 'reports', 'expiresAt', 'hits'],
    pauseFlagKeys: [LedgerKey.pauseFlag],
    pauseFlagAttributes: PAUSE_FLAG_ATTRIBUTES,
  },
  dispatcher: {
    /**
     * Member attributes its snapshot read projects and its claim's ConditionChecks name: the
     * recipient rule (`email`, `status`, `proxies`), the suppression rule (`suppressed`,
     * `suppressions`) and proxy consent (`proxyFor`), never a name or anything else.
     */
    memberAttributes: [MEMBERS_TABLE.partitionKey, 'email', 'status', 'proxies', 'suppressed', 'suppressions', 'proxyFor'],
    /**
     * Ledger keys its record and counter UpdateItem may never reach: the registry's address index
     * (the registry guard's), the pause flag (its own statement below), the feedback function's
     * (soft bounces, the reputation counters) and the "not for me" page's items.
     */
    ledgerUpdateDeniedKeys: ['registry#*', 'control#*', 'softbounce#*', 'notforme#*', 'ratelimit#*', 'reputation#*'],
    /** Ledger keys it may not even read or condition-check (it reads and checks `registry#` owners for proxy consent, 12.3). */
    ledgerReadDeniedKeys: ['softbounce#*', 'notforme#*', 'ratelimit#*', 'reputation#*'],
    /**
     * The attributes its claim, settle, blocked/rejected/failed records, duplicates and fan-in
     * counters write or test (dynamodb:Attributes; `test/integration/security/iam-conformance`
     * records what the code really sends).
     */
    ledgerAttributes: [
      LEDGER_TABLE.partitionKey,
      'state',
      'reason',
      'field',
      'dispatchId',
      'memberId',
      'toHash',
      'template',
      'claimedAt',
      'auditDay',
      'updatedAt',
      'claimToken',
      'claimMessageId',
      'claimReceiveCount',
      'history',
      'sentAt',
      'sesMessageId',
      'lastMessageId',
      'duplicateMessageIds',
      'seen',
      'version',
      'expiresAt',
      'members',
    ],
    /** The pause flag: it only ever sets it (a fan-in block, SES pausing the account), never clears it. */
    pauseFlagKeys: [LedgerKey.pauseFlag],
    /** What setting the flag writes: not `resumedBy`/`resumedAt`. */
    pauseFlagAttributes: PAUSE_FLAG_ATTRIBUTES,
  },
  breaker: {
    /** The only ledger item the breaker touches. */
    ledgerKeys: [LedgerKey.pauseFlag],
  },
  registryWatch: {
    /** Member attributes the registry watch reads (GetItem with a projection): where the member's mail may go, nothing else. */
    memberAttributes: [MEMBERS_TABLE.partitionKey, 'email', 'status', 'proxies'],
    /** The address index items it keeps, and only their member sets. */
    indexKeys: ['registry#*'],
    indexAttributes: [LEDGER_TABLE.partitionKey, 'members', 'owners'],
    /** The pause flag it sets past the fan-in limit. */
    pauseKeys: [LedgerKey.pauseFlag],
  },
  dlqWatch: {
    /**
     * Ledger keys the DLQ watch may never read or write: every item that is not a dispatch record
     * (`<dispatchId>`, which never holds `#`) or a rejected body's (`rejected#*`).
     */
    ledgerDeniedKeys: ['control#*', 'registry#*', 'fanin#*', 'softbounce#*', 'notforme#*', 'ratelimit#*', 'reputation#*'],
    /** What its reads project and its writes set or test (`DynamoDbDeadLetterLedger`): never `toHash`. */
    ledgerAttributes: [
      LEDGER_TABLE.partitionKey,
      'state',
      'reason',
      'field',
      'dispatchId',
      'memberId',
      'template',
      'claimedAt',
      'claimToken',
      'claimMessageId',
      'auditDay',
      'updatedAt',
      'lastMessageId',
      'history',
    ],
  },
} as const;

export const QUEUES = {
  dispatch: 'mail-dispatch-queue',
  deadLetter: 'mail-dispatch-dlq',
} as const;

/** The configuration set's name where nothing else names it (the local runtime). The stack derives its own from the stack name. */
export const SES_CONFIGURATION_SET = 'mail-dispatch';

/**
 * The SES template a logical template is deployed as: `<prefix>-<name>`, so two stacks in one
 * account and region (staging, production) each have their own. No prefix (local): the name itself.
 */
export function sesTemplateName(template: string, prefix = ''): string {
  return prefix === '' ? template : `${prefix}-${template}`;
}

/** SQS message attributes the dispatcher sets on a rejected message it moves to the DLQ. */
export const RejectAttribute = {
  reason: 'mailDispatchRejectReason',
  field: 'mailDispatchRejectField',
  dispatchId: 'mailDispatchDispatchId',
  /** The rejected message's own SQS message id: its ledger record is `rejected#<this id>`. */
  sqsMessageId: 'mailDispatchRejectedMessageId',
} as const;

/** Environment variables the Lambda handlers read (set by the stack, or by the local runtime). */
export const Env = {
  membersTable: 'MEMBERS_TABLE',
  ledgerTable: 'LEDGER_TABLE',
  deadLetterQueueUrl: 'DLQ_URL',
  fromAddress: 'FROM_ADDRESS',
  configurationSet: 'SES_CONFIGURATION_SET',
  /** Prefix of the deployed SES template names (see sesTemplateName); unset = none. */
  templatePrefix: 'SES_TEMPLATE_PREFIX',
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
  /** Transient bounces in a row of one (member, address) after which the feedback function treats it as permanent. */
  transientBounceLimit: 'TRANSIENT_BOUNCE_LIMIT',
  /** The reputation guard's thresholds (percent) and window (sends), for the feedback function. */
  reputationBounceRatePercent: 'REPUTATION_BOUNCE_RATE_PERCENT',
  reputationComplaintRatePercent: 'REPUTATION_COMPLAINT_RATE_PERCENT',
  reputationWindowSends: 'REPUTATION_WINDOW_SENDS',
  /** The outcome feed's EventBridge bus (the outcome publisher). */
  outcomeBusName: 'OUTCOME_EVENT_BUS_NAME',
  /** Secrets Manager ARN of the "not for me" link key (AWS). */
  reportLinkSecretArn: 'REPORT_LINK_SECRET_ARN',
  /** The link key itself (local only). */
  reportLinkKey: 'REPORT_LINK_KEY',
  /** Public base URL of the "not for me" page (the function URL; locally the page server). */
  reportPageUrl: 'REPORT_PAGE_URL',
  /** How long a "not for me" link works, seconds. @default 30 days */
  reportLinkTtlSeconds: 'REPORT_LINK_TTL_SECONDS',
  /** Distinct dispatches reported within the window that pause the pipeline. @default 3 */
  reportPauseThreshold: 'REPORT_PAUSE_THRESHOLD',
  /** The report threshold's window, seconds. @default 3600 */
  reportWindowSeconds: 'REPORT_WINDOW_SECONDS',
} as const;

/** The SQS queue that stands for the outcome bus locally (`npm run local`, the scenario report). */
export const LOCAL_OUTCOME_QUEUE = 'mail-dispatch-outcomes';
