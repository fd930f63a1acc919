import { decideDeadLetter, deadLetterRecordKey, type DeadLetter } from '../core/dead-letter';
import { parseDispatchMessage } from '../core/message';
import { MetricName, RetryReason } from '../core/outcomes';
import type { DeadLetterLedger, DeadLetterQueue, PeekedDeadLetter } from '../ports';

/**
 * Counts one metric `count` times, as the dispatcher's EMF does: namespace `MailDispatch`, service
 * `mail-dispatch`, and, with a reason, once more under a `Reason` dimension. Never an address.
 */
export type CountMetric = (name: MetricName, count: number, reason?: string) => void;

/** What one sweep needs; the handler builds it once per environment. */
export interface DlqWatchDeps {
  readonly queue: DeadLetterQueue;
  readonly ledger: DeadLetterLedger;
  /** The dispatcher's claim lease: a `claimed` record older than this is provably abandoned (12.7). */
  readonly claimLeaseSeconds: number;
  readonly now: () => Date;
  /** Structured lines, ids only (a Powertools Logger, or the local pipeline's line logger). */
  readonly logger: {
    info(message: string, fields: Record<string, unknown>): void;
    warn(message: string, fields: Record<string, unknown>): void;
  };
  /** How long a peeked message stays hidden while the sweep runs, seconds. @default 120 */
  readonly hideSeconds?: number;
  /**
   * The dispatcher's metrics for the ends the watch writes (InDoubt, Failed), so the alarms on them
   * (InDoubt pages on-call) fire as for the dispatcher's own. @default none (createDlqWatchDeps always sets it)
   */
  readonly countMetric?: CountMetric;
  /** Most messages one sweep looks at (a huge DLQ is covered over several sweeps). @default 1000 */
  readonly maxMessages?: number;
}

/** What one sweep did, by the decision taken (`lostRace`: the record moved on between read and write). */
export interface SweepSummary {
  peeked: number;
  recordedFailed: number;
  recordedRejected: number;
  markedInDoubt: number;
  waiting: number;
  unchanged: number;
  lostRace: number;
  errors: number;
}

/**
 * One sweep of the DLQ: peek every message (each stays hidden until the sweep ends, so each is
 * seen once), give each one without a recorded end the single ledger write its decision asks for,
 * then make them all visible again. Nothing is deleted: `ops redrive` finds every message where it
 * was. The ledger's stream turns each write into its outcome event. A message that fails is counted
 * and logged (ids only) and the sweep goes on; the next sweep tries it again.
 */
export async function sweepDeadLetters(deps: DlqWatchDeps, remainingMs: () => number = () => Infinity): Promise<SweepSummary> {
  const summary: SweepSummary = {
    peeked: 0,
    recordedFailed: 0,
    recordedRejected: 0,
    markedInDoubt: 0,
    waiting: 0,
    unchanged: 0,
    lostRace: 0,
    errors: 0,
  };
  const peeked: PeekedDeadLetter[] = [];
  const hideSeconds = deps.hideSeconds ?? 120;
  // Everything must be released before the hiding ends and before the invocation does.
  const deadline = Date.now() + (hideSeconds * 1000) / 2;
  try {
    while (summary.peeked < (deps.maxMessages ?? 1000) && Date.now() < deadline && remainingMs() > 10_000) {
      const batch = await deps.queue.peek(hideSeconds);
      if (batch.length === 0) break;
      peeked.push(...batch);
      summary.peeked += batch.length;
      for (const message of batch) await watchOne(message, deps, summary);
    }
  } finally {
    // Counted even when a peek failed midway: the writes already made are ends the alarms must see.
    countEnds(summary, deps.countMetric);
    await deps.queue.release(peeked);
  }
  return summary;
}

/** The dispatcher's metrics for the ends this sweep wrote: same names and dimensions, so the same alarms fire. */
function countEnds(summary: SweepSummary, countMetric: CountMetric | undefined): void {
  if (!countMetric) return;
  if (summary.markedInDoubt > 0) countMetric(MetricName.InDoubt, summary.markedInDoubt);
  if (summary.recordedFailed > 0) {
    countMetric(MetricName.Failed, summary.recordedFailed);
    countMetric(MetricName.Failed, summary.recordedFailed, RetryReason.DeadLettered);
  }
}

async function watchOne(peeked: PeekedDeadLetter, deps: DlqWatchDeps, summary: SweepSummary): Promise<void> {
  const message: DeadLetter = {
    messageId: peeked.messageId,
    parse: parseDispatchMessage(peeked.body),
    ...(peeked.rejectedMessageId ? { rejectedMessageId: peeked.rejectedMessageId } : {}),
    ...(peeked.rejectedByDispatcher ? { rejectedByDispatcher: true } : {}),
  };
  const ids = message.parse.ok
    ? { dispatchId: message.parse.message.dispatchId, memberId: message.parse.message.memberId }
    : { dispatchId: message.parse.dispatchId, memberId: message.parse.memberId };
  const log = { ...ids, sqsMessageId: peeked.messageId };
  try {
    const key = deadLetterRecordKey(message);
    const record = await deps.ledger.read(key);
    const now = deps.now();
    const decision = decideDeadLetter({ message, record, claimLeaseSeconds: deps.claimLeaseSeconds, now });
    let written = true;
    switch (decision.action) {
      case 'none':
        summary.unchanged++;
        return;
      case 'needs-operator':
        // Counted as an error, so the invocation fails and DlqWatchErrors pages; every sweep until someone fixes it.
        summary.errors++;
        deps.logger.warn('dead-lettered record needs an operator: the watch cannot write its end', {
          dispatchId: key.id,
          why: decision.why,
        });
        return;
      case 'wait':
        summary.waiting++;
        deps.logger.info('dead-lettered message waits: its claim may still be live', { ...log, state: record?.state });
        return;
      case 'record-failed': {
        if (!message.parse.ok) return;
        const { dispatchId, memberId, template } = message.parse.message;
        written = await deps.ledger.recordFailed(
          { reason: decision.reason, dispatchId, memberId, template, sqsMessageId: peeked.messageId, now },
          record,
        );
        if (written) summary.recordedFailed++;
        break;
      }
      case 'record-rejected':
        written = await deps.ledger.recordRejected({ reason: decision.reason, field: decision.field, ...ids, sqsMessageId: key.id, now });
        if (written) summary.recordedRejected++;
        break;
      case 'mark-in-doubt':
        written = await deps.ledger.markInDoubt(key.id, decision.claimToken, now);
        if (written) summary.markedInDoubt++;
        break;
    }
    if (!written) summary.lostRace++;
    deps.logger.warn(written ? 'dead-lettered message had no recorded end: recorded' : 'dead-lettered record moved on: next sweep', {
      ...log,
      action: decision.action,
      previousState: record?.state ?? null,
    });
  } catch (error) {
    summary.errors++;
    deps.logger.warn('dead-lettered message not handled: next sweep', { ...log, errorName: (error as Error)?.name });
  }
}
