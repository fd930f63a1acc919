import { isMainThread } from 'node:worker_threads';
import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  TransactionConflictException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { BadRequestException, SESv2ServiceException, TooManyRequestsException, type SESv2Client } from '@aws-sdk/client-sesv2';
import { LocalPipelineError } from './errors';

/** The faults a scenario's `fault` step can arm (`scenarios/README.md`). */
export const FAULT_KINDS = {
  ses: ['throttle', 'error', 'error-5xx', 'error-5xx-after-send', 'timeout-after-send', 'crash-after-send'],
  dynamodb: ['throttle', 'transaction-conflict'],
  sqs: ['duplicate-delivery'],
  lambda: ['mapping-in-use'],
} as const;
export type FaultTarget = keyof typeof FAULT_KINDS;
export type FaultKind<T extends FaultTarget = FaultTarget> = (typeof FAULT_KINDS)[T][number];

export interface FaultSpec {
  readonly target: FaultTarget;
  readonly kind: string;
  readonly times: number;
}

const SLOTS = (Object.keys(FAULT_KINDS) as FaultTarget[]).flatMap((target) => FAULT_KINDS[target].map((kind) => `${target}:${kind}`));

/**
 * The armed faults, shared by the runner and every execution environment: per kind, how many
 * calls are still to fail and how many have. Lives in a SharedArrayBuffer so a countdown spans all
 * worker threads (Atomics), and so the count of a crash survives the thread it killed.
 */
export class FaultPlan {
  private readonly remainingView: Int32Array;
  private readonly firedView: Int32Array;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.remainingView = new Int32Array(buffer, 0, SLOTS.length);
    this.firedView = new Int32Array(buffer, SLOTS.length * 4, SLOTS.length);
  }

  static create(): FaultPlan {
    return new FaultPlan(new SharedArrayBuffer(SLOTS.length * 8));
  }

  /** The same plan, seen from another thread. */
  static attach(buffer: SharedArrayBuffer): FaultPlan {
    return new FaultPlan(buffer);
  }

  /** Validates a `fault` step and adds its `times` to the kind's countdown. */
  arm(spec: FaultSpec): void {
    const kinds: readonly string[] | undefined = FAULT_KINDS[spec.target as FaultTarget];
    if (!kinds)
      throw new LocalPipelineError(`Unknown fault target ${JSON.stringify(spec.target)} (one of ${Object.keys(FAULT_KINDS).join(', ')})`);
    if (!kinds.includes(spec.kind))
      throw new LocalPipelineError(`Unknown ${spec.target} fault ${JSON.stringify(spec.kind)} (one of ${kinds.join(', ')})`);
    if (!Number.isInteger(spec.times) || spec.times < 1)
      throw new LocalPipelineError(`Fault times must be a positive integer, got ${JSON.stringify(spec.times)}`);
    Atomics.add(this.remainingView, slot(spec.target, spec.kind), spec.times);
  }

  /** Uses one armed fault of this kind, if any is left (safe across threads). */
  take<T extends FaultTarget>(target: T, kind: FaultKind<T>): boolean {
    const index = slot(target, kind);
    for (;;) {
      const left = Atomics.load(this.remainingView, index);
      if (left <= 0) return false;
      if (Atomics.compareExchange(this.remainingView, index, left, left - 1) === left) {
        Atomics.add(this.firedView, index, 1);
        return true;
      }
    }
  }

  remaining(): Record<string, number> {
    return Object.fromEntries(SLOTS.map((name, i) => [name, Atomics.load(this.remainingView, i)]));
  }

  fired(): Record<string, number> {
    return Object.fromEntries(SLOTS.map((name, i) => [name, Atomics.load(this.firedView, i)]));
  }

  /** Disarms everything not yet used. */
  clear(): void {
    for (let i = 0; i < SLOTS.length; i++) Atomics.store(this.remainingView, i, 0);
  }
}

function slot(target: string, kind: string): number {
  const index = SLOTS.indexOf(`${target}:${kind}`);
  if (index < 0) throw new LocalPipelineError(`Unknown fault ${target}:${kind}`);
  return index;
}

function metadata(httpStatusCode: number) {
  return { httpStatusCode, requestId: `local-fault-${Date.now()}`, attempts: 1, totalRetryDelay: 0 };
}

/** What SES v2 answers when the account's send rate is exceeded (HTTP 429), as the SDK deserialises it. */
export function sesThrottleError(): Error {
  return new TooManyRequestsException({ message: 'Maximum sending rate exceeded. (local fault)', $metadata: metadata(429) });
}

/** A 4xx refusal other than throttling (HTTP 400), as the SDK deserialises it: nothing was sent. */
export function sesRefusalError(): Error {
  return new BadRequestException({ message: 'The request was refused (local fault)', $metadata: metadata(400) });
}

/** A 5xx from SES, as the SDK deserialises an unmodelled server error: the caller cannot know whether SES accepted the mail. */
export function sesServerError(): Error {
  return new SESv2ServiceException({
    name: 'InternalFailure',
    $fault: 'server',
    message: 'Service unavailable (local fault)',
    $metadata: metadata(503),
  });
}

