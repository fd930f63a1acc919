/**
 * The deterministic scheduler. Every await of the real code on a port (a DynamoDB, SES, SQS or
 * Lambda call, a sleep, a timer) becomes a pending operation of the actor that made it; nothing
 * happens until the scheduler picks one. Between picks the real code runs until every actor is
 * blocked again. A schedule is the sequence of picks (and of the answers each pick meets), so
 * one list of numbers replays one interleaving exactly: fast-check shrinks that list, and the
 * exhaustive search enumerates every list of a small configuration.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Where the next choice comes from. `n` options; returns 0..n-1. */
export interface ChoiceSource {
  pick(n: number, what: string): number;
}

/** Choices from a list of numbers (fast-check generates and shrinks it); 0 once it runs out. */
export class ListChoices implements ChoiceSource {
  private i = 0;
  constructor(private readonly list: readonly number[]) {}
  pick(n: number): number {
    if (n <= 1) return 0;
    const v = this.list[this.i++];
    return v === undefined ? 0 : v % n;
  }
}

/**
 * Depth-first enumeration of every choice sequence: replays a prefix, then takes 0 at new
 * depths, recording how many options each depth had; `advance()` moves to the next sequence.
 */
export class ExhaustiveChoices implements ChoiceSource {
  private path: { chosen: number; options: number }[] = [];
  private depth = 0;
  pick(n: number): number {
    if (n <= 1) return 0;
    if (this.depth < this.path.length) {
      const step = this.path[this.depth++];
      if (step.options !== n) throw new Error(`nondeterministic schedule: depth ${this.depth - 1} had ${step.options} options, now ${n}`);
      return step.chosen;
    }
    this.path.push({ chosen: 0, options: n });
    this.depth++;
    return 0;
  }
  /** The choices of the schedule just run. */
  get choices(): number[] {
    return this.path.map((p) => p.chosen);
  }
  /** Prepares the next sequence; false when every one was run. */
  advance(): boolean {
    this.path.length = this.depth;
    this.depth = 0;
    while (this.path.length > 0) {
      const last = this.path[this.path.length - 1];
      if (last.chosen + 1 < last.options) {
        last.chosen++;
        return true;
      }
      this.path.pop();
    }
    return false;
  }
}

/** A concurrent actor: an invocation, the breaker, an operator, a registry writer. */
export interface Actor {
  readonly id: string;
  readonly kind: 'invocation' | 'breaker' | 'feedback' | 'operator' | 'registry' | 'esm';
  /** What it does, for the trace ("dispatcher invocation of [m1, m2] in env-1"). */
  readonly title: string;
  alive: boolean;
  done: boolean;
  /** Why it stopped, when it died (crash, Lambda timeout). */
  death?: string;
  /** Lambda invocations: model time (ms) at which the function times out. */
  deadline?: number;
  /** Operations it has had answered, in order (labels), for the trace and invariant (a). */
  readonly history: OpRecord[];
}

export interface OpRecord {
  readonly step: number;
  readonly label: string;
  readonly answer: string;
  /** The structured facts of the op (what invariants look at). */
  readonly facts?: Record<string, unknown>;
}

/** One await of the real code, waiting for the scheduler. */
export interface PendingOp {
  readonly seq: number;
  readonly actor: Actor;
  readonly kind: 'dynamodb' | 'ses' | 'sqs' | 'lambda' | 'sleep';
  readonly label: string;
  /** Answers the scheduler may choose from when it picks this op (first = the ordinary one). */
  readonly answers: readonly string[];
  /** Model time this op can complete at (sleeps, timers); picking it moves the clock there. */
  readonly wakeAt?: number;
  /** Applies the op's effect with the chosen answer and settles the awaiting promise. */
  run(answer: string): void;
  /** The fates a crash of its actor may leave it in: whether the request had left ('applied'). */
  readonly crashFates: readonly ('lost' | 'applied')[];
  /** Applies the request without answering anyone (the caller died after it left). */
  applyOrphaned?(): void;
  /** Facts for invariants (keys, dispatchIds), filled by the client that made it. */
  readonly facts?: Record<string, unknown>;
  /** Model time the request was made at (its actor awaited it then), set by the world. */
  readonly issuedAt?: number;
}

export const actorContext = new AsyncLocalStorage<Actor>();

/** The actor whose code is running now (undefined outside any actor: setup code). */
export function currentActor(): Actor | undefined {
  return actorContext.getStore();
}

/** Resolves after every microtask the real code queued has run: every actor is blocked again. */
export function quiesce(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
