import type { Statement } from '../../infra/support/stack-fixture';

/**
 * A small model of IAM's evaluation of DynamoDB requests (issue 12.11), for the conformance tests:
 * what one SDK command needs authorised (a transaction: one authorisation per item; a BatchGetItem:
 * one per key) and whether a role's synthesised Allow statements grant it (action, table, and the
 * condition keys `dynamodb:LeadingKeys`, `dynamodb:Attributes`, `dynamodb:ReturnValues`,
 * `dynamodb:Select`). An operator or condition key it does not model fails the test instead of
 * passing. Unprojected reads name every attribute; ALL_OLD/ALL_NEW return values are what the
 * statement limits.
 */

/** One IAM authorisation a DynamoDB request needs (a transaction needs one per item). */
export interface Authorisation {
  readonly action: string;
  readonly table: string;
  readonly leadingKey: string;
  /** Top-level attribute names the request names (key, update, condition, projection); undefined = every attribute. */
  readonly attributes?: readonly string[];
  readonly returnValues?: string;
  readonly select?: string;
  readonly what: string;
}

const FUNCTIONS = new Set([
  'if_not_exists',
  'list_append',
  'attribute_not_exists',
  'attribute_exists',
  'attribute_type',
  'contains',
  'begins_with',
  'size',
]);
const WORDS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN']);

/** The top-level attribute names an expression names (`a.b[0]` is `a`; `#n` resolved). */
function attributesOf(expression: string | undefined, names: Record<string, string> = {}): string[] {
  if (!expression) return [];
  const found: string[] = [];
  // Paths: a name or #placeholder, then optional .member / [index] parts; values (:v) are skipped.
  for (const match of expression.matchAll(/(?<![:\w#.])(#?[A-Za-z_][\w]*)(?:\s*\()?/g)) {
    const token = match[1];
    if (match[0].trimEnd().endsWith('(') && FUNCTIONS.has(token)) continue;
    if (WORDS.has(token.toUpperCase()) && !token.startsWith('#')) continue;
    found.push(token.startsWith('#') ? (names[token] ?? token) : token);
  }
  return found;
}

function keyOf(key: Record<string, { S?: string }>): { name: string; value: string } {
  const [name, value] = Object.entries(key)[0];
  return { name, value: value.S ?? JSON.stringify(value) };
}

/** What IAM evaluates for one SDK command. */
export function authorisationsOf(command: string, input: any): Authorisation[] {
  const update = (u: any, action: string, what: string): Authorisation => {
    const key = keyOf(u.Key);
    const names = u.ExpressionAttributeNames ?? {};
    const attributes = [key.name, ...attributesOf(u.UpdateExpression, names), ...attributesOf(u.ConditionExpression, names)];
    // IAM documents no condition key for ReturnValuesOnConditionCheckFailure: ALL_OLD is taken as a
    // read of the whole item, which no attribute-limited statement allows (the conservative reading).
    const whole = u.ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
    return {
      action,
      table: u.TableName,
      leadingKey: key.value,
      attributes: whole ? undefined : [...new Set(attributes)],
      returnValues: u.ReturnValues,
      what,
    };
  };
  const read = (
    table: string,
    k: any,
    projection: string | undefined,
    names: Record<string, string> | undefined,
    what: string,
  ): Authorisation => {
    const key = keyOf(k);
    return projection
      ? {
          action: 'dynamodb:GetItem',
          table,
          leadingKey: key.value,
          attributes: [key.name, ...attributesOf(projection, names)],
          select: 'SPECIFIC_ATTRIBUTES',
          what,
        }
      : { action: 'dynamodb:GetItem', table, leadingKey: key.value, select: 'ALL_ATTRIBUTES', what };
  };
  switch (command) {
    case 'GetItemCommand':
      return [read(input.TableName, input.Key, input.ProjectionExpression, input.ExpressionAttributeNames, 'GetItem')];
    case 'BatchGetItemCommand':
      return Object.entries(input.RequestItems as Record<string, any>).flatMap(([table, request]) =>
        request.Keys.map((k: any) => ({
          ...read(table, k, request.ProjectionExpression, request.ExpressionAttributeNames, 'BatchGetItem'),
          action: 'dynamodb:BatchGetItem',
        })),
      );
    case 'UpdateItemCommand':
      return [update(input, 'dynamodb:UpdateItem', 'UpdateItem')];
    case 'TransactWriteItemsCommand':
      return input.TransactItems.map((item: any) => {
        if (item.Update) return update(item.Update, 'dynamodb:UpdateItem', 'TransactWriteItems Update');
        if (item.ConditionCheck) return update(item.ConditionCheck, 'dynamodb:ConditionCheckItem', 'TransactWriteItems ConditionCheck');
        if (item.Put)
          return {
            action: 'dynamodb:PutItem',
            table: item.Put.TableName,
            leadingKey: '?',
            attributes: Object.keys(item.Put.Item),
            what: 'TransactWriteItems Put',
          };
        return {
          action: 'dynamodb:DeleteItem',
          table: item.Delete.TableName,
          leadingKey: keyOf(item.Delete.Key).value,
          what: 'TransactWriteItems Delete',
        };
      });
    default:
      return [{ action: `dynamodb:${command.replace(/Command$/, '')}`, table: input.TableName ?? '?', leadingKey: '?', what: command }];
  }
}

const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : [v as string]);

/** IAM's answer for the condition keys used here; an operator this does not know fails the test. */
export function conditionsHold(condition: Statement['Condition'], request: Authorisation): boolean {
  const values: Record<string, string[] | undefined> = {
    'dynamodb:LeadingKeys': [request.leadingKey],
    // Unprojected reads name every attribute: no attribute-limited statement allows them.
    'dynamodb:Attributes': request.attributes ? [...request.attributes] : ['<every attribute>'],
    'dynamodb:ReturnValues': request.returnValues ? [request.returnValues] : undefined,
    'dynamodb:Select': request.select ? [request.select] : undefined,
  };
  return Object.entries(condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, allowed]) => {
      if (!(key in values)) throw new Error(`condition key ${key} is not modelled`);
      const actual = values[key];
      const patterns = list(allowed);
      switch (operator) {
        case 'ForAllValues:StringEquals':
          return (actual ?? []).every((v) => patterns.includes(v));
        case 'ForAllValues:StringLike':
          return (actual ?? []).every((v) => patterns.some((p) => like(p, v)));
        case 'ForAllValues:StringNotLike':
          return (actual ?? []).every((v) => !patterns.some((p) => like(p, v)));
        case 'StringEqualsIfExists':
          return actual === undefined || actual.every((v) => patterns.includes(v));
        case 'StringEquals':
          return actual !== undefined && actual.every((v) => patterns.includes(v));
        default:
          throw new Error(`condition operator ${operator} is not modelled`);
      }
    }),
  );
}

export function allowedBy(
  statements: readonly Statement[],
  request: Authorisation,
  tableIds: Record<string, string>,
): Statement | undefined {
  const tableId = tableIds[request.table];
  return statements.find(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => like(a, request.action)) &&
      list(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] })) &&
      conditionsHold(s.Condition, request),
  );
}

/**
 * A call to another service (Lambda, EventBridge): allowed when an Allow statement names its action
 * on a named resource (never `*`). Which resource is asserted by the construct's infra test.
 */
export function allowsOnNamedResource(statements: readonly Statement[], action: string): Statement | undefined {
  return statements.find(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => like(a, action)) &&
      !list(s.Resource).some((r) => r === '*') &&
      s.Condition === undefined,
  );
}
