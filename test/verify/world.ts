/**
 * One model world: the store, queue, SES and mapping models behind the real code's ports, the
 * actors that run the real dispatcher / breaker / feedback / ops code, the options the scheduler
 * chooses from at every step (which await proceeds, which answer it meets, which fault or event
 * is injected), and the invariants checked after every step.
 */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { hashAddress, normaliseAddress } from '../../lambdas/core/address';
import { decodeDispatchTag } from '../../lambdas/core/dispatch-tag';
import { ledgerTableInput, membersTableInput } from '../../local/provision';
import { installRuntime, type LoadedModules, type LoadedSystem } from './load-system';
import { DynamoModel, describeKey, type AppliedWrite, type StoreAnswer } from './model/dynamo-model';
import type { Item } from './model/dynamo-expressions';
import { MappingModel } from './model/lambda-model';
import { AMBIGUOUS_SES_ANSWERS, sesAccepted, sesResponse, SesAnswer, type Acceptance } from './model/ses-model';
import { DLQ_URL, QUEUE_URL, SqsModel, type QueueMessage } from './model/sqs-model';
import { actorContext, currentActor, quiesce, type Actor, type ChoiceSource, type PendingOp } from './scheduler';
import { checkAfterStep, type Violation } from './invariants';

export const MEMBERS = 'members';
export const LEDGER = 'ledger';
export const HASH_KEY = 'verify-hash-key';
export const PAUSE_KEY = 'control#pause';

export interface MemberSeed {
  readonly memberId: string;
  readonly email: string;
  readonly status?: string;
  readonly proxies?: readonly string[];
  readonly proxyFor?: readonly string[];
}

export interface MessageSeed {
  readonly dispatchId: string;
  readonly memberId: string;
  readonly to: string;
  /** Published this many times (a re-publish of one dispatchId). @default 1 */
  readonly copies?: number;
}

/** Something the scheduler may make happen once, at any step. */
export type Injection =
  /** A raw write to the members table (the console, a script): no guard, no address index. */
  | {
      readonly kind: 'registry-write';
      readonly label: string;
      readonly memberId: string;
      readonly set?: Record<string, unknown>;
      readonly remove?: readonly string[];
    }
  /** The same change through the registry guard (the real `DynamoDbMemberRegistry.register`), as an actor. */
  | { readonly kind: 'guarded-registry-write'; readonly label: string; readonly row: Record<string, unknown> }
  | { readonly kind: 'operator-pause' }
  | { readonly kind: 'breaker-alarm' }
  | { readonly kind: 'operator-resume' }
  | { readonly kind: 'release'; readonly dispatchId: string }
  | { readonly kind: 'redrive' }
  | { readonly kind: 'window-jump' };

export interface WorldConfig {
  readonly name: string;
  readonly members: readonly MemberSeed[];
  readonly messages: readonly MessageSeed[];
  /** Execution environments the mapping may run at once (maxConcurrency). */
  readonly environments: number;
  readonly batchSize: number;
  readonly fanInLimit: number;
  readonly fanInWindowSeconds: number;
  readonly claimLeaseSeconds: number;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly functionTimeoutSeconds: number;
  /** Per environment; 0 = unlimited. */
  readonly maxSendsPerSecond: number;
  /** Model time at start (ms since epoch). */
  readonly startAt: number;
  /** Answers SES may give (the first is the ordinary one). */
  readonly sesAnswers: readonly string[];
  /** Store faults the scheduler may inject, and how many in one schedule. */
  readonly storeFaults: readonly StoreAnswer[];
  readonly storeFaultBudget: number;
  /** Crashes / Lambda timeouts of an invocation the scheduler may inject. */
  readonly crashes: number;
  /** AWS-style duplicate deliveries of an in-flight message. */
  readonly duplicates: number;
  readonly injections: readonly Injection[];
  /** Whether SES Send events reach the feedback function (late, at a step of the scheduler's choosing). */
  readonly sendEvents: boolean;
  readonly maxSteps: number;
  /** Event source mapping transitions complete at once (smaller exhaustive configurations). */
  readonly instantMapping?: boolean;
  /**
   * Seed the members as the registry guard writes them: the address index items too (each
   * mailbox's members and owners), so a guarded write meets what a real registry holds. @default false
   */
  readonly registryIndex?: boolean;
  /** Extra dispatcher environment variables (HANDLER_CONCURRENCY, ...). */
  readonly env?: Record<string, string>;
}

interface Option {
  readonly label: string;
  readonly required: boolean;
  apply(): void;
}

interface Environment {
  readonly id: string;
  readonly modules: LoadedModules;
  readonly handler: (event: unknown, context: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  busy?: Actor;
  dead: boolean;
}

/** A claim as it committed (what invariants (a), (e) and (f) need). */
export interface ClaimFact {
  readonly token: string;
  readonly dispatchId: string;
  readonly memberId: string;
  readonly actorId: string;
  readonly step: number;
  readonly at: number;
  /** Normalised addresses the member's entry allowed at the commit (own, consented proxies, not suppressed). */
  readonly allowed: ReadonlySet<string>;
  /** Index in the claimant's history of the op that committed it (-1: committed by an orphaned request). */
  readonly historyIndex: number;
  /** Why an in-doubt end of this claim is explained: an ambiguous SES answer, a crash at the send. */
  readonly explained: string[];
  sesIssued: boolean;
}

export interface RunResult {
  readonly violation?: Violation;
  readonly steps: number;
  readonly checks: number;
  readonly truncated: boolean;
  /** A fingerprint of the interleaving (actors and ops in pick order). */
  readonly fingerprint: string;
  readonly trace: readonly string[];
}

const SILENT_LOGGER = { info() {}, warn() {}, error() {}, debug() {} };

/** Sums model time (ms) to an ISO string, for traces. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export class World {
  now: number;
  step = 0;
  checks = 0;
  readonly dynamo: DynamoModel;
  readonly sqs: SqsModel;
  readonly mapping: MappingModel;
  readonly acceptances: Acceptance[] = [];
  readonly claims = new Map<string, ClaimFact>();
  /** Operator releases applied, per dispatchId. */
  readonly releases = new Map<string, number>();
  /** Model time since which the pause flag has been set (undefined: clear). */
  pausedSince?: number;
  /** The request whose effect is being applied now (answered, or orphaned by a crash). */
  private applying?: PendingOp;
  /** Pause writes that landed (model step), for invariant (f). */
  readonly pauseWrites: { step: number; by: string }[] = [];
  readonly resumes: { actor: Actor; firstReadStep?: number; endStep?: number }[] = [];
  readonly published: QueueMessage[] = [];
  readonly actors: Actor[] = [];
  readonly pending: PendingOp[] = [];
  readonly trace: string[] = [];
  readonly picks: string[] = [];
  violation?: Violation;
  private readonly envs: Environment[] = [];
  private seq = 0;
  private uuids = 0;
  private budgets: { storeFaults: number; crashes: number; duplicates: number };
  private readonly fired = new Set<number>();
  private readonly sendEventsDelivered = new Set<number>();
  private opsModules?: LoadedModules;
  private readonly systemActor: Actor;
  private readonly esmActor: Actor;

