import { createHash } from 'node:crypto';
import { BatchGetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import pLimit from 'p-limit';
import { mailboxOf } from '../lambdas/core/address';
import { registerMembers } from '../lambdas/adapters/dynamodb-member-registry';
import type { MemberRow } from '../lambdas/core/registry-guard';
import { PAUSE_READ_MAX_AGE_MS } from '../lambdas/adapters/cached-pause-switch';
import { DispatchState, type RetryReason } from '../lambdas/core/outcomes';
import { dispatchRefFromText, reportUrlFromText } from '../lambdas/core/templates';
import type { OutcomeEvent } from '../lambdas/ports';
import { Env, LEDGER_TABLE, LedgerKey, QUEUES, RejectAttribute } from '../lambdas/tables';
import { releaseInDoubt } from '../cli/src/ops/in-doubt';
import { redriveDeadLetters } from '../cli/src/ops/redrive';
import { resumePipeline } from '../cli/src/ops/resume';
import { LocalPipelineError } from './errors';
import type { StoredEmail } from './embedded-aws';
import { sesFeedbackEvent, type SesFeedback } from './feedback-pump';
import { LocalPipeline, type LocalPipelineOptions } from './local-pipeline';
import { followNotForMeLink } from './not-for-me-visitor';
import type { Scenario, ScenarioStep } from './scenario-file';
import { scenarioConfig } from './scenario-file';

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

interface Published {
  readonly messageId: string;
  readonly dispatchId: string | null;
  readonly memberId: string | null;
}

const TERMINAL: ReadonlySet<string> = new Set(Object.values(DispatchState));

/**
 * Runs one scenario through the real dispatcher on the local pipeline and builds its report.
 * A message's state: the ledger's when the ledger's claim is this message's (sent, or in-doubt
 * if never confirmed: this covers an attempt that died after SES accepted), else `pending` while
 * it is still in the queue, else the last terminal outcome the dispatcher reported for it, else
 * `failed` (with the last retry reason) when it sits in the DLQ.
 */
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

/**
 * SES reports events for the e-mails it accepted, as its event destination would: first the
 * `Send` events of everything accepted so far (SES publishes those at once), then each event of
 * the step, in order, through the real feedback handler.
 */
async function reportSesFeedback(
  pipeline: LocalPipeline,
  feedback: readonly (SesFeedback & { dispatchId: string })[],
  log: (message: string) => void,
): Promise<void> {
  await pipeline.feedback.pumpOnce();
  const accepted = new Map<string, StoredEmail>();
  for (const email of await pipeline.aws.sesStore()) {
    const dispatchId = dispatchRefFromText(email.body.text ?? '');
    if (dispatchId) accepted.set(dispatchId, email);
  }
  for (const item of feedback) {
    const email = accepted.get(item.dispatchId);
    if (!email) log(`  SES never accepted ${item.dispatchId}: its ${item.type} event carries an unknown SES message id`);
    await pipeline.feedbackHandler(sesFeedbackEvent(item, item.dispatchId, email, pipeline.clock.now()));
  }
}

/**
 * The recipient of each dispatchId's e-mail follows its "not for me" link: the link is read from
 * the e-mail in the SES emulator's store, the page is opened and its form submitted over HTTP, to
 * the real page handler. Each person comes from their own network (a documentation address).
 */
async function reportNotForMe(pipeline: LocalPipeline, dispatchIds: readonly string[], log: (message: string) => void): Promise<void> {
  const pausedBefore = await pipeline.paused();
  const emails = await pipeline.aws.sesStore();
  for (const dispatchId of dispatchIds) {
    const email = emails.filter((e) => dispatchRefFromText(e.body.text ?? '') === dispatchId).at(-1);
    const url = email && reportUrlFromText(email.body.text ?? '');
    if (!url) {
      log(`  reportNotForMe ${dispatchId}: no e-mail with a link for it in the SES store (nothing was delivered): nobody can report it`);
      continue;
    }
    const visit = await followNotForMeLink(url, { sourceIp: personalNetwork(dispatchId) });
    const confirmed = visit.confirmed ? `, confirmed: ${visit.confirmed.status} "${visit.confirmed.heading}"` : ' (no form to confirm)';
    log(`  reportNotForMe ${dispatchId}: page ${visit.opened.status} "${visit.opened.heading}"${confirmed}`);
  }
  // The reports paused the pipeline: the step ends once the pause holds everywhere. A dispatcher
  // environment reads the flag through a cache up to PAUSE_READ_MAX_AGE_MS old (12.8), and a
  // receive in flight when the mapping was disabled still delivers; a message published within
  // that second could still be claimed (as in AWS). The next step starts after it.
  if (!pausedBefore && (await pipeline.paused())) {
    log(`  the reports paused the pipeline: waiting ${PAUSE_READ_MAX_AGE_MS} ms for every environment's cached pause read to see it`);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_READ_MAX_AGE_MS + 100));
  }
}

