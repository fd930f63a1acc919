import { releaseInDoubt } from '../cli/src/ops/in-doubt';
import { redriveDeadLetters } from '../cli/src/ops/redrive';
import { resumePipeline } from '../cli/src/ops/resume';
import { LocalPipeline, type LocalPipelineOptions } from './local-pipeline';
import { reportNotForMe, reportSesFeedback } from './scenario/feedback-steps';
import { idsOf, idsOfBody, publish, putMembers } from './scenario/inputs';
import { OutcomeTracker } from './scenario/outcome-tracker';
import { buildReport, type ScenarioReport } from './scenario/report';
import type { Scenario, ScenarioStep } from './scenario-file';
import { scenarioConfig } from './scenario-file';

/*
 * The scenario runner (the contract: scenarios/README.md): runs each step against the local pipeline.
 * Split by concern under ./scenario/: what a step puts in (inputs), the per-message outcome tracking
 * (outcome-tracker), the ledger reads (ledger-reader), the report (report), and the SES and recipient
 * steps (feedback-steps).
 */

// The report's types and the row grouping are part of the runner's interface.
export type { ReportDelivery, ReportOutcome, ReportOutcomeEvent, ReportState, ScenarioReport } from './scenario/report';
export { groupRowsByAddress } from './scenario/inputs';

/** What happened in each step, for human summaries (the demo); not part of the report. */
export interface StepRecord {
  readonly index: number;
  readonly kind: string;
  readonly durationMs: number;
  /** For publish steps: the outcomes' index range `[from, to)`. */
  readonly published?: { readonly from: number; readonly to: number };
  /** For drain steps: why it ended. */
  readonly drained?: 'empty' | 'paused' | 'timeout';
  /** E-mails in the SES store when the step ended. */
  readonly deliveriesAfter: number;
}

export interface ScenarioProgress {
  readonly step: number;
  readonly steps: number;
  readonly kind: string;
  readonly published: number;
  /** Published messages with a terminal outcome so far. */
  readonly settled: number;
}

export interface RunScenarioOptions extends Omit<LocalPipelineOptions, 'config'> {
  /** Progress lines (stderr in the CLI). */
  readonly log?: (message: string) => void;
  readonly onProgress?: (progress: ScenarioProgress) => void;
  /** Called after each step, while the pipeline still runs (tests look at `status` there). */
  readonly afterStep?: (index: number, pipeline: LocalPipeline) => Promise<void>;
}

export interface ScenarioRun {
  readonly report: ScenarioReport;
  readonly steps: readonly StepRecord[];
  /** Wall time including the emulators' start and stop. */
  readonly wallMs: number;
  readonly startupMs: number;
  /** Faults that fired, by `target:kind` (what a fault step armed and the run actually met). */
  readonly faultsFired: Readonly<Record<string, number>>;
}

