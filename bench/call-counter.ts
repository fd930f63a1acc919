import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LEDGER_AUDIT_INDEXES, LEDGER_TABLE, LedgerKey } from '../lambdas/tables';

/** Calls by `<Service>:<Command>` and the DynamoDB capacity the emulator reported for them. */
export interface CallTally {
  readonly calls: Record<string, number>;
  /** Summed wall time of the calls, ms (divide by `calls` for the mean latency). */
  readonly latencyMs: Record<string, number>;
  /** SDK attempts beyond the first (its own retries), by call. */
  readonly retries: Record<string, number>;
  readonly capacity: { readUnits: number; writeUnits: number; writeUnitsOnIndexes: number; reportedCalls: number };
  /**
   * The same units by what consumed them (the cost rows of issue 17.4): `<Command>` and
   * `<Command>:indexes` for single calls (read units for reads), and for a transaction one key per
   * item's role (`transactionItemRole`) and `TransactWriteItems:indexes`.
   */
  readonly unitsByUse: Record<string, number>;
}

export function emptyTally(): CallTally {
  return {
    calls: {},
    latencyMs: {},
    retries: {},
    capacity: { readUnits: 0, writeUnits: 0, writeUnitsOnIndexes: 0, reportedCalls: 0 },
    unitsByUse: {},
  };
}

/** Returns the tally so far and starts a new one (for per-invocation deltas). */
export function takeTally(tally: CallTally): CallTally {
  const taken: CallTally = {
    calls: { ...tally.calls },
    latencyMs: { ...tally.latencyMs },
    retries: { ...tally.retries },
    capacity: { ...tally.capacity },
    unitsByUse: { ...tally.unitsByUse },
  };
  for (const map of [tally.calls, tally.latencyMs, tally.retries, tally.unitsByUse]) for (const key of Object.keys(map)) delete map[key];
  Object.assign(tally.capacity, emptyTally().capacity);
  return taken;
}

export function mergeTally(target: CallTally, source: CallTally): CallTally {
  for (const map of ['calls', 'latencyMs', 'retries', 'unitsByUse'] as const) {
    // Tallies from an older bench build (no unitsByUse) merge as empty.
    for (const [key, value] of Object.entries(source[map] ?? {})) target[map][key] = (target[map][key] ?? 0) + value;
  }
  for (const key of Object.keys(target.capacity) as (keyof CallTally['capacity'])[]) target.capacity[key] += source.capacity[key];
  return target;
}

/** Calls of one service (`DynamoDB`, `SESv2`, `SQS`) in a tally; `filter` picks commands. */
export function callsOf(tally: CallTally, service: string, filter: (command: string) => boolean = () => true): number {
  return Object.entries(tally.calls)
    .filter(([key]) => key.startsWith(`${service}:`) && filter(key.slice(service.length + 1)))
    .reduce((sum, [, n]) => sum + n, 0);
}

const DYNAMODB_WRITES = new Set([
  'TransactWriteItemsCommand',
  'UpdateItemCommand',
  'PutItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
]);
const DYNAMODB_READS = new Set(['BatchGetItemCommand', 'GetItemCommand', 'QueryCommand', 'TransactGetItemsCommand', 'ScanCommand']);

export const isDynamoDbWrite = (command: string): boolean => DYNAMODB_WRITES.has(command);
export const isDynamoDbRead = (command: string): boolean => DYNAMODB_READS.has(command);

type Args = { input: Record<string, unknown> };
type Result = { output: Record<string, unknown> };
type Handler = (args: Args) => Promise<Result>;
interface LooseStack {
  add(
    middleware: (next: Handler, context: { commandName?: string }) => Handler,
    options: { step: 'initialize'; name: string; priority: 'high' },
  ): void;
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

export interface CountCallsOptions {
  /**
   * Ask DynamoDB for `ReturnConsumedCapacity: INDEXES` on every call that supports it (the
   * adapters do not set it) and add up what comes back, table and indexes.
   * @default false
   */
  readonly consumedCapacity?: boolean;
}

/**
 * Counts every `client.send` at the SDK's `initialize` step (one per API call, before the SDK's
 * own retries, which would add attempts; no call is retried in a clean run).
 */
export function countCalls(
  client: DynamoDBClient | SESv2Client | SQSClient,
  service: string,
  tally: CallTally,
  options: CountCallsOptions = {},
): void {
  (client.middlewareStack as unknown as LooseStack).add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'UnknownCommand';
      const key = `${service}:${command}`;
      tally.calls[key] = (tally.calls[key] ?? 0) + 1;
      const withCapacity = options.consumedCapacity && (isDynamoDbWrite(command) || isDynamoDbRead(command));
      const started = performance.now();
      try {
        const result = await next(withCapacity ? { ...args, input: { ReturnConsumedCapacity: 'INDEXES', ...args.input } } : args);
        const attempts = (result.output.$metadata as { attempts?: number } | undefined)?.attempts ?? 1;
        if (attempts > 1) tally.retries[key] = (tally.retries[key] ?? 0) + attempts - 1;
        if (withCapacity)
          addCapacity(tally, command, result.output.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined, args.input);
        return result;
      } finally {
        tally.latencyMs[key] = (tally.latencyMs[key] ?? 0) + performance.now() - started;
      }
    },
    { step: 'initialize', name: 'benchCallCounter', priority: 'high' },
  );
}

