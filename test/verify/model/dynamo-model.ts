/**
 * DynamoDB at the item and condition level: what one call does to the tables, atomically, and
 * the answer (or error) it gives, for every answer AWS can give that the code must survive:
 * conditional failures, `TransactionCanceledException` with per-item `CancellationReasons`
 * (`ConditionalCheckFailed`, `TransactionConflict`, `ThrottlingError`), throttles, a 500 after the
 * write was applied, eventually consistent reads that return the previous version, `BatchGetItem`
 * with `UnprocessedKeys`, and TTL that has not deleted an expired item yet (it never does here).
 */
import type { AttributeValue, CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { applyUpdate, cloneItem, conditionHolds, ExpressionContext, project, ValidationError, type Item } from './dynamo-expressions';

/** What the scheduler decided this call meets (besides the state the tables are in). */
export type StoreAnswer =
  | 'ok'
  /** The previous version of the item(s), for an eventually consistent read of a recent write. */
  | 'stale'
  /** Throttled: a single call answers a throttling exception, a transaction `ThrottlingError`. */
  | 'throttle'
  /** An ongoing transaction holds an item: `TransactionConflictException` / `TransactionConflict`. */
  | 'conflict'
  /** The call was applied, then the answer was lost (HTTP 500 `InternalServerError`). */
  | 'applied-then-500'
  /** HTTP 500 before anything was applied. */
  | 'not-applied-500'
  /** `BatchGetItem` returns some keys as `UnprocessedKeys`. */
  | 'unprocessed';

interface TableDef {
  readonly name: string;
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly indexes: readonly { name: string; hashKey: string; rangeKey?: string; projection: string }[];
}

interface Version {
  readonly item: Item | undefined;
  /** Model time (ms) of the write. */
  readonly at: number;
}

/** An error shaped as the SDK v3 raises it (name, `$metadata.httpStatusCode`, `$fault`). */
export function awsError(name: string, message: string, status: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    ...extra,
  });
}

/** One write a call applied: what the invariants and the trace look at. */
export interface AppliedWrite {
  readonly table: string;
  readonly key: string;
  readonly before: Item | undefined;
  readonly after: Item | undefined;
}

export class DynamoModel {
  private readonly tables = new Map<string, TableDef>();
  private readonly items = new Map<string, Map<string, Version[]>>();
  /** Every write applied, in order (the model's history). */
  readonly log: { readonly at: number; readonly command: string; readonly writes: readonly AppliedWrite[] }[] = [];
  /** How long a write may be missed by an eventually consistent read. */
  staleMs = 1000;

  constructor(readonly now: () => number) {}

  createTable(input: CreateTableCommandInput): void {
    const keyOf = (schema: CreateTableCommandInput['KeySchema']) => ({
      hashKey: schema?.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '',
      rangeKey: schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName,
    });
    const name = input.TableName ?? '';
    this.tables.set(name, {
      name,
      ...keyOf(input.KeySchema),
      indexes: (input.GlobalSecondaryIndexes ?? []).map((gsi) => ({
        name: gsi.IndexName ?? '',
        ...keyOf(gsi.KeySchema),
        projection: gsi.Projection?.ProjectionType ?? 'ALL',
      })),
    });
    this.items.set(name, new Map());
  }

  /** The current item (a copy), or undefined. */
  get(table: string, key: Item): Item | undefined {
    const item = this.current(table, this.keyString(table, key));
    return item && cloneItem(item);
  }

  /** Every current item of a table (copies). */
  scanAll(table: string): Item[] {
    return [...(this.items.get(table)?.values() ?? [])]
      .map((v) => v[v.length - 1].item)
      .filter((i): i is Item => !!i)
      .map(cloneItem);
  }

  /** Every current item of a table, NOT copied: for read-only checks. */
  peekAll(table: string): readonly Item[] {
    const out: Item[] = [];
    for (const v of this.items.get(table)?.values() ?? []) {
      const item = v[v.length - 1].item;
      if (item) out.push(item);
    }
    return out;
  }

  /** Writes an item outside any request (test setup). */
  seed(table: string, item: Item): void {
    this.write(table, this.keyString(table, item), cloneItem(item));
  }

  /** Whether an eventually consistent read of these keys could return a previous version now. */
  hasStaleVersion(table: string, keys: readonly Item[]): boolean {
    return keys.some((key) => this.staleVersion(table, this.keyString(table, key)) !== null);
  }

  private table(name: string | undefined): TableDef {
    const def = this.tables.get(name ?? '');
    if (!def) throw awsError('ResourceNotFoundException', 'Cannot do operations on a non-existent table', 400);
    return def;
  }