  constructor(
    readonly config: WorldConfig,
    private readonly system: LoadedSystem,
    private readonly choices: ChoiceSource,
  ) {
    this.now = config.startAt;
    this.mapping = new MappingModel(config.instantMapping ?? false, () => this.now);
    this.dynamo = new DynamoModel(() => this.now);
    this.sqs = new SqsModel(() => this.now, {
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      maxReceiveCount: config.maxReceiveCount,
    });
    this.budgets = { storeFaults: config.storeFaultBudget, crashes: config.crashes, duplicates: config.duplicates };
    this.systemActor = this.newActor('esm', 'setup', 'setup');
    this.esmActor = this.newActor('esm', 'esm', 'the SQS event source mapping');
  }

  private newActor(kind: Actor['kind'], id: string, title: string): Actor {
    const actor: Actor = { id, kind, title, alive: true, done: false, history: [] };
    if (kind !== 'esm') this.actors.push(actor);
    return actor;
  }

  /** The model clients handed to the real code (each call is a pending op). */
  readonly clients = {
    dynamodb: { send: (command: any) => this.dynamoOp(command), destroy() {}, config: {}, middlewareStack: { add() {} } },
    ses: { send: (command: any) => this.sesOp(command), destroy() {}, config: {}, middlewareStack: { add() {} } },
    sqs: { send: (command: any) => this.sqsOp(command), destroy() {}, config: {}, middlewareStack: { add() {} } },
    lambda: { send: (command: any) => this.lambdaOp(command), destroy() {}, config: {}, middlewareStack: { add() {} } },
  };

  // ---------------------------------------------------------------- runtime hooks

  private install(): void {
    installRuntime({
      nowMs: () => this.now,
      sleep: (ms) => this.sleepOp(ms),
      setTimeout: (fn, ms) => {
        void this.sleepOp(ms).then(fn);
        return 0;
      },
      clearTimeout: () => {},
      random: () => 0.5,
      uuid: () => `tok-${++this.uuids}`,
    });
  }

  private enqueue(actor: Actor, op: Omit<PendingOp, 'seq' | 'actor'>): void {
    this.pending.push({ ...op, seq: ++this.seq, actor, issuedAt: this.now });
  }

  private sleepOp(ms: number): Promise<void> {
    const actor = currentActor() ?? this.systemActor;
    if (!actor.alive) return new Promise(() => {});
    const wakeAt = this.now + Math.max(0, ms);
    return new Promise((resolve) => {
      this.enqueue(actor, {
        kind: 'sleep',
        label: `sleep ${Math.round(ms)} ms (until ${iso(wakeAt)})`,
        answers: ['ok'],
        wakeAt,
        crashFates: ['lost'],
        run: () => resolve(),
      });
    });
  }

  private dynamoOp(command: { constructor: { name: string }; input: Record<string, any> }): Promise<unknown> {
    const actor = currentActor() ?? this.systemActor;
    if (!actor.alive) return new Promise(() => {});
    const name = command.constructor.name;
    const input = command.input;
    const isWrite = ['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand'].includes(name);
    const facts = dynamoFacts(name, input);
    return new Promise((resolve, reject) => {
      const apply = (answer: string, answered: boolean) => {
        const before = this.dynamo.log.length;
        let out: unknown;
        let error: unknown;
        try {
          out = this.dynamo.execute(name, input, answer as StoreAnswer);
        } catch (e) {
          error = e;
          const errorName = (e as Error)?.name;
          // DynamoDB would refuse this request too: the code (or the model) is wrong, say so.
          if (errorName === 'ValidationException' || errorName === 'UnknownOperationException') {
            this.violate('request-valid', `${actor.id}'s ${name} is a request DynamoDB refuses: ${(e as Error).message}`, [
              JSON.stringify(input).slice(0, 600),
            ]);
          }
        }
        for (const entry of this.dynamo.log.slice(before)) this.observeWrites(entry.writes, actor, answered);
        if (!answered) return;
        if (error) reject(error);
        else resolve(out);
      };
      this.enqueue(actor, {
        kind: 'dynamodb',
        label: describeDynamo(name, input),
        get answers() {
          return [];
        },
        crashFates: isWrite ? ['lost', 'applied'] : ['lost'],
        facts: { ...facts, command: name, isWrite, input },
        run: (answer) => apply(answer, true),
        applyOrphaned: () => apply('ok', false),
      } as Omit<PendingOp, 'seq' | 'actor'>);
    });
  }

  /** The answers a store op may meet now (budgets and applicability). */
  private storeAnswers(op: PendingOp): string[] {
    const { command, isWrite, input } = op.facts as { command: string; isWrite: boolean; input: Record<string, any> };
    const answers: string[] = ['ok'];
    if (this.budgets.storeFaults > 0) {
      for (const fault of this.config.storeFaults) {
        if (fault === 'stale') continue;
        if ((fault === 'conflict' || fault === 'applied-then-500') && !isWrite) continue;
        if (fault === 'unprocessed' && !(command === 'BatchGetItemCommand' && batchKeyCount(input) > 1)) continue;
        answers.push(fault);
      }
    }
    if (this.config.storeFaults.includes('stale') && this.staleReadPossible(command, input)) answers.push('stale');
    return answers;
  }

  private staleReadPossible(command: string, input: Record<string, any>): boolean {
    if (command === 'GetItemCommand') return !input.ConsistentRead && this.dynamo.hasStaleVersion(input.TableName, [input.Key]);
    if (command === 'BatchGetItemCommand') {
      return Object.entries(input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>).some(
        ([table, r]) => !r.ConsistentRead && this.dynamo.hasStaleVersion(table, r.Keys),
      );
    }
    return false;
  }