/**
 * What a transaction costs in AWS: 2 write units per item (each under 1 KB here) and 2 per index
 * entry an item's update writes (KEYS_ONLY entries). DynamoDB Local reports one item per table
 * for a whole transaction (measured: the same 4 units for 1, 3 or 10 ledger items), which
 * undercounts the dispatcher's batched claims; the bench charges the larger of the two.
 */
export function modelTransactionUnits(input: Record<string, unknown>): {
  units: number;
  onIndexes: number;
  byKind: Record<string, number>;
} {
  const items =
    (input.TransactItems as
      | Record<string, { UpdateExpression?: string; Item?: Record<string, { S?: string }>; Key?: Record<string, { S?: string }> }>[]
      | undefined) ?? [];
  let units = 0;
  let onIndexes = 0;
  const byKind: Record<string, number> = {};
  for (const item of items) {
    units += 2;
    const kind = transactionItemRole(item);
    byKind[kind] = (byKind[kind] ?? 0) + 2;
    const update = item.Update?.UpdateExpression ?? '';
    const put = item.Put?.Item ?? {};
    for (const index of LEDGER_AUDIT_INDEXES) {
      const writes = [index.partitionKey, index.sortKey].some((key) => new RegExp(`(^|[\\s,])${key} =`).test(update) || key in put);
      if (writes) onIndexes += 2;
    }
  }
  return { units: units + onIndexes, onIndexes, byKind };
}

/**
 * What a claim transaction's item is for: the member `check` (a ConditionCheck), the mailbox's
 * `fan-in` counter (ledger key `fanin#…`, LedgerKey.fanIn), or the dispatch `record` (any other
 * Put/Update/Delete on the ledger).
 */
export function transactionItemRole(
  item: Record<string, { Key?: Record<string, { S?: string }>; Item?: Record<string, { S?: string }> }>,
): 'check' | 'fan-in' | 'record' {
  const [kind, body] = Object.entries(item)[0] ?? [];
  if (kind === 'ConditionCheck') return 'check';
  const pk = body?.Key?.[LEDGER_TABLE.partitionKey]?.S ?? body?.Item?.[LEDGER_TABLE.partitionKey]?.S ?? '';
  return pk.startsWith(LedgerKey.fanIn('')) ? 'fan-in' : 'record';
}

function addUse(tally: CallTally, key: string, units: number): void {
  if (units > 0) tally.unitsByUse[key] = (tally.unitsByUse[key] ?? 0) + units;
}

function addCapacity(
  tally: CallTally,
  command: string,
  reported: ConsumedCapacity | ConsumedCapacity[] | undefined,
  input: Record<string, unknown>,
): void {
  if (!reported) return;
  const entries = Array.isArray(reported) ? reported : [reported];
  if (entries.length === 0) return;
  tally.capacity.reportedCalls++;
  if (command === 'TransactWriteItemsCommand') {
    const modelled = modelTransactionUnits(input);
    const reportedUnits = entries.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
    const reportedOnIndexes = entries.reduce(
      (sum, entry) => sum + Object.values(entry.GlobalSecondaryIndexes ?? {}).reduce((s, i) => s + (i.CapacityUnits ?? 0), 0),
      0,
    );
    tally.capacity.writeUnits += Math.max(reportedUnits, modelled.units);
    tally.capacity.writeUnitsOnIndexes += Math.max(reportedOnIndexes, modelled.onIndexes);
    for (const [kind, itemUnits] of Object.entries(modelled.byKind)) addUse(tally, `TransactWriteItems:${kind}`, itemUnits);
    addUse(tally, 'TransactWriteItems:indexes', Math.max(reportedOnIndexes, modelled.onIndexes));
    // What the emulator reported beyond the model (never seen here) stays counted, unattributed.
    addUse(tally, 'TransactWriteItems:unattributed', Math.max(0, reportedUnits - modelled.units));
    return;
  }
  for (const entry of entries) {
    const units = entry.CapacityUnits ?? 0;
    const onIndexes = [...Object.values(entry.GlobalSecondaryIndexes ?? {}), ...Object.values(entry.LocalSecondaryIndexes ?? {})].reduce(
      (sum, index) => sum + (index.CapacityUnits ?? 0),
      0,
    );
    const name = command.replace(/Command$/, '');
    if (isDynamoDbWrite(command)) {
      tally.capacity.writeUnits += units;
      tally.capacity.writeUnitsOnIndexes += onIndexes;
      // A single write's CapacityUnits include its index writes.
      addUse(tally, name, units - onIndexes);
      addUse(tally, `${name}:indexes`, onIndexes);
    } else {
      tally.capacity.readUnits += units;
      addUse(tally, name, units);
    }
  }
}