  private keyString(tableName: string, key: Item): string {
    const def = this.table(tableName);
    const names = def.rangeKey ? [def.hashKey, def.rangeKey] : [def.hashKey];
    for (const n of names) {
      const v = key[n];
      if (!v || (v.S === undefined && v.N === undefined && v.B === undefined)) {
        throw new ValidationError('One of the required keys was not given a value');
      }
    }
    return JSON.stringify(names.map((n) => key[n]));
  }

  private keyOnly(tableName: string, item: Item): Item {
    const def = this.table(tableName);
    const out: Item = { [def.hashKey]: item[def.hashKey] };
    if (def.rangeKey) out[def.rangeKey] = item[def.rangeKey];
    return out;
  }

  private versions(table: string, key: string): Version[] {
    const t = this.items.get(table)!;
    let v = t.get(key);
    if (!v) t.set(key, (v = [{ item: undefined, at: -Infinity }]));
    return v;
  }

  private current(table: string, key: string): Item | undefined {
    const v = this.versions(table, key);
    return v[v.length - 1].item;
  }

  /** The previous version, when the latest was written within `staleMs`; null when none. */
  private staleVersion(table: string, key: string): Item | undefined | null {
    const v = this.versions(table, key);
    if (v.length < 2) return null;
    return this.now() - v[v.length - 1].at < this.staleMs ? v[v.length - 2].item : null;
  }

  private write(table: string, key: string, item: Item | undefined): AppliedWrite {
    const v = this.versions(table, key);
    const before = v[v.length - 1].item;
    v.push({ item, at: this.now() });
    if (v.length > 4) v.splice(0, v.length - 4);
    return { table, key, before, after: item };
  }

  private read(table: string, key: string, consistent: boolean | undefined, answer: StoreAnswer): Item | undefined {
    if (!consistent && answer === 'stale') {
      const stale = this.staleVersion(table, key);
      if (stale !== null) return stale;
    }
    return this.current(table, key);
  }

  /**
   * Runs one command by its SDK name and input. Throws what DynamoDB would answer. `answer`
   * is the scheduler's choice of what the call meets besides the tables' state.
   */
  execute(command: string, input: Record<string, unknown>, answer: StoreAnswer = 'ok'): unknown {
    if (answer === 'not-applied-500') throw awsError('InternalServerError', 'Internal server error', 500);
    if (answer === 'throttle' && command !== 'TransactWriteItemsCommand') {
      throw awsError(
        'ProvisionedThroughputExceededException',
        'The level of configured provisioned throughput for the table was exceeded',
        400,
      );
    }
    if (answer === 'conflict' && command !== 'TransactWriteItemsCommand') {
      throw awsError('TransactionConflictException', 'Transaction is ongoing for the item', 400);
    }
    const writes: AppliedWrite[] = [];
    const result = this.run(command, input, answer, writes);
    if (writes.length > 0) this.log.push({ at: this.now(), command, writes });
    if (answer === 'applied-then-500') throw awsError('InternalServerError', 'Internal server error', 500);
    return result;
  }

