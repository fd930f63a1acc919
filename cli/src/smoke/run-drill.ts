import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { BlockReason, LedgerState } from '../../../lambdas/core/outcomes';
import { publishDispatches } from '../../../publisher/index';
import { MEMBERS_TABLE } from '../../../lambdas/tables';
import { resumePipeline } from '../ops/resume';
import type { OpsTarget } from '../ops/target';
import { readDispatchRecord, type DispatchRecordView } from './dispatch-record';
import type { SmokeCheck } from './run-smoke';
import type { SmokeTarget } from './smoke-target';
import { waitFor } from './wait-for';

/**
 * The post-deploy drill's members: each registered at one SES mailbox simulator address, whose
 * answer proves one link of the feedback chain. Fixed ids, so repeated drills add no member to a
 * simulator mailbox (the fan-in guard counts distinct members per mailbox, `+label` or not); the
 * drill clears their suppressions before it starts. The delivery is proven on the smoke test's
 * own message (its member holds the simulator's success address).
 */
export const DRILL_MEMBERS = {
  bounce: { memberId: 'DRILL-BOUNCE', email: 'bounce@simulator.amazonses.com' },
  complaint: { memberId: 'DRILL-COMPLAINT', email: 'complaint@simulator.amazonses.com' },
} as const;
type DrillMember = keyof typeof DRILL_MEMBERS;
const DRILL_KINDS = Object.keys(DRILL_MEMBERS) as DrillMember[];

export interface DrillStep extends SmokeCheck {
  readonly elapsedMs: number;
}

export interface DrillReport {
  readonly target: string;
  readonly runId: string;
  readonly steps: readonly DrillStep[];
  readonly passed: boolean;
  readonly elapsedMs: number;
}

export interface RunDrillOptions {
  readonly runId: string;
  /** The smoke test's good message, sent to the smoke member: its delivery proves the Delivery link. */
  readonly deliveredDispatchId: string;
  /** How long to wait for each link. @default 300000 (CloudWatch evaluates once a minute) */
  readonly timeoutMs?: number;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
  readonly progress?: (line: string) => void;
  /** Recorded on the resume. @default 'drill' */
  readonly operator?: string;
}

/** What to check when a link did not answer: the resources between the two ends, in order. */
const FEEDBACK_CHAIN =
  'the SES -> SNS -> feedback chain: the configuration set event destination, the events topic policy (ses.amazonaws.com may publish for this configuration set), the key policy (SES and SNS may use the CMK), the feedback function subscription and its failure queue (FeedbackFailedInvocations)';
const ALARM_CHAIN =
  'the alarm -> SNS -> breaker chain: the alarm topic policy (cloudwatch.amazonaws.com may publish for this stack), the key policy (CloudWatch may use the CMK), the breaker subscription and its filter policy, the breaker permission on the mapping (BreakerErrors, the breaker log)';

/**
 * The drill after a first deployment (`npm run smoke -- --drill`): proves in the real account
 * what no emulator can. Three messages to the SES mailbox simulator show the Send, Delivery,
 * Bounce and Complaint feedback reaching the ledger, and the bounce's suppression blocking the
 * next message; then `SetAlarmState` on FanInSpike shows the alarm action pausing the pipeline,
 * and a resume undoes it. Each step says what it proved and how long it took; a failing one names
 * the link to check. Stops at the first failure (later steps depend on it).
 */
