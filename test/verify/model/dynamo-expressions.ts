/**
 * DynamoDB's expression language (condition, update, projection, key condition) evaluated on
 * items in wire form (`AttributeValue` maps), as the service evaluates them. The store model
 * runs the adapters' own expressions through this, so a wrong expression fails here as it would
 * on AWS, instead of the model sharing the adapter's assumptions.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { RESERVED_WORDS } from './reserved-words';

export type Item = Record<string, AttributeValue>;

/** The error a DynamoDB call answers for a malformed request (`ValidationException`). */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationException';
  }
}

type Token = { kind: 'name' | 'ident' | 'value' | 'number' | 'punct' | 'keyword'; text: string };
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'SET', 'REMOVE', 'ADD', 'DELETE']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(<>|<=|>=|[=<>(),.[\]+-]))/y;
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw new ValidationError(`Invalid expression: syntax error near "${source.slice(at, at + 10)}"`);
    at = re.lastIndex;
    if (m[1]) tokens.push({ kind: 'name', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'value', text: m[2] });
    else if (m[3]) tokens.push({ kind: KEYWORDS.has(m[3].toUpperCase()) ? 'keyword' : 'ident', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'number', text: m[4] });
    else tokens.push({ kind: 'punct', text: m[5] });
  }
  return tokens;
}

/** Names and values of one request, with the bookkeeping DynamoDB does (unused ones are an error). */
export class ExpressionContext {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();
  constructor(
    readonly names: Record<string, string> = {},
    readonly values: Record<string, AttributeValue> = {},
  ) {}

  name(token: string): string {
    const name = this.names[token];
    if (name === undefined) throw new ValidationError(`Value provided in ExpressionAttributeNames unused or undefined: ${token}`);
    this.usedNames.add(token);
    return name;
  }

  value(token: string): AttributeValue {
    const value = this.values[token];
    if (value === undefined)
      throw new ValidationError(`An expression attribute value used in expression is not defined; attribute value: ${token}`);
    this.usedValues.add(token);
    return value;
  }

  /** Marks (and checks) the names and values one parsed expression refers to. */
  bind(refs: Refs): void {
    for (const n of refs.names) this.name(n);
    for (const v of refs.values) this.value(v);
  }