  private run(command: string, input: Record<string, any>, answer: StoreAnswer, writes: AppliedWrite[]): unknown {
    switch (command) {
      case 'CreateTableCommand':
        this.createTable(input as CreateTableCommandInput);
        return { TableDescription: { TableName: input.TableName, TableStatus: 'ACTIVE' } };
      case 'UpdateTimeToLiveCommand':
        return { TimeToLiveSpecification: input.TimeToLiveSpecification };
      case 'GetItemCommand': {
        const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
        const key = this.keyString(input.TableName, input.Key);
        const item = this.read(input.TableName, key, input.ConsistentRead, answer);
        // DynamoDB validates the projection whether or not the item exists.
        const out = project(input.ProjectionExpression, item ? cloneItem(item) : {}, ctx);
        ctx.checkAllUsed();
        return item ? { Item: out } : {};
      }
      case 'BatchGetItemCommand':
        return this.batchGet(input, answer);
      case 'PutItemCommand': {
        const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
        const key = this.keyString(input.TableName, input.Item);
        const before = this.current(input.TableName, key);
        this.checkCondition(input.ConditionExpression, before, ctx, input.ReturnValuesOnConditionCheckFailure);
        ctx.checkAllUsed();
        writes.push(this.write(input.TableName, key, cloneItem(input.Item)));
        return input.ReturnValues === 'ALL_OLD' && before ? { Attributes: before } : {};
      }
      case 'UpdateItemCommand': {
        const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
        const key = this.keyString(input.TableName, input.Key);
        const before = this.current(input.TableName, key);
        this.checkCondition(input.ConditionExpression, before, ctx, input.ReturnValuesOnConditionCheckFailure);
        const after = applyUpdate(input.UpdateExpression ?? '', before, input.Key, ctx);
        ctx.checkAllUsed();
        writes.push(this.write(input.TableName, key, after));
        if (input.ReturnValues === 'ALL_NEW') return { Attributes: cloneItem(after) };
        if (input.ReturnValues === 'ALL_OLD') return before ? { Attributes: before } : {};
        return {};
      }
      case 'DeleteItemCommand': {
        const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
        const key = this.keyString(input.TableName, input.Key);
        const before = this.current(input.TableName, key);
        this.checkCondition(input.ConditionExpression, before, ctx, input.ReturnValuesOnConditionCheckFailure);
        ctx.checkAllUsed();
        if (before) writes.push(this.write(input.TableName, key, undefined));
        return input.ReturnValues === 'ALL_OLD' && before ? { Attributes: before } : {};
      }
      case 'TransactWriteItemsCommand':
        return this.transactWrite(input, answer, writes);
      case 'TransactGetItemsCommand': {
        const responses = (input.TransactItems as { Get: Record<string, any> }[]).map(({ Get }) => {
          const ctx = new ExpressionContext(Get.ExpressionAttributeNames, Get.ExpressionAttributeValues);
          const item = this.current(Get.TableName, this.keyString(Get.TableName, Get.Key));
          return item ? { Item: project(Get.ProjectionExpression, cloneItem(item), ctx) } : {};
        });
        return { Responses: responses };
      }
      case 'QueryCommand':
        return this.query(input);
      case 'ScanCommand': {
        const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
        const items = this.scanAll(input.TableName).filter(
          (item) => !input.FilterExpression || conditionHolds(input.FilterExpression, item, ctx),
        );
        const out = items.map((item) => project(input.ProjectionExpression, item, ctx));
        ctx.checkAllUsed();
        return input.Select === 'COUNT'
          ? { Count: out.length, ScannedCount: out.length }
          : { Items: out, Count: out.length, ScannedCount: out.length };
      }
      default:
        throw awsError('UnknownOperationException', `The store model does not implement ${command}`, 400);
    }
  }

  private checkCondition(expression: string | undefined, item: Item | undefined, ctx: ExpressionContext, returnOld?: string): void {
    if (!expression) return;
    if (!conditionHolds(expression, item, ctx)) {
      throw awsError(
        'ConditionalCheckFailedException',
        'The conditional request failed',
        400,
        returnOld === 'ALL_OLD' && item ? { Item: cloneItem(item) } : {},
      );
    }
  }

  private batchGet(input: Record<string, any>, answer: StoreAnswer): unknown {
    const requested = Object.entries(
      input.RequestItems as Record<
        string,
        { Keys: Item[]; ConsistentRead?: boolean; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> }
      >,
    );
    const total = requested.reduce((n, [, r]) => n + r.Keys.length, 0);
    if (total > 100) throw new ValidationError('Too many items requested for the BatchGetItem call');
    const responses: Record<string, Item[]> = {};
    const unprocessed: Record<string, any> = {};
    let index = 0;
    for (const [table, request] of requested) {
      const seen = new Set<string>();
      const ctx = new ExpressionContext(request.ExpressionAttributeNames);
      responses[table] = [];
      for (const key of request.Keys) {
        const k = this.keyString(table, key);
        if (seen.has(k)) throw new ValidationError('Provided list of item keys contains duplicates');
        seen.add(k);
        // Unprocessed: every other key, from the second on (DynamoDB returns what it read).
        if (answer === 'unprocessed' && index++ % 2 === 1) {
          unprocessed[table] ??= { ...request, Keys: [] };
          unprocessed[table].Keys.push(key);
          continue;
        }
        const item = this.read(table, k, request.ConsistentRead, answer);
        const projected = project(request.ProjectionExpression, item ? cloneItem(item) : {}, ctx);
        if (item) responses[table].push(projected);
      }
      ctx.checkAllUsed();
    }
    return { Responses: responses, UnprocessedKeys: unprocessed };
  }