  private sesOp(command: { constructor: { name: string }; input: Record<string, any> }): Promise<unknown> {
    const actor = currentActor() ?? this.systemActor;
    if (!actor.alive) return new Promise(() => {});
    const input = command.input;
    const to: string[] = input.Destination?.ToAddresses ?? [];
    const tag = (input.EmailTags as { Name: string; Value: string }[] | undefined)?.find((t) => t.Name === 'dispatchId')?.Value;
    const dispatchId = tag === undefined ? undefined : decodeDispatchTag(tag);
    const token = dispatchId === undefined ? undefined : this.latestClaim(actor, dispatchId)?.token;
    // Invariant (a), second half: the request leaves now; what did the task await since its claim?
    const claim = token ? this.claims.get(token) : undefined;
    if (claim) {
      claim.sesIssued = true;
      const between = actor.history.slice(claim.historyIndex + 1);
      if (claim.historyIndex < 0 || between.length > 0) {
        this.violate(
          'a-recipient-allowed-at-claim',
          `${actor.id} sent ${dispatchId} after awaiting ${between.length} other operation(s) since its claim committed`,
          [
            `between the claim's answer (step ${claim.step}) and this SES request it awaited: ${between.map((h) => `#${h.step} ${h.label}`).join('; ') || '(the claim was committed by a request whose answer was lost)'}`,
          ],
        );
      }
    }
    return new Promise((resolve, reject) => {
      const apply = (answer: string, answered: boolean) => {
        const sesMessageId = `ses-${this.acceptances.length + 1}`;
        if (sesAccepted(answer)) {
          const acceptance: Acceptance = {
            sesMessageId,
            dispatchId,
            to,
            at: this.now,
            step: this.step,
            actorId: actor.id,
            claimToken: token,
            answer,
          };
          this.acceptances.push(acceptance);
          this.onAcceptance(acceptance);
        }
        if (claim && (AMBIGUOUS_SES_ANSWERS.has(answer) || !answered))
          claim.explained.push(answered ? `SES answered ${answer}` : `${actor.id} died at its SES call`);
        if (!answered) return;
        try {
          resolve(sesResponse(answer, sesMessageId));
        } catch (e) {
          reject(e);
        }
      };
      this.enqueue(actor, {
        kind: 'ses',
        label: `SES SendEmail ${dispatchId} to ${to.join(',')}`,
        answers: this.config.sesAnswers,
        crashFates: ['lost', 'applied'],
        facts: { dispatchId, token },
        run: (answer) => apply(answer, true),
        applyOrphaned: () => apply(SesAnswer.TimeoutAccepted, false),
      });
    });
  }

  private sqsOp(command: { constructor: { name: string }; input: Record<string, any> }): Promise<unknown> {
    const actor = currentActor() ?? this.systemActor;
    if (!actor.alive) return new Promise(() => {});
    const name = command.constructor.name;
    return new Promise((resolve, reject) => {
      const apply = (answered: boolean) => {
        try {
          const out = this.sqs.execute(name, command.input);
          if (answered) resolve(out);
        } catch (e) {
          if (answered) reject(e);
        }
      };
      const queue = command.input.QueueUrl === DLQ_URL ? 'DLQ' : 'queue';
      this.enqueue(actor, {
        kind: 'sqs',
        label: `SQS ${name.replace(/Command$/, '')} (${queue})`,
        answers: ['ok'],
        crashFates: name.startsWith('Send') || name.startsWith('Delete') ? ['lost', 'applied'] : ['lost'],
        run: () => apply(true),
        applyOrphaned: () => apply(false),
      });
    });
  }

  private lambdaOp(command: { constructor: { name: string }; input: Record<string, any> }): Promise<unknown> {
    const actor = currentActor() ?? this.systemActor;
    if (!actor.alive) return new Promise(() => {});
    const name = command.constructor.name;
    return new Promise((resolve, reject) => {
      const apply = (answered: boolean) => {
        try {
          const out = this.mapping.execute(name, command.input);
          if (answered) resolve(out);
        } catch (e) {
          if (answered) reject(e);
        }
      };
      const what = name === 'UpdateEventSourceMappingCommand' ? `Update mapping Enabled=${command.input.Enabled}` : 'Get mapping';
      this.enqueue(actor, {
        kind: 'lambda',
        label: `Lambda ${what}`,
        answers: ['ok'],
        crashFates: name === 'UpdateEventSourceMappingCommand' ? ['lost', 'applied'] : ['lost'],
        run: () => apply(true),
        applyOrphaned: () => apply(false),
      });
    });
  }

  // ---------------------------------------------------------------- observing the store

  private latestClaim(actor: Actor, dispatchId: string): ClaimFact | undefined {
    let found: ClaimFact | undefined;
    for (const c of this.claims.values()) if (c.actorId === actor.id && c.dispatchId === dispatchId) found = c;
    return found;
  }

  private observeWrites(writes: readonly AppliedWrite[], actor: Actor, answered: boolean): void {
    for (const w of writes) {
      if (w.table === LEDGER) this.observeLedgerWrite(w, actor, answered);
    }
  }

  private observeLedgerWrite(w: AppliedWrite, actor: Actor, answered: boolean): void {
    const before = w.before && unmarshall(w.before);
    const after = w.after && unmarshall(w.after);
    if (after?.pk === PAUSE_KEY || before?.pk === PAUSE_KEY) {
      const was = before?.paused === true;
      const is = after?.paused === true;
      if (!was && is) {
        this.pausedSince = this.now;
        this.pauseWrites.push({ step: this.step, by: actor.id });
      }
      if (was && !is) this.pausedSince = undefined;
      return;
    }
    if (!after || typeof after.state !== 'string') return;
    if (after.state === 'claimed' && after.claimToken && after.claimToken !== before?.claimToken) {
      const member = this.dynamo.get(MEMBERS, { memberId: { S: String(after.memberId) } });
      const claim: ClaimFact = {
        token: String(after.claimToken),
        dispatchId: String(after.dispatchId ?? after.pk),
        memberId: String(after.memberId),
        actorId: actor.id,
        step: this.step,
        at: this.now,
        allowed: allowedAddresses(
          member && unmarshall(member),
          this.dynamo.scanAll(MEMBERS).map((m) => unmarshall(m)),
        ),
        // The claim's own op was pushed to the history just before it ran.
        historyIndex: answered ? actor.history.length - 1 : -1,
        explained: answered ? [] : [`${actor.id} died while its claim transaction was in flight (it committed)`],
        sesIssued: false,
      };
      this.claims.set(claim.token, claim);
      // Invariant (f), first half: a claim *made* more than ~1 s after the pause flag was set. It is
      // judged when the claim request left (the dispatcher decides on a flag read at most ~1 s old),
      // not when it committed: a request in flight while the clock jumps commits later than any code
      // can control, since the flag is deliberately not an item of the claim transaction (12.8).
      const issuedAt = Math.min(this.applying?.issuedAt ?? this.now, this.now);
      if (this.pausedSince !== undefined && issuedAt - this.pausedSince > 1000) {
        this.violate(
          'f-pause-stops-claims',
          `${actor.id} made its claim of ${claim.dispatchId} ${issuedAt - this.pausedSince} ms after the pause flag was set`,
          [],
        );
      }
    }
    if (before?.state === 'in-doubt' && after.state !== 'in-doubt' && after.state !== 'sent' && actor.kind === 'operator') {
      const id = String(after.dispatchId ?? after.pk);
      this.releases.set(id, (this.releases.get(id) ?? 0) + 1);
    }
  }