/** What the SDK's node HTTP handler throws when the socket times out waiting for the answer. */
export function requestTimeoutError(): Error {
  return Object.assign(new Error('Connection timed out after 5000 ms (local fault)'), { name: 'TimeoutError' });
}

/** DynamoDB's throttle, as the SDK deserialises it (retryable: the SDK's own retry sees it). */
export function dynamoDbThrottleError(): Error {
  return new ProvisionedThroughputExceededException({
    message: 'The level of configured provisioned throughput for the table was exceeded. (local fault)',
    $metadata: metadata(400),
  });
}

/**
 * Adds the SES faults to a client. The middleware sits in the `deserialize` step, inside the
 * SDK's retry loop, so each failing call looks to the SDK (and the adapter's classification)
 * exactly like the real answer would: `throttle`, `error` (a 4xx refusal) and `error-5xx` fail
 * before the request leaves (SES sent nothing), the `*-after-send` kinds let SES accept the e-mail
 * first. `error-5xx` and `error-5xx-after-send` look the same to the caller: both an unknown outcome.
 */
export function addSesFaults(client: SESv2Client, plan: FaultPlan): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      if (plan.take('ses', 'throttle')) throw sesThrottleError();
      if (plan.take('ses', 'error')) throw sesRefusalError();
      if (plan.take('ses', 'error-5xx')) throw sesServerError();
      if (plan.take('ses', 'error-5xx-after-send')) {
        await next(args);
        throw sesServerError();
      }
      if (plan.take('ses', 'timeout-after-send')) {
        await next(args);
        throw requestTimeoutError();
      }
      if (plan.take('ses', 'crash-after-send')) {
        if (isMainThread)
          throw new LocalPipelineError('crash-after-send ends the process running the handler: run it in an execution environment');
        await next(args);
        // In a worker thread this ends only the worker: the handler's "process" dies here,
        // after SES accepted the e-mail and before the ledger records it.
        process.exit(70);
      }
      return next(args);
    },
    { step: 'deserialize', priority: 'high', name: 'localSesFaults' },
  );
}

/** DynamoDB's answer to a single write on an item an ongoing transaction holds (the SDK does not retry it). */
export function dynamoDbTransactionConflictError(): Error {
  return new TransactionConflictException({ message: 'Transaction is ongoing for the item (local fault)', $metadata: metadata(400) });
}

/** The cancellation reason codes DynamoDB gives a transaction that met contention, not a condition. */
export type ContentionCode = 'TransactionConflict' | 'ThrottlingError';

const CONTENTION_MESSAGES: Record<ContentionCode, string> = {
  TransactionConflict: 'Transaction is ongoing for the item',
  ThrottlingError: 'Throughput exceeds the current capacity of your table or index. (local fault)',
};

/**
 * A transaction of `items` entries cancelled by contention, as DynamoDB shapes it: one reason per
 * entry, in order, the first entry carrying `code` and every other `{ Code: 'None' }`.
 */
export function transactionCancelledError(items: number, code: ContentionCode): Error {
  const reasons = Array.from({ length: Math.max(1, items) }, (_, i) =>
    i === 0 ? { Code: code, Message: CONTENTION_MESSAGES[code] } : { Code: 'None' },
  );
  const message = `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`;
  return new TransactionCanceledException({ message, Message: message, CancellationReasons: reasons, $metadata: metadata(400) });
}

/** The calls an ongoing transaction can refuse: single writes and transactions (reads are never refused). */
const SINGLE_WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);
const TRANSACTIONS = new Set(['TransactWriteItemsCommand', 'TransactGetItemsCommand']);

/**
 * Adds the DynamoDB faults to a client; each call (each SDK attempt) uses one armed fault.
 * `throttle` refuses any call: a single one with `ProvisionedThroughputExceededException` (the
 * SDK retries it), a transaction with `ThrottlingError` cancellation reasons (the SDK does not).
 * `transaction-conflict` refuses the next writes: `TransactionConflictException` for a single
 * write, `TransactionConflict` cancellation reasons for a transaction.
 */
export function addDynamoDbFaults(client: DynamoDBClient, plan: FaultPlan): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '';
      const transaction = TRANSACTIONS.has(command);
      const items = ((args.input as { TransactItems?: unknown[] }).TransactItems ?? []).length;
      if (plan.take('dynamodb', 'throttle'))
        throw transaction ? transactionCancelledError(items, 'ThrottlingError') : dynamoDbThrottleError();
      if ((transaction || SINGLE_WRITES.has(command)) && plan.take('dynamodb', 'transaction-conflict')) {
        throw transaction ? transactionCancelledError(items, 'TransactionConflict') : dynamoDbTransactionConflictError();
      }
      return next(args);
    },
    { step: 'deserialize', priority: 'high', name: 'localDynamoDbFaults' },
  );
}