  /** DynamoDB refuses a request that defines names or values no expression uses. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((n) => !this.usedNames.has(n));
    if (unusedNames.length > 0)
      throw new ValidationError(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`);
    const unusedValues = Object.keys(this.values).filter((v) => !this.usedValues.has(v));
    if (unusedValues.length > 0)
      throw new ValidationError(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`);
  }
}

type PathElement = { readonly attr: string } | { readonly name: string } | { readonly index: number };
interface Refs {
  readonly names: Set<string>;
  readonly values: Set<string>;
}
type Path = readonly PathElement[];

type Operand =
  | { readonly op: 'path'; readonly path: Path }
  | { readonly op: 'value'; readonly ref: string }
  | { readonly op: 'size'; readonly path: Path }
  | { readonly op: 'if_not_exists'; readonly path: Path; readonly fallback: Operand }
  | { readonly op: 'list_append'; readonly a: Operand; readonly b: Operand }
  | { readonly op: 'arith'; readonly sign: '+' | '-'; readonly a: Operand; readonly b: Operand };

type Condition =
  | { readonly c: 'and' | 'or'; readonly a: Condition; readonly b: Condition }
  | { readonly c: 'not'; readonly a: Condition }
  | { readonly c: 'cmp'; readonly cmp: string; readonly a: Operand; readonly b: Operand }
  | { readonly c: 'between'; readonly a: Operand; readonly lo: Operand; readonly hi: Operand }
  | { readonly c: 'in'; readonly a: Operand; readonly list: readonly Operand[] }
  | { readonly c: 'fn'; readonly fn: string; readonly path: Path; readonly arg?: Operand };

/** A bare attribute name: DynamoDB refuses a reserved word there. */
function bare(name: string): string {
  if (RESERVED_WORDS.has(name.toUpperCase()))
    throw new ValidationError(`Invalid expression: Attribute name is a reserved keyword; reserved keyword: ${name}`);
  return name;
}

class Parser {
  private i = 0;
  readonly refs: Refs = { names: new Set(), values: new Set() };
  constructor(private readonly tokens: Token[]) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }
  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new ValidationError('Invalid expression: unexpected end of input');
    return t;
  }
  private isPunct(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'punct' && t.text === text;
  }
  private isKeyword(text: string): boolean {
    const t = this.peek();
    return t?.kind === 'keyword' && t.text.toUpperCase() === text;
  }
  expect(text: string): void {
    const t = this.next();
    if (t.text.toUpperCase() !== text.toUpperCase()) throw new ValidationError(`Invalid expression: expected ${text}, got ${t.text}`);
  }

  private nameRef(text: string): PathElement {
    this.refs.names.add(text);
    return { name: text };
  }

  path(): Path {
    const elements: PathElement[] = [];
    const first = this.next();
    if (first.kind === 'name') elements.push(this.nameRef(first.text));
    else if (first.kind === 'ident') elements.push({ attr: bare(first.text) });
    else if (first.kind === 'keyword')
      throw new ValidationError(`Invalid expression: reserved keyword ${first.text} used as an attribute name`);
    else throw new ValidationError(`Invalid expression: expected an attribute path, got ${first.text}`);
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        const t = this.next();
        elements.push(t.kind === 'name' ? this.nameRef(t.text) : { attr: bare(t.text) });
      } else if (this.isPunct('[')) {
        this.next();
        elements.push({ index: Number(this.next().text) });
        this.expect(']');
      } else return elements;
    }
  }

  operand(): Operand {
    const t = this.peek();
    if (t?.kind === 'value') {
      this.next();
      this.refs.values.add(t.text);
      return { op: 'value', ref: t.text };
    }
    if (t?.kind === 'ident' && this.peek(1)?.text === '(') {
      const fn = t.text;
      this.next();
      this.expect('(');
      if (fn === 'size') {
        const path = this.path();
        this.expect(')');
        return { op: 'size', path };
      }
      if (fn === 'if_not_exists') {
        const path = this.path();
        this.expect(',');
        const fallback = this.setValue();
        this.expect(')');
        return { op: 'if_not_exists', path, fallback };
      }
      if (fn === 'list_append') {
        const a = this.setValue();
        this.expect(',');
        const b = this.setValue();
        this.expect(')');
        return { op: 'list_append', a, b };
      }
      throw new ValidationError(`Invalid expression: unknown function ${fn}`);
    }
    return { op: 'path', path: this.path() };
  }

  setValue(): Operand {
    const a = this.operand();
    if (this.isPunct('+') || this.isPunct('-')) {
      const sign = this.next().text as '+' | '-';
      return { op: 'arith', sign, a, b: this.operand() };
    }
    return a;
  }

  condition(): Condition {
    let left = this.andCondition();
    while (this.isKeyword('OR')) {
      this.next();
      left = { c: 'or', a: left, b: this.andCondition() };
    }
    return left;
  }
  private andCondition(): Condition {
    let left = this.notCondition();
    while (this.isKeyword('AND')) {
      this.next();
      left = { c: 'and', a: left, b: this.notCondition() };
    }
    return left;
  }
  private notCondition(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { c: 'not', a: this.notCondition() };
    }
    return this.primary();
  }
  private primary(): Condition {
    if (this.isPunct('(')) {
      this.next();
      const inner = this.condition();
      this.expect(')');
      return inner;
    }
    const t = this.peek();
    const fns = ['attribute_exists', 'attribute_not_exists', 'attribute_type', 'begins_with', 'contains'];
    if (t?.kind === 'ident' && fns.includes(t.text) && this.peek(1)?.text === '(') {
      this.next();
      this.expect('(');
      const path = this.path();
      let arg: Operand | undefined;
      if (t.text !== 'attribute_exists' && t.text !== 'attribute_not_exists') {
        this.expect(',');
        arg = this.operand();
      }
      this.expect(')');
      return { c: 'fn', fn: t.text, path, arg };
    }
    const a = this.operand();
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const lo = this.operand();
      this.expect('AND');
      return { c: 'between', a, lo, hi: this.operand() };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expect('(');
      const list = [this.operand()];
      while (this.isPunct(',')) {
        this.next();
        list.push(this.operand());
      }
      this.expect(')');
      return { c: 'in', a, list };
    }
    const cmp = this.next();
    if (cmp.kind !== 'punct' || !['=', '<>', '<', '<=', '>', '>='].includes(cmp.text)) {
      throw new ValidationError(`Invalid expression: expected a comparator, got ${cmp.text}`);
    }
    return { c: 'cmp', cmp: cmp.text, a, b: this.operand() };
  }

  peekKeyword(): string | undefined {
    const t = this.peek();
    return t?.kind === 'keyword' ? t.text.toUpperCase() : undefined;
  }
  takeComma(): boolean {
    if (!this.isPunct(',')) return false;
    this.next();
    return true;
  }
  nextKeyword(): string {
    return this.next().text.toUpperCase();
  }
}

