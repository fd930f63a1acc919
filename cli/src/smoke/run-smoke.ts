import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { registerMembers } from '../../../lambdas/adapters/dynamodb-member-registry';
import { normaliseAddress } from '../../../lambdas/core/address';
import { BlockReason, LedgerState } from '../../../lambdas/core/outcomes';
import { publishDispatches, type PublishResult } from '../../../publisher/index';
import { readDispatchRecord, type DispatchRecordView } from './dispatch-record';
import type { SmokePlan } from './smoke-plan';
import type { SmokeTarget } from './smoke-target';
import { waitFor } from './wait-for';

export interface SmokeCheck {
  readonly name: string;
  readonly ok: boolean;
  /** Safe to print: dispatchIds, memberIds, states and counts only, never an address. */
  readonly detail: string;
}

export interface SmokeReport {
  readonly target: string;
  readonly runId: string;
  readonly memberId: string;
  readonly dispatchIds: { readonly good: string; readonly wrongAddress: string };
  readonly checks: readonly SmokeCheck[];
  readonly passed: boolean;
  readonly elapsedMs: number;
}

export interface RunSmokeOptions {
  /** How long to wait for each outcome. @default 120000 */
  readonly timeoutMs?: number;
  /** @default 500 */
  readonly pollIntervalMs?: number;
  /** Progress lines (stderr in the CLI). */
  readonly progress?: (line: string) => void;
}

/**
 * The smoke test: registers the smoke member, publishes a good message and one to a wrong address
 * with the publisher client, waits for their outcomes in the ledger, then publishes the good one
 * again (a replay) and checks it was not sent twice; where the target shows sent mail, checks the
 * mailbox too. Stops at the first step whose outcome the next ones depend on.
 */
export async function runSmoke(target: SmokeTarget, plan: SmokePlan, options: RunSmokeOptions = {}): Promise<SmokeReport> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const wait = { timeoutMs, intervalMs: options.pollIntervalMs ?? 500 };
  const progress = options.progress ?? (() => undefined);
  const checks: SmokeCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    progress(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
    return ok;
  };
  const good = plan.good.dispatchId;
  const wrong = plan.wrongAddress.dispatchId;
  const report = (): SmokeReport => ({
    target: target.name,
    runId: plan.runId,
    memberId: plan.member.memberId,
    dispatchIds: { good, wrongAddress: wrong },
    checks,
    passed: checks.length > 0 && checks.every((c) => c.ok),
    elapsedMs: Date.now() - started,
  });
  const record = (dispatchId: string) => readDispatchRecord(target.clients.dynamodb, target.tables.ledger, dispatchId);
  const publish = (messages: Parameters<typeof publishDispatches>[0]) =>
    publishDispatches(messages, { queueUrl: target.queueUrl, client: target.clients.sqs });

  progress(`smoke run ${plan.runId} on ${target.name}`);
  const registration = await registerMembers(
    [{ memberId: plan.member.memberId, email: plan.member.email, status: 'active', proxies: [] }],
    {
      tables: target.tables,
      hashKey: await target.hashKey(),
      fanInLimit: target.fanInLimit,
      client: target.clients.dynamodb,
    },
  );
  const why = [...registration.refused.map((r) => r.reason), ...registration.failed.map((f) => f.error)].join('; ');
  if (
    !check(
      'member registered',
      registration.registered.length === 1,
      registration.registered.length === 1 ? plan.member.memberId : `${plan.member.memberId}: ${why}`,
    )
  )
    return report();

  if (!check('published', publishedAll(await publish([plan.good, plan.wrongAddress])), `${good}, ${wrong}`)) return report();

  const sent = await waitFor(
    () => record(good),
    (r) => isSettled(r),
    wait,
  );
  if (
    !check(
      'good message sent',
      sent.value?.state === LedgerState.Sent && !!sent.value.sesMessageId,
      describe(good, sent.value, sent.met, timeoutMs),
    )
  ) {
    return report();
  }
  const sesMessageId = sent.value?.sesMessageId;
  const blocked = await waitFor(
    () => record(wrong),
    (r) => isSettled(r),
    wait,
  );
  check(
    'wrong address blocked',
    blocked.value?.state === LedgerState.Blocked && blocked.value.reason === BlockReason.RecipientMismatch && blocked.value.sentCount === 0,
    describe(wrong, blocked.value, blocked.met, timeoutMs),
  );

  if (!check('duplicate published', publishedAll(await publish([plan.duplicate])), `${good} again`)) return report();
  const drained = await waitFor(
    () => queueDepth(target),
    (depth) => depth === 0,
    wait,
  );
  const after = await record(good);
  check(
    'duplicate not sent again',
    drained.met && after?.state === LedgerState.Sent && after.sesMessageId === sesMessageId && after.sentCount === 1,
    drained.met
      ? `${good}: ${after?.state ?? 'no record'}, sent ${after?.sentCount ?? 0} time(s), SES message id ${after?.sesMessageId === sesMessageId ? 'unchanged' : 'CHANGED'}`
      : `the queue still held ${drained.value ?? '?'} message(s) after ${timeoutMs / 1000} s: the duplicate was not consumed`,
  );

  if (target.mailbox) {
    const address = normaliseAddress(plan.member.email);
    const wrongAddress = normaliseAddress(String(plan.wrongAddress.to));
    // The feedback loop or a slow emulator may lag the ledger: wait for the one expected e-mail.
    const mail = await waitFor(
      () => target.mailbox!.sent(),
      (all) => all.some((m) => m.dispatchId === good),
      wait,
    );
    const all = mail.value ?? [];
    const forGood = all.filter((m) => m.dispatchId === good);
    const forWrong = all.filter((m) => m.dispatchId === wrong || m.to.includes(wrongAddress));
    check(
      'mailbox',
      forGood.length === 1 && forGood[0]!.to.length === 1 && forGood[0]!.to[0] === address && forWrong.length === 0,
      `${target.mailbox.description}: ${forGood.length} e-mail(s) for ${good}` +
        `${forGood.length === 1 ? (forGood[0]!.to.length === 1 && forGood[0]!.to[0] === address ? ", to the member's address" : ', NOT (only) to the member’s address') : ''}; ` +
        `${forWrong.length} for ${wrong} or its address`,
    );
  } else {
    progress(`(no mailbox on ${target.kind}: SES sent mail is not readable there; the ledger is the evidence)`);
  }
  return report();
}

function publishedAll(results: readonly PublishResult[]): boolean {
  return results.every((r) => r.ok);
}

/** A record the dispatcher has finished with (claimed is an attempt in flight). */
function isSettled(record: DispatchRecordView | undefined): boolean {
  return record !== undefined && record.state !== LedgerState.Claimed && record.state !== LedgerState.Released;
}

function describe(dispatchId: string, record: DispatchRecordView | undefined, met: boolean, timeoutMs: number): string {
  if (!record) return `${dispatchId}: no ledger record after ${timeoutMs / 1000} s`;
  const state = `${record.state}${record.reason ? ` (${record.reason})` : ''}`;
  return met ? `${dispatchId}: ${state}` : `${dispatchId}: still ${state} after ${timeoutMs / 1000} s`;
}

async function queueDepth(target: SmokeTarget): Promise<number> {
  const { Attributes: a = {} } = await target.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: target.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return (
    Number(a.ApproximateNumberOfMessages ?? 0) +
    Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}
