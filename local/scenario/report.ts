import { DispatchState } from '../../lambdas/core/outcomes';
import { dispatchRefFromText } from '../../lambdas/core/templates';
import { QUEUES, RejectAttribute } from '../../lambdas/tables';
import type { LocalPipeline } from '../local-pipeline';
import { readLedger } from './ledger-reader';
import type { OutcomeTracker } from './outcome-tracker';

/** A report state: the terminal states plus `pending` (still in the queue). */
export type ReportState = (typeof DispatchState)[keyof typeof DispatchState];

export interface ReportOutcome {
  readonly dispatchId: string | null;
  readonly memberId: string | null;
  readonly state: ReportState;
  readonly reason?: string;
}

export interface ReportDelivery {
  readonly dispatchId: string | null;
  readonly memberId: string | null;
  readonly to: string;
}

export interface ReportOutcomeEvent {
  readonly dispatchId: string | null;
  readonly memberId: string | null;
  readonly event: string;
  readonly reason?: string;
}

/** The report of `scenarios/README.md`, key for key. */
export interface ScenarioReport {
  readonly scenario: string;
  readonly published: number;
  readonly counts: { sent: number; blocked: number; rejected: number; duplicate: number; inDoubt: number; failed: number; pending: number };
  readonly outcomes: ReportOutcome[];
  readonly deliveries: ReportDelivery[];
  /** What the outcome feed (the portal's view) delivered during the run, in the order received. */
  readonly outcomeEvents: ReportOutcomeEvent[];
  readonly refusedMembers: { memberId: string; reason: string }[];
  readonly paused: boolean;
  readonly queueDepth: number;
  readonly dlqDepth: number;
  readonly elapsedMs: number;
}

/**
 * The report of a run. A message's state: the ledger's when the ledger's claim is this message's (sent, or in-doubt
 * if never confirmed: this covers an attempt that died after SES accepted), else `pending` while
 * it is still in the queue, else the last terminal outcome the dispatcher reported for it, else
 * `failed` (with the last retry reason) when it sits in the DLQ.
 */
export async function buildReport(
  name: string,
  pipeline: LocalPipeline,
  tracker: OutcomeTracker,
  refusedMembers: { memberId: string; reason: string }[],
  elapsedMs: number,
): Promise<ScenarioReport> {
  const { aws } = pipeline;
  const [queued, dead, emails, paused] = await Promise.all([
    aws.inspectQueue(QUEUES.dispatch),
    aws.inspectQueue(QUEUES.deadLetter),
    aws.sesStore(),
    pipeline.paused(),
  ]);
  const outcomeEvents = (await pipeline.receiveOutcomeEvents()).map(
    ({ detail }): ReportOutcomeEvent => ({
      dispatchId: detail.dispatchId,
      memberId: detail.memberId,
      event: detail.event,
      ...(detail.reason !== undefined ? { reason: detail.reason } : {}),
    }),
  );
  const dispatchIds = [...new Set(tracker.published.flatMap((p) => (p.dispatchId ? [p.dispatchId] : [])))];
  const ledger = await readLedger(pipeline, dispatchIds);
  const inQueue = new Set(queued.map((m) => m.messageId));
  const deadLettered = new Set(dead.filter((m) => !m.messageAttributes?.[RejectAttribute.reason]).map((m) => m.messageId));

  const outcomes = tracker.published.map((message): ReportOutcome => {
    const base = { dispatchId: message.dispatchId, memberId: message.memberId };
    const ids = tracker.ids(message.messageId);
    const latest = ids[ids.length - 1];
    const record = message.dispatchId ? ledger.get(message.dispatchId) : undefined;
    const claimedByThis = record?.claimMessageId !== undefined && ids.includes(record.claimMessageId);
    if (claimedByThis && record?.state === DispatchState.Sent) return { ...base, state: DispatchState.Sent };
    if (inQueue.has(latest)) return { ...base, state: DispatchState.Pending };
    if (claimedByThis && (record?.state === DispatchState.InDoubt || record?.state === 'claimed'))
      return { ...base, state: DispatchState.InDoubt };
    const terminal = tracker.terminal(message.messageId);
    if (terminal) {
      const outcome = terminal.outcome;
      return { ...base, state: outcome.state as ReportState, ...('reason' in outcome ? { reason: outcome.reason } : {}) };
    }
    if (deadLettered.has(latest))
      return { ...base, state: DispatchState.Failed, reason: tracker.retryReason(message.messageId) ?? 'unexpected-error' };
    return { ...base, state: DispatchState.Pending };
  });

  const memberOfDispatch = new Map<string, string>();
  for (const message of tracker.published)
    if (message.dispatchId && message.memberId) memberOfDispatch.set(message.dispatchId, message.memberId);
  const deliveries = emails.map((email): ReportDelivery => {
    const dispatchId = dispatchRefFromText(email.body.text ?? '') ?? null;
    const memberId = (dispatchId && (ledger.get(dispatchId)?.memberId ?? memberOfDispatch.get(dispatchId))) || null;
    return { dispatchId, memberId, to: email.destination.to.join(', ') };
  });

  const count = (state: ReportState) => outcomes.filter((o) => o.state === state).length;
  return {
    scenario: name,
    published: tracker.published.length,
    counts: {
      sent: count(DispatchState.Sent),
      blocked: count(DispatchState.Blocked),
      rejected: count(DispatchState.Rejected),
      duplicate: count(DispatchState.Duplicate),
      inDoubt: count(DispatchState.InDoubt),
      failed: count(DispatchState.Failed),
      pending: count(DispatchState.Pending),
    },
    outcomes,
    deliveries,
    outcomeEvents,
    refusedMembers,
    paused,
    queueDepth: queued.length,
    dlqDepth: dead.length,
    elapsedMs,
  };
}