/** A private address per recipient, stable per dispatchId, so that distinct people are distinct sources. */
function personalNetwork(dispatchId: string): string {
  const digest = createHash('sha256').update(dispatchId).digest();
  return `10.${digest[0]}.${digest[1]}.${digest[2]}`;
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

function idsOf(message: Record<string, unknown>): { dispatchId: string | null; memberId: string | null } {
  return {
    dispatchId: typeof message.dispatchId === 'string' ? message.dispatchId : null,
    memberId: typeof message.memberId === 'string' ? message.memberId : null,
  };
}

function idsOfBody(body: string): { dispatchId: string | null; memberId: string | null } {
  try {
    const json: unknown = JSON.parse(body);
    return typeof json === 'object' && json !== null && !Array.isArray(json)
      ? idsOf(json as Record<string, unknown>)
      : { dispatchId: null, memberId: null };
  } catch {
    return { dispatchId: null, memberId: null };
  }
}

/**
 * Outcomes per published message, following a message through DLQ redrives (new SQS ids).
 * Outcomes are kept per SQS message id as they come: a message can be dispatched before its
 * publish step has returned all the ids.
 */
class OutcomeTracker {
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

async function putMembers(pipeline: LocalPipeline, rows: readonly Record<string, unknown>[], raw: boolean, fanInLimit: number) {
  const { aws } = pipeline;
  const refused: { memberId: string; reason: string }[] = [];
  if (!raw) {
    // Rows that share no address cannot affect each other's guard decisions: register such
    // groups concurrently, and the rows of one group in file order (first come, first served).
    const limit = pLimit(6);
    const refusedAt = new Map<number, { memberId: string; reason: string }>();
    const results = await Promise.all(
      groupRowsByAddress(rows).map((group) =>
        limit(() =>
          registerMembers(group.map((i) => rows[i]) as readonly MemberRow[], {
            tables: aws.tables,
            hashKey: aws.env[Env.addressHashKey],
            fanInLimit,
            client: aws.clients.dynamodb,
            now: pipeline.clock.now,
            onRow: (result, index) => {
              if (result.outcome === 'refused') refusedAt.set(group[index], { memberId: result.memberId, reason: result.reason });
            },
          }),
        ),
      ),
    );
    const failed = results.flatMap((result) => result.failed);
    if (failed.length > 0) throw new LocalPipelineError(`The registry could not write ${failed.length} row(s): ${failed[0].error}`);
    refused.push(...[...refusedAt.entries()].sort(([a], [b]) => a - b).map(([, refusal]) => refusal));
    return refused;
  }
  // As a buggy upstream system would: straight into the table, no guard. DynamoDB itself still
  // refuses items it cannot store (a key that is not a string); those are listed as refused.
  const limit = pLimit(8);
  await Promise.all(
    rows.map((row) =>
      limit(async () => {
        try {
          await aws.clients.dynamodb.send(
            new PutItemCommand({ TableName: aws.tables.members, Item: marshall(row, { removeUndefinedValues: true }) }),
          );
        } catch (error) {
          refused.push({ memberId: String(row.memberId ?? ''), reason: `store-rejected: ${(error as Error).name}` });
        }
      }),
    ),
  );
  return refused;
}

/** Row indexes grouped so that rows sharing an address (own e-mail or proxy) or a memberId are in one group. */
export function groupRowsByAddress(rows: readonly Record<string, unknown>[]): number[][] {
  const parent = rows.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owner = new Map<string, number>();
  rows.forEach((row, i) => {
    const keys = [`id:${String(row.memberId)}`];
    const addresses = [row.email, ...(Array.isArray(row.proxies) ? row.proxies : [])];
    // One mailbox (`+tag`, case) is one fan-in count and one owner: its rows decide in file order.
    for (const address of addresses) if (typeof address === 'string') keys.push(`addr:${mailboxOf(address)}`);
    for (const key of keys) {
      const seen = owner.get(key);
      if (seen === undefined) owner.set(key, i);
      else parent[find(i)] = find(seen);
    }
  });
  const groups = new Map<number, number[]>();
  rows.forEach((_, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  });
  return [...groups.values()];
}

async function publish(
  pipeline: LocalPipeline,
  tracker: OutcomeTracker,
  messages: { body: string; dispatchId: string | null; memberId: string | null }[],
): Promise<void> {
  const ids = await sendInOrder(
    pipeline.aws.clients.sqs,
    pipeline.aws.queueUrl,
    messages.map((m) => m.body),
  );
  messages.forEach((message, i) => tracker.add({ messageId: ids[i], dispatchId: message.dispatchId, memberId: message.memberId }));
}

/** Sends bodies as the portal would (SendMessageBatch of 10), returning the SQS MessageIds in order. */
async function sendInOrder(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<string[]> {
  const ids: string[] = new Array(bodies.length);
  const limit = pLimit(4);
  const chunks: number[] = [];
  for (let i = 0; i < bodies.length; i += 10) chunks.push(i);
  await Promise.all(
    chunks.map((start) =>
      limit(async () => {
        const entries = bodies.slice(start, start + 10).map((body, j) => ({ Id: String(start + j), MessageBody: body }));
        const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if (result.Failed?.length) {
          const failure = result.Failed[0];
          throw new LocalPipelineError(`SQS refused message #${failure.Id} of the publish step (${failure.Code}: ${failure.Message})`);
        }
        for (const entry of result.Successful ?? []) ids[Number(entry.Id)] = entry.MessageId ?? '';
      }),
    ),
  );
  return ids;
}

interface LedgerRecord {
  readonly state?: string;
  readonly claimMessageId?: string;
  readonly memberId?: string;
}

async function readLedger(pipeline: LocalPipeline, dispatchIds: readonly string[]): Promise<Map<string, LedgerRecord>> {
  const { aws } = pipeline;
  const records = new Map<string, LedgerRecord>();
  const limit = pLimit(4);
  const chunks: string[][] = [];
  for (let i = 0; i < dispatchIds.length; i += 100) chunks.push(dispatchIds.slice(i, i + 100));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        let keys = chunk.map((id) => ({ [LEDGER_TABLE.partitionKey]: { S: LedgerKey.dispatch(id) } }));
        while (keys.length > 0) {
          const result = await aws.clients.dynamodb.send(
            new BatchGetItemCommand({
              RequestItems: {
                [aws.tables.ledger]: {
                  Keys: keys,
                  ConsistentRead: true,
                  ProjectionExpression: 'pk, #s, claimMessageId, memberId',
                  ExpressionAttributeNames: { '#s': 'state' },
                },
              },
            }),
          );
          for (const item of result.Responses?.[aws.tables.ledger] ?? []) {
            const record = unmarshall(item) as LedgerRecord & { pk: string };
            records.set(record.pk, record);
          }
          keys = (result.UnprocessedKeys?.[aws.tables.ledger]?.Keys ?? []) as typeof keys;
        }
      }),
    ),
  );
  return records;
}

async function buildReport(
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