export async function runDrill(smoke: SmokeTarget, ops: OpsTarget, options: RunDrillOptions): Promise<DrillReport> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 300_000;
  const wait = { timeoutMs, intervalMs: options.pollIntervalMs ?? 1000 };
  const progress = options.progress ?? (() => undefined);
  const steps: DrillStep[] = [];
  let stepStarted = Date.now();
  const step = (name: string, ok: boolean, detail: string) => {
    const elapsedMs = Date.now() - stepStarted;
    steps.push({ name, ok, detail, elapsedMs });
    progress(`${ok ? 'ok  ' : 'FAIL'} ${name} (${(elapsedMs / 1000).toFixed(1)} s): ${detail}`);
    stepStarted = Date.now();
    return ok;
  };
  const report = (): DrillReport => ({
    target: smoke.name,
    runId: options.runId,
    steps,
    passed: steps.length > 0 && steps.every((s) => s.ok),
    elapsedMs: Date.now() - started,
  });
  const record = (dispatchId: string) => readDispatchRecord(smoke.clients.dynamodb, smoke.tables.ledger, dispatchId);
  const dispatchId = (member: DrillMember, n = 1) => `${options.runId}-${member}-${n}`;
  const publish = async (member: DrillMember, n = 1) => {
    const { memberId, email } = DRILL_MEMBERS[member];
    const [result] = await publishDispatches(
      [{ dispatchId: dispatchId(member, n), memberId, to: email, template: 'advice-nurse-reply', data: { firstName: 'Drill' } }],
      { queueUrl: smoke.queueUrl, client: smoke.clients.sqs },
    );
    return result.ok;
  };

  progress(`drill ${options.runId} on ${smoke.name}`);
  const members = Object.values(DRILL_MEMBERS);
  const registration = await registerMembers(
    members.map((m) => ({ memberId: m.memberId, email: m.email, status: 'active', proxies: [] })),
    { tables: smoke.tables, hashKey: await smoke.hashKey(), fanInLimit: smoke.fanInLimit, client: smoke.clients.dynamodb },
  );
  const refused = [
    ...registration.refused.map((r) => `${r.memberId}: ${r.reason}`),
    ...registration.failed.map((f) => `${f.memberId}: ${f.error}`),
  ];
  if (
    !step(
      'drill members registered',
      registration.registered.length === members.length,
      refused.join('; ') || members.map((m) => m.memberId).join(', '),
    )
  ) {
    return report();
  }
  for (const { memberId } of members) await clearSuppression(smoke, memberId);
  if (!step('published', (await Promise.all(DRILL_KINDS.map((m) => publish(m)))).every(Boolean), 'one message per simulator address')) {
    return report();
  }

  const sent = await waitFor(
    () => Promise.all(DRILL_KINDS.map((m) => record(dispatchId(m)))),
    (records) => records.every((r) => r?.state === LedgerState.Sent),
    wait,
  );
  const states = (sent.value ?? []).map((r, i) => `${DRILL_KINDS[i]}: ${r?.state ?? 'no record'}`).join(', ');
  if (
    !step(
      'SES accepted both (Send)',
      sent.met,
      sent.met
        ? states
        : `${states} after ${timeoutMs / 1000} s: check the dispatcher (DispatcherErrors, its log) and the SES identity and sandbox`,
    )
  ) {
    return report();
  }

  for (const [id, fate] of [
    [options.deliveredDispatchId, 'delivered'],
    [dispatchId('bounce'), 'bounced'],
    [dispatchId('complaint'), 'complained'],
  ] as const) {
    const got = await waitFor(
      () => record(id),
      (r) => r?.fate === fate,
      wait,
    );
    if (
      !step(
        `feedback: ${fate}`,
        got.met,
        got.met ? `${id}: ${fate}` : `${id}: fate ${got.value?.fate ?? 'none'} after ${timeoutMs / 1000} s: check ${FEEDBACK_CHAIN}`,
      )
    ) {
      return report();
    }
  }

  if (!step('published after the bounce', await publish('bounce', 2), dispatchId('bounce', 2))) return report();
  const blocked = await waitFor(
    () => record(dispatchId('bounce', 2)),
    (r) => r !== undefined && r.state !== LedgerState.Claimed,
    wait,
  );
  const suppressed =
    blocked.value?.state === LedgerState.Blocked && blocked.value.reason === BlockReason.Suppressed && blocked.value.sentCount === 0;
  if (
    !step(
      'suppression took effect',
      suppressed,
      `${dispatchId('bounce', 2)}: ${describe(blocked.value)}${suppressed ? ', nothing sent' : ': the bounce did not suppress the address'}`,
    )
  ) {
    return report();
  }

  if (!ops.setAlarmState || !ops.fanInAlarmName || !ops.eventSource) {
    step('alarm action', false, `${ops.name} cannot set the fan-in alarm's state or read the event source`);
    return report();
  }
  await ops.setAlarmState(ops.fanInAlarmName, 'ALARM', `post-deploy drill ${options.runId}`);
  const paused = await waitFor(
    async () => ({ enabled: await ops.eventSource!.isEnabled(), flag: await ops.pauseSwitch.read() }),
    (s) => !s.enabled && s.flag.paused,
    wait,
  );
  const pausedDetail = paused.value
    ? `mapping ${paused.value.enabled ? 'still enabled' : 'disabled'}, pause flag ${paused.value.flag.paused ? `set by ${paused.value.flag.cause?.by ?? '?'}` : 'clear'}`
    : 'unknown';
  if (
    !step(
      'alarm action paused the pipeline',
      paused.met,
      paused.met ? pausedDetail : `${pausedDetail} after ${timeoutMs / 1000} s: check ${ALARM_CHAIN}`,
    )
  )
    return report();

  // CloudWatch moves the alarm back at its next evaluation (no data is not breaching): wait for it,
  // so the resume refuses nothing, rather than forcing it.
  const cleared = await waitFor(
    async () => (await ops.alarms())?.find((a) => a.name === ops.fanInAlarmName)?.state,
    (state) => state !== 'ALARM',
    wait,
  );
  if (
    !step(
      'alarm back to OK',
      cleared.met,
      cleared.met ? `${ops.fanInAlarmName}: ${cleared.value}` : `${ops.fanInAlarmName} still in ALARM after ${timeoutMs / 1000} s`,
    )
  )
    return report();
  await resumePipeline(ops, { operator: options.operator ?? 'drill', now: new Date() });
  const resumed = await waitFor(
    async () => ({ enabled: await ops.eventSource!.isEnabled(), paused: (await ops.pauseSwitch.read()).paused }),
    (s) => s.enabled && !s.paused,
    wait,
  );
  step(
    'resumed',
    resumed.met,
    resumed.met
      ? 'mapping enabled, pause flag clear'
      : `mapping ${resumed.value?.enabled ? 'enabled' : 'disabled'}, flag ${resumed.value?.paused ? 'set' : 'clear'}`,
  );
  return report();
}

/** The drill's own members start unsuppressed, so each drill proves the bounce afresh. */
async function clearSuppression(smoke: SmokeTarget, memberId: string): Promise<void> {
  await smoke.clients.dynamodb.send(
    new UpdateItemCommand({
      TableName: smoke.tables.members,
      Key: { [MEMBERS_TABLE.partitionKey]: { S: memberId } },
      UpdateExpression: 'REMOVE suppressed, suppressedReason, suppressedAt, suppressions',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#pk': MEMBERS_TABLE.partitionKey },
    }),
  );
}

function describe(record: DispatchRecordView | undefined): string {
  if (!record) return 'no record';
  return `${record.state}${record.reason ? ` (${record.reason})` : ''}`;
}