let bound: ExpressionContext = new ExpressionContext();

function attrOf(el: PathElement): string | undefined {
  return 'attr' in el ? el.attr : 'name' in el ? bound.names[el.name] : undefined;
}

function getPath(item: Item | undefined, path: Path): AttributeValue | undefined {
  let current: AttributeValue | undefined = item ? { M: item } : undefined;
  for (const el of path) {
    if (!current) return undefined;
    const attr = attrOf(el);
    if (attr !== undefined) current = current.M?.[attr];
    else current = current.L?.[(el as { index: number }).index];
  }
  return current;
}

function typeOf(v: AttributeValue): string {
  return Object.keys(v).find((k) => (v as unknown as Record<string, unknown>)[k] !== undefined && k !== '$unknown') ?? '?';
}

function equal(a: AttributeValue, b: AttributeValue): boolean {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  switch (ta) {
    case 'S':
      return a.S === b.S;
    case 'N':
      return Number(a.N) === Number(b.N);
    case 'BOOL':
      return a.BOOL === b.BOOL;
    case 'NULL':
      return true;
    case 'B':
      return Buffer.from(a.B!).equals(Buffer.from(b.B!));
    case 'SS':
      return sameSet(a.SS!, b.SS!);
    case 'NS':
      return sameSet(a.NS!.map(Number).map(String), b.NS!.map(Number).map(String));
    case 'L':
      return a.L!.length === b.L!.length && a.L!.every((x, i) => equal(x, b.L![i]));
    case 'M': {
      const ka = Object.keys(a.M!);
      return ka.length === Object.keys(b.M!).length && ka.every((k) => b.M![k] !== undefined && equal(a.M![k], b.M![k]));
    }
    default:
      return false;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function order(a: AttributeValue, b: AttributeValue): number | undefined {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return undefined;
  if (ta === 'N') return Number(a.N) - Number(b.N);
  if (ta === 'S') return a.S! < b.S! ? -1 : a.S! > b.S! ? 1 : 0;
  return undefined;
}

function evalOperand(item: Item | undefined, o: Operand): AttributeValue | undefined {
  switch (o.op) {
    case 'path':
      return getPath(item, o.path);
    case 'value':
      return bound.values[o.ref];
    case 'size': {
      const v = getPath(item, o.path);
      if (!v) return undefined;
      const t = typeOf(v);
      const n =
        t === 'S'
          ? v.S!.length
          : t === 'B'
            ? Buffer.from(v.B!).length
            : t === 'SS'
              ? v.SS!.length
              : t === 'NS'
                ? v.NS!.length
                : t === 'L'
                  ? v.L!.length
                  : t === 'M'
                    ? Object.keys(v.M!).length
                    : undefined;
      return n === undefined ? undefined : { N: String(n) };
    }
    case 'if_not_exists':
      return getPath(item, o.path) ?? evalOperand(item, o.fallback);
    case 'list_append': {
      const a = evalOperand(item, o.a);
      const b = evalOperand(item, o.b);
      if (!a?.L || !b?.L)
        throw new ValidationError(
          'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append',
        );
      return { L: [...a.L, ...b.L] };
    }
    case 'arith': {
      const a = evalOperand(item, o.a);
      const b = evalOperand(item, o.b);
      if (!a || !b) throw new ValidationError('The provided expression refers to an attribute that does not exist in the item');
      if (a.N === undefined || b.N === undefined)
        throw new ValidationError('An operand in the update expression has an incorrect data type');
      return { N: String(o.sign === '+' ? Number(a.N) + Number(b.N) : Number(a.N) - Number(b.N)) };
    }
  }
}

function evalCondition(item: Item | undefined, c: Condition): boolean {
  switch (c.c) {
    case 'and':
      return evalCondition(item, c.a) && evalCondition(item, c.b);
    case 'or':
      return evalCondition(item, c.a) || evalCondition(item, c.b);
    case 'not':
      return !evalCondition(item, c.a);
    case 'cmp': {
      const a = evalOperand(item, c.a);
      const b = evalOperand(item, c.b);
      // As DynamoDB (Local) answers: a missing operand is unequal to anything, and no other comparison holds.
      if (!a || !b) return c.cmp === '<>';
      if (c.cmp === '=') return equal(a, b);
      if (c.cmp === '<>') return !equal(a, b);
      const o = order(a, b);
      if (o === undefined) return false;
      return c.cmp === '<' ? o < 0 : c.cmp === '<=' ? o <= 0 : c.cmp === '>' ? o > 0 : o >= 0;
    }
    case 'between': {
      const a = evalOperand(item, c.a);
      const lo = evalOperand(item, c.lo);
      const hi = evalOperand(item, c.hi);
      if (!a || !lo || !hi) return false;
      const l = order(a, lo);
      const h = order(a, hi);
      return l !== undefined && h !== undefined && l >= 0 && h <= 0;
    }
    case 'in': {
      const a = evalOperand(item, c.a);
      return (
        !!a &&
        c.list.some((o) => {
          const v = evalOperand(item, o);
          return !!v && equal(a, v);
        })
      );
    }
    case 'fn': {
      const v = getPath(item, c.path);
      const arg = c.arg && evalOperand(item, c.arg);
      switch (c.fn) {
        case 'attribute_exists':
          return v !== undefined;
        case 'attribute_not_exists':
          return v === undefined;
        case 'attribute_type':
          return v !== undefined && arg?.S === typeOf(v);
        case 'begins_with':
          return v?.S !== undefined && arg?.S !== undefined && v.S.startsWith(arg.S);
        case 'contains': {
          if (!v || !arg) return false;
          const t = typeOf(v);
          if (t === 'S') return arg.S !== undefined && v.S!.includes(arg.S);
          if (t === 'SS') return arg.S !== undefined && v.SS!.includes(arg.S);
          if (t === 'NS') return arg.N !== undefined && v.NS!.some((n) => Number(n) === Number(arg.N));
          if (t === 'L') return v.L!.some((x) => equal(x, arg));
          return false;
        }
      }
      return false;
    }
  }
}

/** Parses and evaluates a condition expression against an item (undefined = no item). */
const conditions = new Map<string, { condition: Condition; refs: Refs }>();

export function conditionHolds(expression: string, item: Item | undefined, ctx: ExpressionContext): boolean {
  let parsed = conditions.get(expression);
  if (!parsed) {
    const parser = new Parser(tokenize(expression));
    const condition = parser.condition();
    if (!parser.done) throw new ValidationError('Invalid ConditionExpression: syntax error (trailing tokens)');
    conditions.set(expression, (parsed = { condition, refs: parser.refs }));
  }
  ctx.bind(parsed.refs);
  bound = ctx;
  return evalCondition(item, parsed.condition);
}

function clone(v: AttributeValue): AttributeValue {
  return JSON.parse(JSON.stringify(v)) as AttributeValue;
}

function setPath(item: Item, path: Path, value: AttributeValue | undefined): void {
  let container: AttributeValue = { M: item };
  for (let i = 0; i < path.length - 1; i++) {
    const el = path[i];
    const a = attrOf(el);
    const next: AttributeValue | undefined = a !== undefined ? container.M?.[a] : container.L?.[(el as { index: number }).index];
    if (!next) throw new ValidationError('The document path provided in the update expression is invalid for update');
    container = next;
  }
  const last = path[path.length - 1];
  const lastAttr = attrOf(last);
  if (lastAttr !== undefined) {
    if (!container.M) throw new ValidationError('The document path provided in the update expression is invalid for update');
    if (value === undefined) delete container.M[lastAttr];
    else container.M[lastAttr] = value;
  } else if ('index' in last) {
    if (!container.L) throw new ValidationError('The document path provided in the update expression is invalid for update');
    if (value === undefined) container.L.splice(last.index, 1);
    else if (last.index >= container.L.length) container.L.push(value);
    else container.L[last.index] = value;
  }
}

function pathKey(path: Path): string {
  return path.map((el) => (attrOf(el) !== undefined ? `.${attrOf(el)}` : `[${(el as { index: number }).index}]`)).join('');
}

type UpdateAction = { readonly clause: string; readonly path: Path; readonly value?: Operand };
const updates = new Map<string, { actions: UpdateAction[]; refs: Refs }>();

function parseUpdate(expression: string): { actions: UpdateAction[]; refs: Refs } {
  let parsed = updates.get(expression);
  if (parsed) return parsed;
  const parser = new Parser(tokenize(expression));
  const actions: UpdateAction[] = [];
  const seenClauses = new Set<string>();
  while (!parser.done) {
    const clause = parser.nextKeyword();
    if (seenClauses.has(clause))
      throw new ValidationError(`Invalid UpdateExpression: The "${clause}" section can only be used once in an update expression`);
    if (!['SET', 'REMOVE', 'ADD', 'DELETE'].includes(clause))
      throw new ValidationError(`Invalid UpdateExpression: unknown clause ${clause}`);
    seenClauses.add(clause);
    do {
      const path = parser.path();
      if (clause === 'SET') {
        parser.expect('=');
        actions.push({ clause, path, value: parser.setValue() });
      } else if (clause === 'REMOVE') {
        actions.push({ clause, path });
      } else {
        actions.push({ clause, path, value: parser.operand() });
      }
    } while (parser.takeComma());
  }
  updates.set(expression, (parsed = { actions, refs: parser.refs }));
  return parsed;
}

/** Applies an update expression to (a copy of) an item; all right-hand sides read the item as it was. */
export function applyUpdate(expression: string, before: Item | undefined, key: Item, ctx: ExpressionContext): Item {
  const { actions, refs } = parseUpdate(expression);
  ctx.bind(refs);
  bound = ctx;
  const original = before ?? { ...key };
  const after = cloneItem(original);
  const touched = actions.map((a) => pathKey(a.path));
  for (let i = 0; i < touched.length; i++) {
    for (let j = 0; j < touched.length; j++) {
      if (i !== j && (touched[j] === touched[i] || touched[j].startsWith(`${touched[i]}.`) || touched[j].startsWith(`${touched[i]}[`))) {
        throw new ValidationError(
          `Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths`,
        );
      }
    }
  }
  for (const k of Object.keys(key)) {
    if (touched.includes(`.${k}`))
      throw new ValidationError(
        `One or more parameter values were invalid: Cannot update attribute ${k}. This attribute is part of the key`,
      );
  }
  const effects: (() => void)[] = [];
  for (const a of actions) {
    if (a.clause === 'SET') {
      const value = evalOperand(original, a.value!);
      if (!value) throw new ValidationError('The provided expression refers to an attribute that does not exist in the item');
      effects.push(() => setPath(after, a.path, clone(value)));
    } else if (a.clause === 'REMOVE') {
      effects.push(() => {
        if (getPath(after, a.path) !== undefined) setPath(after, a.path, undefined);
      });
    } else {
      const value = evalOperand(original, a.value!)!;
      const current = getPath(original, a.path);
      effects.push(() => setPath(after, a.path, addOrDelete(a.clause, current, value)));
    }
  }
  effects.forEach((e) => e());
  return after;
}

function addOrDelete(clause: string, current: AttributeValue | undefined, value: AttributeValue): AttributeValue | undefined {
  const t = typeOf(value);
  if (clause === 'ADD' && t === 'N') {
    if (current && current.N === undefined) throw new ValidationError('An operand in the update expression has an incorrect data type');
    return { N: String(Number(current?.N ?? 0) + Number(value.N)) };
  }
  if (t !== 'SS' && t !== 'NS' && t !== 'BS')
    throw new ValidationError(`Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ${clause}`);
  const elements = (value as unknown as Record<string, string[]>)[t];
  if (current && typeOf(current) !== t) throw new ValidationError('An operand in the update expression has an incorrect data type');
  const existing = current ? (current as unknown as Record<string, string[]>)[t] : [];
  if (clause === 'ADD') return { [t]: [...new Set([...existing, ...elements])] } as unknown as AttributeValue;
  const left = existing.filter((x) => !elements.includes(x));
  return left.length === 0 ? undefined : ({ [t]: left } as unknown as AttributeValue);
}

/** The attributes a projection expression names (top-level paths only). */
export function project(expression: string | undefined, item: Item, ctx: ExpressionContext): Item {
  if (!expression) return item;
  const parser = new Parser(tokenize(expression));
  const paths: Path[] = [];
  do paths.push(parser.path());
  while (parser.takeComma());
  ctx.bind(parser.refs);
  bound = ctx;
  const out: Item = {};
  for (const path of paths) {
    const top = attrOf(path[0]);
    if (getPath(item, path) !== undefined && top !== undefined) out[top] = item[top];
  }
  return out;
}

/** Evaluates a key condition expression (`pk = :v [AND sk op :w]`) against an item. */
export function keyConditionHolds(expression: string, item: Item, ctx: ExpressionContext): boolean {
  return conditionHolds(expression, item, ctx);
}

/** Deep copy of an item (the model never hands out its own objects). */
export function cloneItem(item: Item): Item {
  return clone({ M: item }).M as Item;
}