  private onAcceptance(a: Acceptance): void {
    const claim = a.claimToken ? this.claims.get(a.claimToken) : undefined;
    // (a) first half: the address was one the member's entry allowed when the claim committed.
    if (!claim) {
      this.violate('a-recipient-allowed-at-claim', `SES accepted ${a.dispatchId} from ${a.actorId}, which held no claim for it`, []);
    } else {
      for (const to of a.to) {
        if (!claim.allowed.has(normaliseAddress(to))) {
          this.violate(
            'a-recipient-allowed-at-claim',
            `SES accepted ${a.dispatchId} for ${to}, which member ${claim.memberId}'s entry did not allow when the claim committed (step ${claim.step})`,
            [`allowed then: ${[...claim.allowed].join(', ') || '(nothing)'}`],
          );
        }
      }
    }
    // (b) at most one acceptance per dispatchId, plus one per operator release.
    const count = this.acceptances.filter((x) => x.dispatchId === a.dispatchId).length;
    const allowed = 1 + (this.releases.get(a.dispatchId ?? '') ?? 0);
    if (count > allowed) {
      this.violate(
        'b-at-most-once',
        `SES accepted ${a.dispatchId} ${count} times (allowed ${allowed}: one plus ${allowed - 1} operator release(s))`,
        [
          ...this.acceptances
            .filter((x) => x.dispatchId === a.dispatchId)
            .map((x) => `accepted at step ${x.step} from ${x.actorId} (${x.answer})`),
        ],
      );
    }
    // (c) distinct members per mailbox within any span of fanInWindowSeconds.
    if (claim) {
      const box = mailbox(a.to[0] ?? '');
      const span = this.config.fanInWindowSeconds * 1000;
      const members = new Set<string>();
      for (const x of this.acceptances) {
        const c = x.claimToken ? this.claims.get(x.claimToken) : undefined;
        if (c && mailbox(x.to[0] ?? '') === box && x.at > a.at - span) members.add(c.memberId);
      }
      if (members.size > this.config.fanInLimit) {
        this.violate(
          'c-fan-in-span',
          `mailbox ${box} got mail for ${members.size} distinct members within ${this.config.fanInWindowSeconds} s (limit ${this.config.fanInLimit})`,
          [`members: ${[...members].join(', ')}`],
        );
      }
    }
  }

  violate(invariant: string, message: string, details: readonly string[]): void {
    if (this.violation) return;
    this.violation = { invariant, message, details, step: this.step };
  }

  // ---------------------------------------------------------------- setup

  private seed(): void {
    this.dynamo.createTable(membersTableInput(MEMBERS));
    this.dynamo.createTable(ledgerTableInput(LEDGER));
    for (const m of this.config.members) {
      this.dynamo.seed(
        MEMBERS,
        marshall({ status: 'active', version: 1, ...m }, { removeUndefinedValues: true, convertClassInstanceToMap: true }),
      );
    }
    if (this.config.registryIndex) {
      const index = new Map<string, { members: Set<string>; owners: Set<string> }>();
      const hold = (address: string, memberId: string, owner: boolean) => {
        const box = mailbox(address);
        const entry = index.get(box) ?? { members: new Set<string>(), owners: new Set<string>() };
        entry.members.add(memberId);
        if (owner) entry.owners.add(memberId);
        index.set(box, entry);
      };
      for (const m of this.config.members) {
        if (m.status === 'closed') continue;
        hold(m.email, m.memberId, true);
        for (const proxy of m.proxies ?? []) hold(proxy, m.memberId, false);
      }
      for (const [box, entry] of index) {
        const item: Record<string, AttributeValue> = {
          pk: { S: `registry#${hashAddress(box, HASH_KEY)}` },
          members: { SS: [...entry.members] },
        };
        if (entry.owners.size > 0) item.owners = { SS: [...entry.owners] };
        this.dynamo.seed(LEDGER, item);
      }
    }
    for (const m of this.config.messages) {
      for (let i = 0; i < (m.copies ?? 1); i++) {
        const body = JSON.stringify({
          dispatchId: m.dispatchId,
          memberId: m.memberId,
          to: m.to,
          template: 'advice-nurse-reply',
          data: { firstName: 'Pat' },
        });
        this.published.push(this.sqs.send('main', body));
      }
    }
  }

  /** The module instance the operator, breaker and feedback actors share (one per world). */
  private ops(): LoadedModules {
    this.opsModules ??= this.system.instantiate('others');
    return this.opsModules;
  }

  private newEnvironment(): Environment {
    const modules = this.system.instantiate();
    const env: Record<string, string> = {
      MEMBERS_TABLE: MEMBERS,
      LEDGER_TABLE: LEDGER,
      DLQ_URL,
      FROM_ADDRESS: 'no-reply@plan.example',
      ADDRESS_HASH_KEY: HASH_KEY,
      FAN_IN_LIMIT: String(this.config.fanInLimit),
      FAN_IN_WINDOW_SECONDS: String(this.config.fanInWindowSeconds),
      MAX_RECEIVE_COUNT: String(this.config.maxReceiveCount),
      CLAIM_LEASE_SECONDS: String(this.config.claimLeaseSeconds),
      MAX_SENDS_PER_SECOND: String(this.config.maxSendsPerSecond),
      HANDLER_CONCURRENCY: '1',
      // Every e-mail carries a "not for me" link: the dispatcher does not start without these.
      REPORT_LINK_KEY: 'a'.repeat(64),
      REPORT_PAGE_URL: 'https://report.plan.example/r',
      ...this.config.env,
    };
    const ModelDate = (globalThis as any).__verifyShims.Date as DateConstructor;
    const deps = () =>
      modules.dispatcherDeps.createDispatcherDeps({
        env,
        clients: this.clients,
        reporter: { report() {}, flush() {} },
        now: () => new ModelDate(this.now),
      });
    const e: Environment = {
      id: `env-${this.envs.length + 1}`,
      modules,
      handler: modules.dispatcherHandler.createHandler(deps),
      dead: false,
    };
    this.envs.push(e);
    return e;
  }