/** Runs one scenario through the real dispatcher on the local pipeline and builds its report (see buildReport). */
export async function runScenario(scenario: Scenario, options: RunScenarioOptions = {}): Promise<ScenarioRun> {
  const wallStart = Date.now();
  const log = options.log ?? (() => undefined);
  const config = scenarioConfig(scenario);
  const pipeline = await LocalPipeline.start({ ...options, config });
  const startupMs = Date.now() - wallStart;
  log(
    `local pipeline up in ${startupMs} ms (DynamoDB ${pipeline.aws.endpoints.dynamodb}, SQS ${pipeline.aws.endpoints.sqs}, SES ${pipeline.aws.endpoints.ses})`,
  );
  try {
    const tracker = new OutcomeTracker();
    pipeline.onOutcome((event) => tracker.record(event));
    let durations: number[] = [];
    pipeline.onInvocation((invocation) => durations.push(invocation.durationMs));
    const started = Date.now();
    const steps: StepRecord[] = [];
    const refusedMembers: { memberId: string; reason: string }[] = [];
    const progress = (index: number, kind: string) =>
      options.onProgress?.({
        step: index + 1,
        steps: scenario.steps.length,
        kind,
        published: tracker.published.length,
        settled: tracker.settledCount(),
      });
    pipeline.onOutcome(() => progress(Math.max(0, steps.length), 'drain'));

    for (const [index, step] of scenario.steps.entries()) {
      const kind = stepKind(step);
      const stepStart = Date.now();
      progress(index, kind);
      const from = tracker.published.length;
      let drained: StepRecord['drained'];
      if ('putMembers' in step) {
        refusedMembers.push(...(await putMembers(pipeline, step.putMembers, step.raw ?? false, config.fanInLimit)));
        // The registry watch has seen every write before the next step (in AWS the stream lags by
        // well under a second): a mailbox past the limit has paused the pipeline by then.
        if (pipeline.registryWatchEnabled && !(await pipeline.registryWatch.catchUp()))
          log('  the registry watch did not catch up with the members stream');
        // A pause it set has taken effect before the next step: a receive begun before it is over.
        if (!(await pipeline.settlePause())) log('  the mapping was still busy 10 s after the pause');
      } else if ('clock' in step) {
        if ('set' in step.clock) pipeline.clock.set(new Date(step.clock.set));
        else pipeline.clock.advance(step.clock.advanceSeconds);
        log(`  pipeline clock at ${pipeline.clock.now().toISOString()}`);
      } else if ('publish' in step)
        await publish(
          pipeline,
          tracker,
          step.publish.map((message) => ({ body: JSON.stringify(message), ...idsOf(message) })),
        );
      else if ('publishRaw' in step)
        await publish(
          pipeline,
          tracker,
          step.publishRaw.map((body) => ({ body, ...idsOfBody(body) })),
        );
      else if ('drain' in step) drained = await pipeline.drain(step.drain.maxSeconds ?? 300, () => progress(index, kind));
      else if ('fault' in step) pipeline.faults.arm(step.fault);
      else if ('sesFeedback' in step) await reportSesFeedback(pipeline, step.sesFeedback, log);
      else if ('reportNotForMe' in step) await reportNotForMe(pipeline, step.reportNotForMe, log);
      else if ('resume' in step) {
        // An operator's act: `ops resume --force` (a scenario cannot wait for an alarm to clear),
        // which still records who resumed and reports what it overrode.
        const result = await resumePipeline(pipeline.opsTarget, { operator: 'scenario', force: true, now: pipeline.clock.now() });
        if (result.outcome === 'new-pause')
          log(`  NOT resumed: a new pause arrived (${result.newCause?.by ?? 'unknown'}: ${result.newCause?.reason ?? 'unknown'})`);
        else log(`  resumed by ${result.resumedBy}${result.overridden.length > 0 ? `, overriding: ${result.overridden.join('; ')}` : ''}`);
      } else if ('redriveDlq' in step) {
        // `ops redrive`, following each message to its copy in the queue.
        const result = await redriveDeadLetters(pipeline.opsTarget, {
          onMoved: (deadLetterId, queueId) => tracker.alias(queueId, deadLetterId),
        });
        const kept = Object.values(result.keptRejected).reduce((sum, n) => sum + n, 0);
        log(
          `  redrove ${result.moved} message(s); ${kept} rejected stay in the DLQ${result.failed > 0 ? `; ${result.failed} could not be sent and stay too` : ''}`,
        );
      } else if ('releaseInDoubt' in step) {
        // `ops in-doubt release`. SES publishes its Send events within seconds, long before an
        // operator acts: they are delivered first, so an e-mail that did go out is reconciled to
        // `sent` and its release refused, exactly as the conditional write refuses it in AWS.
        await pipeline.feedback.pumpOnce();
        const result = await releaseInDoubt(pipeline.opsTarget, {
          dispatchIds: step.releaseInDoubt.dispatchIds,
          reason: 'scenario',
          operator: 'scenario',
          now: new Date(),
        });
        log(
          `  released ${result.released.length}${result.refused.map((r) => `; not ${r.dispatchId}: ${r.why}${r.state ? ` (${r.state})` : ''}`).join('')}`,
        );
      }
      const record: StepRecord = {
        index,
        kind,
        durationMs: Date.now() - stepStart,
        deliveriesAfter: (await pipeline.aws.sesStore()).length,
        ...(tracker.published.length > from ? { published: { from, to: tracker.published.length } } : {}),
        ...(drained ? { drained } : {}),
      };
      steps.push(record);
      log(
        `step ${index + 1}/${scenario.steps.length} ${kind}: ${describeStep(step, record)} in ${record.durationMs} ms${invocationSummary(durations)}`,
      );
      durations = [];
      progress(index, kind);
      await options.afterStep?.(index, pipeline);
    }
    await pipeline.feedback.pumpOnce();
    const report = await buildReport(scenario.name, pipeline, tracker, refusedMembers, Date.now() - started);
    const fired = Object.entries(pipeline.faults.fired()).filter(([, n]) => n > 0);
    if (fired.length > 0) log(`faults fired: ${fired.map(([name, n]) => `${name} x${n}`).join(', ')}`);
    const stats = pipeline.poller.stats;
    log(
      `invocations ${stats.invocations} (errors ${stats.errors}, crashes ${stats.crashed}, timeouts ${stats.timeouts}), cold starts ${pipeline.poller.coldStarts}`,
    );
    return { report, steps, startupMs, wallMs: Date.now() - wallStart, faultsFired: Object.fromEntries(fired) };
  } finally {
    await pipeline.stop();
  }
}

function invocationSummary(durations: readonly number[]): string {
  if (durations.length === 0) return '';
  const sorted = [...durations].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return ` (${durations.length} invocations, p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${sorted[sorted.length - 1]} ms)`;
}

function stepKind(step: ScenarioStep): string {
  return Object.keys(step).find((key) => key !== 'raw') ?? 'unknown';
}

function describeStep(step: ScenarioStep, record: StepRecord): string {
  if ('putMembers' in step) return `${step.putMembers.length} row(s)${step.raw ? ' (raw)' : ''}`;
  if (record.published) return `${record.published.to - record.published.from} message(s)`;
  if ('drain' in step) return `ended ${record.drained}`;
  if ('fault' in step) return `${step.fault.target} ${step.fault.kind} x${step.fault.times}`;
  if ('clock' in step) return 'set' in step.clock ? `set ${step.clock.set}` : `+${step.clock.advanceSeconds} s`;
  if ('sesFeedback' in step)
    return step.sesFeedback.map((f) => `${f.dispatchId} ${f.type}${f.bounceType ? `/${f.bounceType}` : ''}`).join(', ');
  if ('reportNotForMe' in step) return `${step.reportNotForMe.length} link(s) followed`;
  return 'done';
}
