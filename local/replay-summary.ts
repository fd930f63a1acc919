import { normaliseAddress } from '../lambdas/core/address';
import { BlockReason, DispatchState } from '../lambdas/core/outcomes';
import type { Scenario } from './scenario-file';
import type { ReportDelivery, ScenarioRun } from './scenario-runner';

export interface PhaseSummary {
  readonly title: string;
  readonly expectation: string;
  readonly published: number;
  readonly counts: Readonly<Record<string, number>>;
  /** E-mails SES accepted while this phase ran. */
  readonly delivered: number;
  readonly deliveredToOwnAddress: number;
  readonly deliveredElsewhere: number;
  /** Distinct addresses the phase's messages were published to. */
  readonly addressedTo: number;
  readonly durationMs: number;
  readonly problems: readonly string[];
}

export interface ReplaySummary {
  readonly phases: readonly PhaseSummary[];
  readonly problems: readonly string[];
}

const PHASES = [
  {
    title: "Phase 1: the 2000 script's backlog, addressed to the wrong members",
    expectation: '0 delivered: every message blocked (recipient-mismatch)',
  },
  { title: 'Phase 2: the real backlog, each to its own member', expectation: 'each delivered once, to its own member' },
  { title: 'Phase 3: the same backlog replayed', expectation: 'all duplicates: 0 delivered' },
] as const;

/**
 * Checks a run of the Kaiser 2000 replay against what the design promises, phase by phase
 * (a phase is a publish step and the drain after it), from the report alone: outcomes, and the
 * deliveries read back from the SES emulator.
 */
export function summariseReplay(scenario: Scenario, run: ScenarioRun): ReplaySummary {
  const { report } = run;
  const registered = new Map<string, string>();
  for (const step of scenario.steps) {
    if ('putMembers' in step)
      for (const row of step.putMembers)
        if (typeof row.memberId === 'string' && typeof row.email === 'string') registered.set(row.memberId, normaliseAddress(row.email));
  }
  const published = scenario.steps.flatMap((step) => ('publish' in step ? [step.publish] : []));
  const publishSteps = run.steps.filter((step) => step.published);
  const problems: string[] = [];
  if (publishSteps.length !== PHASES.length) problems.push(`expected ${PHASES.length} publish steps, found ${publishSteps.length}`);

  const isOwn = (delivery: ReportDelivery) =>
    delivery.memberId !== null && registered.get(delivery.memberId) === normaliseAddress(delivery.to);
  const phases = publishSteps.slice(0, PHASES.length).map((step, phase): PhaseSummary => {
    const range = step.published ?? { from: 0, to: 0 };
    const outcomes = report.outcomes.slice(range.from, range.to);
    const nextPublish = run.steps.find((s) => s.index > step.index && s.published);
    const lastOfPhase = run.steps.filter((s) => s.index >= step.index && (!nextPublish || s.index < nextPublish.index));
    const before = run.steps.filter((s) => s.index < step.index).at(-1)?.deliveriesAfter ?? 0;
    const after = lastOfPhase.at(-1)?.deliveriesAfter ?? before;
    const deliveries = report.deliveries.slice(before, after);
    const counts: Record<string, number> = {};
    for (const outcome of outcomes) {
      const key = outcome.reason ? `${outcome.state} (${outcome.reason})` : outcome.state;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    const own = deliveries.filter(isOwn).length;
    const phaseProblems: string[] = [];
    const n = outcomes.length;
    const all = (state: string, reason?: string) =>
      outcomes.every((o) => o.state === state && (reason === undefined || o.reason === reason));
    if (phase === 0) {
      if (!all(DispatchState.Blocked, BlockReason.RecipientMismatch))
        phaseProblems.push(`not all ${n} messages were blocked as recipient-mismatch`);
      if (deliveries.length !== 0) phaseProblems.push(`${deliveries.length} e-mail(s) were delivered`);
    } else if (phase === 1) {
      if (!all(DispatchState.Sent)) phaseProblems.push(`not all ${n} messages were sent`);
      if (deliveries.length !== n) phaseProblems.push(`${deliveries.length} e-mails delivered for ${n} messages`);
      if (own !== deliveries.length)
        phaseProblems.push(`${deliveries.length - own} e-mail(s) went to an address that is not their member's`);
      const ids = new Set(deliveries.map((d) => d.dispatchId));
      if (ids.size !== deliveries.length) phaseProblems.push('a dispatchId was delivered more than once');
      const expected = new Set(outcomes.map((o) => o.dispatchId));
      if ([...ids].some((id) => !expected.has(id)))
        phaseProblems.push('an e-mail carries a dispatchId that was not published in this phase');
    } else {
      if (!all(DispatchState.Duplicate)) phaseProblems.push(`not all ${n} messages were duplicates`);
      if (deliveries.length !== 0) phaseProblems.push(`${deliveries.length} e-mail(s) were delivered again`);
    }
    const addresses = new Set((published[phase] ?? []).map((m) => (typeof m.to === 'string' ? normaliseAddress(m.to) : '')));
    const durationMs = lastOfPhase.reduce((sum, s) => sum + s.durationMs, 0);
    return {
      ...PHASES[phase],
      published: n,
      counts,
      delivered: deliveries.length,
      deliveredToOwnAddress: own,
      deliveredElsewhere: deliveries.length - own,
      addressedTo: addresses.size,
      durationMs,
      problems: phaseProblems,
    };
  });
  const strays = report.deliveries.filter((d) => !isOwn(d)).length;
  if (strays > 0) problems.push(`${strays} e-mail(s) in the SES store went to an address that is not their member's`);
  if (report.counts.pending > 0 || report.queueDepth > 0) problems.push(`${report.queueDepth} message(s) left in the queue`);
  if (report.paused) problems.push('the pipeline ended paused');
  return { phases, problems: [...phases.flatMap((p) => p.problems.map((problem) => `${p.title}: ${problem}`)), ...problems] };
}