  private idleEnvironment(): Environment | undefined {
    const live = this.envs.filter((e) => !e.dead);
    const idle = live.find((e) => !e.busy);
    if (idle) return idle;
    if (live.length < this.config.environments) return this.newEnvironment();
    return undefined;
  }

  private canInvoke(): boolean {
    const live = this.envs.filter((e) => !e.dead);
    return live.some((e) => !e.busy) || live.length < this.config.environments;
  }

  private invocations = 0;

  private startInvocation(messages: QueueMessage[], why: string): void {
    const env = this.idleEnvironment()!;
    const handles = messages.map((m) => m.handles[m.handles.length - 1]);
    const actor = this.newActor(
      'invocation',
      `inv-${++this.invocations}`,
      `dispatcher invocation in ${env.id} of ${messages.map((m) => `${m.messageId}#${m.receiveCount}`).join(', ')} (${why})`,
    );
    actor.deadline = this.now + this.config.functionTimeoutSeconds * 1000;
    env.busy = actor;
    const records = messages.map((m, i) => ({
      messageId: m.messageId,
      receiptHandle: handles[i],
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'portal',
        ApproximateFirstReceiveTimestamp: String(m.sentAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mail-dispatch-queue',
      awsRegion: 'us-east-1',
    }));
    const context = {
      functionName: 'mail-dispatch-dispatcher',
      awsRequestId: actor.id,
      getRemainingTimeInMillis: () => Math.max(0, (actor.deadline ?? 0) - this.now),
    };
    this.trace.push(`      ${actor.id} starts: ${actor.title}`);
    actorContext
      .run(actor, () => env.handler({ Records: records }, context))
      .then(
        (response) => {
          if (!actor.alive) return;
          actor.done = true;
          env.busy = undefined;
          const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
          const toDelete = records.filter((r) => !failed.has(r.messageId));
          this.trace.push(
            `      ${actor.id} returns: ${failed.size} batch item failure(s)${failed.size ? ` (${[...failed].join(', ')})` : ''}`,
          );
          if (toDelete.length > 0) {
            this.enqueue(this.esmActor, {
              kind: 'sqs',
              label: `ESM deletes ${toDelete.map((r) => r.messageId).join(', ')} (handles of ${actor.id})`,
              answers: ['ok'],
              crashFates: ['lost'],
              run: () => toDelete.forEach((r) => this.sqs.delete(r.receiptHandle)),
            });
          }
        },
        (error: unknown) => {
          if (!actor.alive) return;
          actor.done = true;
          env.busy = undefined;
          this.trace.push(`      ${actor.id} throws ${(error as Error)?.name}: the whole batch returns to the queue`);
        },
      );
  }

  private startActor(kind: Actor['kind'], title: string, body: (m: LoadedModules) => Promise<unknown>): Actor {
    const actor = this.newActor(kind, `${kind}-${this.actors.length}`, title);
    const modules = this.ops();
    this.trace.push(`      ${actor.id} starts: ${title}`);
    actorContext
      .run(actor, () => body(modules))
      .then(
        (result) => {
          actor.done = true;
          this.trace.push(`      ${actor.id} ends${result === undefined ? '' : `: ${JSON.stringify(result).slice(0, 160)}`}`);
        },
        (error: unknown) => {
          actor.done = true;
          this.trace.push(`      ${actor.id} fails: ${(error as Error)?.name}: ${(error as Error)?.message?.slice(0, 160)}`);
        },
      );
    return actor;
  }

  private opsTarget(m: LoadedModules): unknown {
    const pauseSwitch = new m.pauseSwitch.DynamoDbPauseSwitch({ ledgerTable: LEDGER, client: this.clients.dynamodb });
    const eventSource = new m.eventSourceSwitch.LambdaEventSourceSwitch({ mappingId: this.mapping.uuid, client: this.clients.lambda });
    return {
      kind: 'local',
      name: 'model',
      tables: { members: MEMBERS, ledger: LEDGER },
      queueUrl: QUEUE_URL,
      deadLetterQueueUrl: DLQ_URL,
      fanInLimit: this.config.fanInLimit,
      clients: { dynamodb: this.clients.dynamodb, sqs: this.clients.sqs },
      pauseSwitch,
      eventSource,
      hashKey: async () => HASH_KEY,
      alarms: async () => undefined,
      oldestMessageAgeSeconds: async () => undefined,
      close() {},
    };
  }

  private fire(injection: Injection): void {
    const ModelDate = (globalThis as any).__verifyShims.Date as DateConstructor;
    switch (injection.kind) {
      case 'registry-write': {
        const actor = this.newActor('registry', `registry-${this.actors.length}`, `raw registry write: ${injection.label}`);
        const sets = Object.entries(injection.set ?? {});
        const names = Object.fromEntries([...sets.map(([k]) => k), ...(injection.remove ?? [])].map((k, i) => [`#a${i}`, k]));
        const values = Object.fromEntries(sets.map(([, v], i) => [`:v${i}`, v]));
        const parts = [];
        if (sets.length) parts.push(`SET ${sets.map((_, i) => `#a${i} = :v${i}`).join(', ')}`);
        if (injection.remove?.length) parts.push(`REMOVE ${injection.remove.map((_, i) => `#a${sets.length + i}`).join(', ')}`);
        const input: Record<string, unknown> = {
          TableName: MEMBERS,
          Key: { memberId: { S: injection.memberId } },
          UpdateExpression: parts.join(' '),
          ExpressionAttributeNames: names,
        };
        if (sets.length) input.ExpressionAttributeValues = marshall(values, { convertClassInstanceToMap: true });
        this.dynamo.execute('UpdateItemCommand', input);
        actor.done = true;
        this.trace.push(
          `      ${actor.id}: ${injection.label} (member ${injection.memberId} is now ${describeMember(this.dynamo.get(MEMBERS, { memberId: { S: injection.memberId } }))})`,
        );
        return;
      }
      case 'guarded-registry-write': {
        const tables = { members: MEMBERS, ledger: LEDGER };
        this.startActor('registry', `registry guard: ${injection.label}`, (m) =>
          new m.registry.DynamoDbMemberRegistry({
            tables,
            hashKey: HASH_KEY,
            fanInLimit: this.config.fanInLimit,
            client: this.clients.dynamodb,
            now: () => new ModelDate(this.now),
          })
            .register(injection.row)
            .then((result: { outcome: string; reason?: string }) => `${result.outcome}${result.reason ? ` (${result.reason})` : ''}`),
        );
        return;
      }
      case 'operator-pause':
        this.startActor('operator', 'ops pause (operator)', (m) =>
          m.pause.pausePipeline(this.opsTarget(m), { reason: 'drill', operator: 'oncall', now: new ModelDate(this.now) }),
        );
        return;
      case 'breaker-alarm': {
        this.startActor('breaker', 'breaker Lambda (fan-in alarm in ALARM)', (m) => {
          const target = this.opsTarget(m) as { pauseSwitch: unknown; eventSource: unknown };
          const handler = m.breaker.createBreakerHandler({
            pauseSwitch: target.pauseSwitch,
            eventSource: target.eventSource,
            now: () => new ModelDate(this.now),
            logger: SILENT_LOGGER,
          });
          return handler({
            Records: [{ Sns: { Message: JSON.stringify({ AlarmName: 'mail-dispatch-fan-in', NewStateValue: 'ALARM' }) } }],
          });
        });
        return;
      }
      case 'operator-resume': {
        const entry: { actor: Actor; firstReadStep?: number; endStep?: number } = { actor: undefined as unknown as Actor };
        entry.actor = this.startActor('operator', 'ops resume (operator)', (m) =>
          m.resume.resumePipeline(this.opsTarget(m), { operator: 'oncall', force: true, now: new ModelDate(this.now) }),
        );
        this.resumes.push(entry);
        return;
      }
      case 'release':
        this.startActor('operator', `ops in-doubt release ${injection.dispatchId}`, (m) => {
          if (!m.inDoubt) throw new Error('cli/src/ops/in-doubt.ts is not on this branch');
          const release = m.inDoubt.releaseInDoubt ?? m.inDoubt.releaseInDoubtDispatches;
          return release(this.opsTarget(m), {
            dispatchIds: [injection.dispatchId],
            reason: 'TICKET-1',
            operator: 'oncall',
            now: new ModelDate(this.now),
          });
        });
        return;
      case 'redrive':
        this.startActor('operator', 'ops redrive', (m) => m.redrive.redriveDeadLetters(this.opsTarget(m), {}));
        return;
      case 'window-jump': {
        const w = this.config.fanInWindowSeconds * 1000;
        this.advanceTo((Math.floor(this.now / w) + 1) * w + 1);
        this.trace.push(`      the clock jumps across a fan-in window boundary to ${iso(this.now)}`);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- the run

  private options(): Option[] {
    const options: Option[] = [];
    for (const op of this.pending) {
      options.push({ label: `${op.actor.id}: ${op.label}`, required: true, apply: () => this.runOp(op) });
    }
    const visible = this.sqs.visible('main');
    if (this.mapping.polling && visible.length > 0 && this.canInvoke()) {
      options.push({
        label: 'ESM polls the queue and invokes the dispatcher',
        required: true,
        apply: () => {
          const got = this.sqs.receive('main', this.config.batchSize);
          this.trace.push(
            `#${this.step} ESM receives ${got.length} message(s)${this.sqs.messages.some((m) => m.queue === 'dlq' && !m.deleted) ? '' : ''}`,
          );
          if (got.length > 0) this.startInvocation(got, 'poll');
        },
      });
    }
    if (this.mapping.inTransition) {
      options.push({
        label: `mapping finishes ${this.mapping.state}`,
        required: true,
        apply: () => {
          this.mapping.settle();
          this.trace.push(`#${this.step} the event source mapping is now ${this.mapping.state}`);
        },
      });
    }
    const quiet = this.pending.length === 0 && !(this.mapping.polling && visible.length > 0 && this.canInvoke());
    const next = this.sqs.nextVisibility();
    if (quiet && next !== undefined && this.mapping.polling) {
      options.push({
        label: `time passes to ${iso(next)} (a visibility timeout ends)`,
        required: true,
        apply: () => {
          this.advanceTo(next);
          this.trace.push(`#${this.step} time passes to ${iso(next)}: a message's visibility timeout ends`);
        },
      });
    }
    // Optional: faults and events the scheduler may inject.
    if (this.budgets.crashes > 0) {
      for (const actor of this.actors) {
        if (actor.kind !== 'invocation' || !actor.alive || actor.done) continue;
        const at = this.pending.find((p) => p.actor === actor);
        if (!at) continue;
        options.push({ label: `crash ${actor.id} at "${at.label}"`, required: false, apply: () => this.kill(actor, 'crash', 'crashes') });
      }
    }
    if (this.budgets.duplicates > 0 && this.canInvoke()) {
      for (const m of this.sqs.inFlight('main')) {
        options.push({
          label: `SQS delivers a duplicate of ${m.messageId}`,
          required: false,
          apply: () => {
            this.budgets.duplicates--;
            this.sqs.duplicate(m);
            this.trace.push(
              `#${this.step} SQS delivers a duplicate of in-flight ${m.messageId}: new receipt handle, receive count ${m.receiveCount}`,
            );
            this.startInvocation([m], 'duplicate delivery');
          },
        });
      }
    }
    this.config.injections.forEach((injection, i) => {
      if (this.fired.has(i)) return;
      options.push({
        label: `inject ${injectionLabel(injection)}`,
        // An operator's or the breaker's act happens at some step (which one is the scheduler's
        // choice); a registry write or a clock jump may also never happen.
        required: !['registry-write', 'guarded-registry-write', 'window-jump'].includes(injection.kind),
        apply: () => {
          this.fired.add(i);
          this.trace.push(`#${this.step} inject ${injectionLabel(injection)}`);
          this.fire(injection);
        },
      });
    });
    if (this.config.sendEvents) {
      this.acceptances.forEach((a, i) => {
        if (this.sendEventsDelivered.has(i)) return;
        options.push({
          label: `SES Send event for ${a.dispatchId} (${a.sesMessageId}) arrives`,
          required: false,
          apply: () => {
            this.sendEventsDelivered.add(i);
            this.trace.push(`#${this.step} SES Send event for ${a.dispatchId} (${a.sesMessageId}) reaches the feedback function`);
            this.startActor('feedback', `feedback Lambda (Send event of ${a.sesMessageId})`, (m) => {
              const store = new m.feedbackStore.DynamoDbFeedbackStore({
                membersTable: MEMBERS,
                ledgerTable: LEDGER,
                client: this.clients.dynamodb,
              });
              const ModelDate = (globalThis as any).__verifyShims.Date as DateConstructor;
              // The reputation guard's counter is not part of the invariants here: left out, it adds no orderings.
              const handler = m.feedback.createFeedbackHandler({
                store,
                now: () => new ModelDate(this.now),
                logger: SILENT_LOGGER,
                reputation: false,
              });
              const record = {
                eventType: 'Send',
                mail: { messageId: a.sesMessageId, timestamp: iso(a.at), tags: { dispatchId: [encodeTag(a.dispatchId ?? '')] } },
              };
              return handler({ Records: [{ Sns: { Message: JSON.stringify(record) } }] });
            });
          },
        });
      });
    }
    return options;
  }

  private runOp(op: PendingOp): void {
    this.pending.splice(this.pending.indexOf(op), 1);
    const answers = op.kind === 'dynamodb' ? this.storeAnswers(op) : op.answers;
    const answer = answers[this.choices.pick(answers.length, 'answer')] ?? 'ok';
    if (op.kind === 'dynamodb' && answer !== 'ok' && answer !== 'stale') this.budgets.storeFaults--;
    if (op.wakeAt !== undefined && op.wakeAt > this.now) this.advanceTo(op.wakeAt);
    op.actor.history.push({ step: this.step, label: op.label, answer, facts: op.facts });
    this.trace.push(`#${this.step} ${op.actor.id} ${op.kind === 'sleep' ? '' : 'awaited '}${op.label} → ${answer}`);
    this.applying = op;
    try {
      op.run(answer);
    } finally {
      this.applying = undefined;
    }
  }

  /** Model time moves on; a mapping transition lasts at most MAX_TRANSITION_MS, so time beyond its end completes it first. */
  private advanceTo(t: number): void {
    const endsBy = this.mapping.transitionEndsBy;
    if (endsBy !== undefined && t > endsBy) {
      this.now = endsBy;
      this.mapping.settle();
      this.trace.push(`#${this.step} the event source mapping is now ${this.mapping.state} (its transition's longest time has passed)`);
    }
    this.now = t;
  }

  /** A crash or a Lambda timeout: the invocation's pending requests may or may not have left. */
  private kill(actor: Actor, why: 'crash' | 'timeout', budget?: 'crashes'): void {
    if (budget) this.budgets[budget]--;
    actor.alive = false;
    const mine = this.pending.filter((p) => p.actor === actor);
    actor.death = `${why === 'crash' ? 'crashed' : 'timed out (Lambda timeout)'}${mine[0] ? ` at "${mine[0].label}"` : ''}`;
    const fates: string[] = [];
    for (const op of mine) {
      this.pending.splice(this.pending.indexOf(op), 1);
      const fate = op.crashFates[this.choices.pick(op.crashFates.length, 'fate')];
      fates.push(`${op.label}: ${fate === 'applied' ? 'the request had left and was applied' : 'the request never took effect'}`);
      if (fate === 'applied') {
        this.applying = op;
        try {
          op.applyOrphaned?.();
        } finally {
          this.applying = undefined;
        }
      }
    }
    // A claim whose SES request had been made dies with its sender: an in-doubt end is explained.
    for (const claim of this.claims.values()) {
      if (claim.actorId === actor.id && claim.sesIssued) claim.explained.push(`${actor.id} ${actor.death} after making its SES request`);
    }
    const env = this.envs.find((e) => e.busy === actor);
    if (env) {
      env.busy = undefined;
      env.dead = true;
    }
    this.trace.push(
      `#${this.step} ${actor.id} ${why === 'crash' ? 'crashes' : 'times out (Lambda timeout)'}${fates.length ? ` while awaiting ${fates.join('; ')}` : ''}`,
    );
  }

  private killTimedOut(): void {
    for (const actor of this.actors) {
      if (actor.kind === 'invocation' && actor.alive && !actor.done && actor.deadline !== undefined && this.now >= actor.deadline)
        this.kill(actor, 'timeout');
    }
  }

  async run(): Promise<RunResult> {
    this.install();
    this.seed();
    let truncated = false;
    for (this.step = 1; ; this.step++) {
      await quiesce();
      this.checks += checkAfterStep(this);
      if (this.violation) break;
      const options = this.options();
      if (!options.some((o) => o.required)) break;
      if (this.step > this.config.maxSteps) {
        truncated = true;
        break;
      }
      const chosen = options[this.choices.pick(options.length, 'option')];
      this.picks.push(chosen.label.replace(/tok-\d+|ses-\d+/g, ''));
      chosen.apply();
      this.killTimedOut();
    }
    await quiesce();
    if (!this.violation) this.checks += checkAfterStep(this, true);
    return {
      violation: this.violation,
      steps: this.step,
      checks: this.checks,
      truncated,
      fingerprint: this.picks.join('\n'),
      trace: this.trace,
    };
  }

  /** The store, queue, SES and mapping, in a few lines (for a failing trace). */
  describeState(): string[] {
    const lines: string[] = [];
    lines.push(
      `clock ${iso(this.now)}; mapping ${this.mapping.state}; pause flag ${this.pausedSince === undefined ? 'clear' : `set since ${iso(this.pausedSince)}`}`,
    );
    for (const m of this.dynamo.scanAll(MEMBERS)) lines.push(`member ${m.memberId.S}: ${describeMember(m)}`);
    for (const item of this.dynamo.scanAll(LEDGER)) {
      const r = unmarshall(item);
      if (String(r.pk).startsWith('fanin#')) {
        const seen =
          r.seen && typeof r.seen === 'object'
            ? Object.entries(r.seen as Record<string, number>).map(([m, at]) => `${m}@${iso(Number(at))}`)
            : [...(r.members ?? [])];
        lines.push(
          `fan-in counter ${String(r.pk).slice(6, 14)}…: ${seen.join(', ') || '(empty)'}${r.version === undefined ? '' : ` version ${r.version}`}`,
        );
      } else if (r.pk === PAUSE_KEY) lines.push(`pause flag item: paused=${r.paused} by=${r.by ?? '-'} resumedBy=${r.resumedBy ?? '-'}`);
      else if (!String(r.pk).startsWith('registry#'))
        lines.push(
          `ledger ${r.pk}: ${r.state}${r.reason ? `(${r.reason})` : ''} token=${r.claimToken ?? '-'} claimedAt=${r.claimedAt ?? '-'}`,
        );
    }
    for (const m of this.sqs.messages) {
      const where = m.deleted
        ? 'deleted'
        : m.queue === 'dlq'
          ? 'in the DLQ'
          : m.visibleAt > this.now
            ? `in flight until ${iso(m.visibleAt)}`
            : 'visible';
      lines.push(`queue message ${m.messageId} (${bodyId(m.body)}): ${where}, received ${m.receiveCount}×`);
    }
    for (const a of this.acceptances)
      lines.push(`SES accepted ${a.dispatchId} for ${a.to.join(',')} at step ${a.step} from ${a.actorId} (${a.answer})`);
    for (const a of this.actors) if (!a.alive) lines.push(`${a.id} ${a.death}`);
    return lines;
  }
}

function bodyId(body: string): string {
  try {
    return String(JSON.parse(body).dispatchId);
  } catch {
    return 'unparseable';
  }
}

function encodeTag(dispatchId: string): string {
  return dispatchId.replace(/[_.:]/g, (c) => ({ _: '_u', '.': '_d', ':': '_c' })[c] as string);
}

function injectionLabel(i: Injection): string {
  switch (i.kind) {
    case 'registry-write':
      return `raw registry write (${i.label})`;
    case 'guarded-registry-write':
      return `registry write through the guard (${i.label})`;
    case 'release':
      return `operator in-doubt release of ${i.dispatchId}`;
    default:
      return i.kind;
  }
}

function batchKeyCount(input: Record<string, any>): number {
  return Object.values(input.RequestItems as Record<string, { Keys: unknown[] }>).reduce((n, r) => n + r.Keys.length, 0);
}

/** The normalised mailbox of an address: lower-cased, `+tag` dropped from the local part. */
export function mailbox(address: string): string {
  const a = normaliseAddress(address);
  const at = a.lastIndexOf('@');
  if (at < 0) return a;
  return `${a.slice(0, at).split('+')[0]}${a.slice(at)}`;
}

function isSuppressedFlag(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

function asList(value: unknown): unknown[] {
  return value instanceof Set ? [...value] : Array.isArray(value) ? value : [];
}

/**
 * What a member's entry allows, by the contract (DESIGN.md): active, not suppressed for the
 * address, and the address is its own or a proxy that is no other member's own address unless
 * that member lists this one in `proxyFor`.
 */
export function allowedAddresses(member: Record<string, unknown> | undefined, all: readonly Record<string, unknown>[]): Set<string> {
  const out = new Set<string>();
  if (!member || member.status !== 'active' || isSuppressedFlag(member.suppressed)) return out;
  const suppressions = (member.suppressions ?? {}) as Record<string, unknown>;
  const ok = (address: string) => !(hashAddress(address, HASH_KEY) in suppressions);
  if (typeof member.email === 'string' && ok(member.email)) out.add(normaliseAddress(member.email));
  for (const p of asList(member.proxies)) {
    if (typeof p !== 'string' || !ok(p)) continue;
    const owner = all.find(
      (o) => o.memberId !== member.memberId && typeof o.email === 'string' && normaliseAddress(o.email) === normaliseAddress(p),
    );
    if (owner && !asList(owner.proxyFor).includes(member.memberId)) continue;
    out.add(normaliseAddress(p));
  }
  return out;
}

function describeMember(item: Item | undefined): string {
  if (!item) return '(no item)';
  const m = unmarshall(item);
  const extra = [
    m.proxies ? `proxies ${asList(m.proxies).join('/')}` : '',
    m.proxyFor ? `proxyFor ${asList(m.proxyFor).join('/')}` : '',
    m.suppressed ? 'suppressed' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${m.email} ${m.status}${extra ? `, ${extra}` : ''}`;
}

function dynamoFacts(name: string, input: Record<string, any>): Record<string, unknown> {
  if (name === 'TransactWriteItemsCommand')
    return {
      keys: (input.TransactItems as any[]).map((t) => describeKey((Object.values(t)[0] as any).Key ?? (Object.values(t)[0] as any).Item)),
    };
  return { keys: input.Key ? [describeKey(input.Key)] : [] };
}

/** A DynamoDB call in a few words: the command, the items, the state it writes. */
function describeDynamo(name: string, input: Record<string, any>): string {
  const short = (table: string) => (table === MEMBERS ? 'members' : 'ledger');
  const key = (k: Record<string, AttributeValue>) => {
    const s = describeKey(k);
    if (!s.startsWith('fanin#')) return s;
    const [, hash, ...rest] = s.split('#');
    return `fan-in ${hash.slice(0, 8)}…${rest.length ? `#${rest.join('#')}` : ''}`;
  };
  const state = (values: Record<string, AttributeValue> | undefined) =>
    values?.[':state']?.S ?? values?.[':claimed']?.S ?? values?.[':sent']?.S;
  switch (name) {
    case 'TransactWriteItemsCommand':
      return `TransactWriteItems [${(input.TransactItems as any[])
        .map((t) => {
          const [kind, op] = Object.entries(t)[0] as [string, any];
          const st = kind === 'Update' || kind === 'Put' ? state(op.ExpressionAttributeValues) : undefined;
          return `${kind} ${short(op.TableName)}[${key(op.Key ?? op.Item)}]${st ? ` state=${st}` : ''}`;
        })
        .join(', ')}]`;
    case 'BatchGetItemCommand':
      return `BatchGetItem ${Object.entries(input.RequestItems as Record<string, { Keys: any[] }>)
        .map(([t, r]) => `${short(t)}[${r.Keys.map(key).join(', ')}]`)
        .join(' ')}`;
    case 'UpdateItemCommand': {
      const st = state(input.ExpressionAttributeValues);
      const k = describeKey(input.Key);
      if (k === PAUSE_KEY) return `UpdateItem pause flag (${/paused = :true/.test(input.UpdateExpression) ? 'set' : 'clear'})`;
      return `UpdateItem ${short(input.TableName)}[${key(input.Key)}]${st ? ` state=${st}` : ''}`;
    }
    case 'GetItemCommand':
      return `GetItem ${describeKey(input.Key) === PAUSE_KEY ? 'pause flag' : `${short(input.TableName)}[${key(input.Key)}]`}${input.ConsistentRead ? '' : ' (eventually consistent)'}`;
    default:
      return `${name.replace(/Command$/, '')} ${input.TableName ? short(input.TableName) : ''}${input.Key ? `[${key(input.Key)}]` : ''}`;
  }
}