  private transactWrite(input: Record<string, any>, answer: StoreAnswer, writes: AppliedWrite[]): unknown {
    const entries = input.TransactItems as Record<string, Record<string, any>>[];
    if (!entries?.length || entries.length > 100)
      throw new ValidationError('Member must have length less than or equal to 100 and greater than or equal to 1');
    const ops = entries.map((entry) => {
      const kind = Object.keys(entry).find((k) => entry[k] !== undefined) as 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
      const op = entry[kind];
      const keyItem = kind === 'Put' ? op.Item : op.Key;
      const key = this.keyString(op.TableName, keyItem);
      return { kind, op, key, table: op.TableName as string, id: `${op.TableName}\u0000${key}` };
    });
    if (new Set(ops.map((o) => o.id)).size !== ops.length) {
      throw new ValidationError('Transaction request cannot include multiple operations on one item');
    }
    if (answer === 'throttle' || answer === 'conflict') {
      const code = answer === 'throttle' ? 'ThrottlingError' : 'TransactionConflict';
      const message =
        answer === 'throttle'
          ? 'Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.'
          : 'Transaction is ongoing for the item';
      // The first item meets the ongoing transaction (or the throttle); DynamoDB says None for the rest.
      const reasons = ops.map((_, i) => (i === 0 ? { Code: code, Message: message } : { Code: 'None' }));
      throw awsError(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        400,
        { CancellationReasons: reasons },
      );
    }
    const planned: { table: string; key: string; after: Item | undefined }[] = [];
    const reasons = ops.map(({ kind, op, key, table }) => {
      const ctx = new ExpressionContext(op.ExpressionAttributeNames, op.ExpressionAttributeValues);
      const before = this.current(table, key);
      const holds = !op.ConditionExpression || conditionHolds(op.ConditionExpression, before, ctx);
      let after: Item | undefined = before;
      if (kind === 'Put') after = cloneItem(op.Item);
      else if (kind === 'Update') after = applyUpdate(op.UpdateExpression ?? '', before, op.Key, ctx);
      else if (kind === 'Delete') after = undefined;
      if (kind === 'ConditionCheck' && !op.ConditionExpression) throw new ValidationError('ConditionCheck requires a ConditionExpression');
      ctx.checkAllUsed();
      if (kind !== 'ConditionCheck') planned.push({ table, key, after });
      if (holds) return { Code: 'None' };
      return {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && before ? { Item: cloneItem(before) } : {}),
      };
    });
    if (reasons.some((r) => r.Code !== 'None')) {
      throw awsError(
        'TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        400,
        { CancellationReasons: reasons },
      );
    }
    for (const p of planned) writes.push(this.write(p.table, p.key, p.after));
    return {};
  }

  private query(input: Record<string, any>): unknown {
    const def = this.table(input.TableName);
    const index = input.IndexName ? def.indexes.find((i) => i.name === input.IndexName) : undefined;
    if (input.IndexName && !index) throw new ValidationError('The table does not have the specified index');
    if (index && input.ConsistentRead) throw new ValidationError('Consistent reads are not supported on global secondary indexes');
    const ctx = new ExpressionContext(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const hashKey = index?.hashKey ?? def.hashKey;
    const rangeKey = index ? index.rangeKey : def.rangeKey;
    let items = this.scanAll(def.name).filter(
      (item) => item[hashKey] !== undefined && (!rangeKey || !index || item[rangeKey] !== undefined),
    );
    items = items.filter((item) => conditionHolds(input.KeyConditionExpression, item, ctx));
    if (rangeKey) {
      items.sort((a, b) => {
        const x = a[rangeKey]?.S ?? a[rangeKey]?.N ?? '';
        const y = b[rangeKey]?.S ?? b[rangeKey]?.N ?? '';
        return x < y ? -1 : x > y ? 1 : 0;
      });
      if (input.ScanIndexForward === false) items.reverse();
    }
    if (index?.projection === 'KEYS_ONLY') {
      items = items.map((item) => {
        const out = this.keyOnly(def.name, item);
        out[index.hashKey] = item[index.hashKey];
        if (index.rangeKey) out[index.rangeKey] = item[index.rangeKey];
        return out;
      });
    }
    if (input.FilterExpression) items = items.filter((item) => conditionHolds(input.FilterExpression, item, ctx));
    const out = items.map((item) => project(input.ProjectionExpression, item, ctx));
    ctx.checkAllUsed();
    return input.Select === 'COUNT'
      ? { Count: out.length, ScannedCount: out.length }
      : { Items: out, Count: out.length, ScannedCount: out.length };
  }
}

/** A string form of a key, for traces. */
export function describeKey(key: Record<string, AttributeValue>): string {
  return Object.values(key)
    .map((v) => v.S ?? v.N ?? '?')
    .join('/');
}
