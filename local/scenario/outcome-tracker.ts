import { DispatchState, type RetryReason } from '../../lambdas/core/outcomes';
import type { OutcomeEvent } from '../../lambdas/ports';

/** A message the scenario published: its first SQS id and the ids it carries (null when its body has none). */
export interface Published {
  readonly messageId: string;
  readonly dispatchId: string | null;
  readonly memberId: string | null;
}

const TERMINAL: ReadonlySet<string> = new Set(Object.values(DispatchState));

/**
 * Outcomes per published message, following a message through DLQ redrives (new SQS ids).
 * Outcomes are kept per SQS message id as they come: a message can be dispatched before its
 * publish step has returned all the ids.
 */
export class OutcomeTracker {
  readonly published: Published[] = [];
  private readonly chain = new Map<string, string[]>();
  private readonly rootOf = new Map<string, string>();
  private readonly lastTerminal = new Map<string, OutcomeEvent>();
  private readonly lastRetry = new Map<string, RetryReason>();

  add(message: Published): void {
    this.published.push(message);
    this.rootOf.set(message.messageId, message.messageId);
    this.chain.set(message.messageId, [message.messageId]);
  }

  alias(newId: string, oldId: string): void {
    const root = this.rootOf.get(oldId);
    if (!root) return;
    this.rootOf.set(newId, root);
    this.chain.get(root)?.push(newId);
  }

  record(event: OutcomeEvent): void {
    const { outcome } = event;
    if (outcome.state === 'retry' || outcome.state === DispatchState.Failed) this.lastRetry.set(event.sqsMessageId, outcome.reason);
    if (TERMINAL.has(outcome.state)) this.lastTerminal.set(event.sqsMessageId, event);
  }

  /** The message's SQS ids, oldest first (the published one, then its redriven copies). */
  ids(root: string): readonly string[] {
    return this.chain.get(root) ?? [root];
  }

  /** The last terminal outcome of the message: its latest copy that has one decides. */
  terminal(root: string): OutcomeEvent | undefined {
    return this.latest(root, this.lastTerminal);
  }

  retryReason(root: string): RetryReason | undefined {
    return this.latest(root, this.lastRetry);
  }

  /** Messages with a terminal outcome (for progress; copies count once per id). */
  settledCount(): number {
    return this.lastTerminal.size;
  }

  private latest<T>(root: string, map: ReadonlyMap<string, T>): T | undefined {
    const ids = this.ids(root);
    for (let i = ids.length - 1; i >= 0; i--) {
      const value = map.get(ids[i]);
      if (value !== undefined) return value;
    }
    return undefined;
  }
}
