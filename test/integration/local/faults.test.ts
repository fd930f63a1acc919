import { Worker } from 'node:worker_threads';
import { DispatchState } from '../../../lambdas/core/outcomes';
import type { OutcomeEvent } from '../../../lambdas/ports';
import {
  FaultPlan,
  dynamoDbThrottleError,
  requestTimeoutError,
  sesRefusalError,
  sesServerError,
  sesThrottleError,
} from '../../../local/faults';
import { classifySendError } from '../../../lambdas/adapters/sesv2-mail-sender';
import { isRetryableStoreError } from '../../../lambdas/adapters/dynamodb-errors';
import { LocalPipeline } from '../../../local/local-pipeline';
import { collectOutcomes, deliveriesByDispatchId, ledgerRecord, message, publish, putMembers } from './helpers';

describe('FaultPlan', () => {
  it('counts one armed fault down across threads, never below zero', async () => {
    const plan = FaultPlan.create();
    plan.arm({ target: 'ses', kind: 'throttle', times: 1000 });
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      const view = new Int32Array(workerData.buffer, 0, 1);
      let taken = 0;
      for (let i = 0; i < 2000; i++) {
        for (;;) {
          const left = Atomics.load(view, 0);
          if (left <= 0) break;
          if (Atomics.compareExchange(view, 0, left, left - 1) === left) { taken++; break; }
        }
      }
      parentPort.postMessage(taken);`;
    // Slot 0 is ses:throttle: two threads race the main thread for the same countdown.
    const race = () =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { buffer: plan.buffer } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    let mine = 0;
    const others = Promise.all([race(), race()]);
    for (let i = 0; i < 2000; i++) if (plan.take('ses', 'throttle')) mine++;
    const [a, b] = await others;
    expect(a + b + mine).toBe(1000);
    expect(plan.remaining()['ses:throttle']).toBe(0);
  });

  it('refuses unknown targets, kinds and counts', () => {
    const plan = FaultPlan.create();
    expect(() => plan.arm({ target: 'kinesis' as never, kind: 'throttle', times: 1 })).toThrow(/Unknown fault target/);
    expect(() => plan.arm({ target: 'ses', kind: 'explode', times: 1 })).toThrow(/Unknown ses fault/);
    expect(() => plan.arm({ target: 'dynamodb', kind: 'throttle', times: 0 })).toThrow(/positive integer/);
  });

  it('shapes its errors so the adapters classify them as the real ones', () => {
    expect(classifySendError(sesThrottleError())).toMatchObject({ name: 'SendRefusedError', kind: 'throttled' });
    expect(classifySendError(sesRefusalError())).toMatchObject({ name: 'SendRefusedError', kind: 'refused' });
    expect(classifySendError(sesServerError())).toMatchObject({ name: 'SendOutcomeUnknownError' });
    expect(classifySendError(requestTimeoutError())).toMatchObject({ name: 'SendOutcomeUnknownError' });
    expect(isRetryableStoreError(dynamoDbThrottleError())).toBe(true);
  });
});

describe('fault injection in the local pipeline', () => {
  let pipeline: LocalPipeline;
  let outcomes: OutcomeEvent[];
  let next = 0;

  beforeAll(async () => {
    pipeline = await LocalPipeline.start({ config: { maxReceiveCount: 4 }, visibilityTimeoutSeconds: 3, concurrency: 2 });
    outcomes = collectOutcomes(pipeline);
  });
  afterAll(async () => {
    await pipeline?.stop();
  });
  afterEach(() => pipeline.faults.clear());

  /** Fresh members and messages for one test. */
  async function scenario(count: number) {
    const members = Array.from({ length: count }, () => {
      next++;
      return { memberId: `F${next}`, email: `f${next}@example.org`, dispatchId: `fault-${next}` };
    });
    await putMembers(
      pipeline,
      members.map(({ memberId, email }) => ({ memberId, email })),
    );
    return members;
  }

  async function run(members: { memberId: string; email: string; dispatchId: string }[]) {
    const ids = await publish(
      pipeline,
      members.map((m) => message(m.dispatchId, m.memberId, m.email)),
    );
    expect(await pipeline.drain(60)).toBe('empty');
    const deliveries = await deliveriesByDispatchId(pipeline);
    return { ids, deliveries, events: (id: string) => outcomes.filter((o) => o.sqsMessageId === id) };
  }

  function expectEachDeliveredOnceToItsMember(members: { email: string; dispatchId: string }[], deliveries: Map<string, string[]>) {
    for (const member of members) expect(deliveries.get(member.dispatchId)).toEqual([member.email]);
  }

  it('ses throttle: refused sends are retried and each message is sent once', async () => {
    const members = await scenario(5);
    pipeline.faults.arm({ target: 'ses', kind: 'throttle', times: 6 });
    const { deliveries, ids, events } = await run(members);
    expect(pipeline.faults.fired()['ses:throttle']).toBe(6);
    expectEachDeliveredOnceToItsMember(members, deliveries);
    // With a 3 s visibility timeout a busy machine sees copies in flight: they wait (claim-in-flight)
    // or find the send done (duplicate); each message is sent by exactly one of its deliveries.
    for (const id of ids) expect(events(id).filter((e) => e.outcome.state === DispatchState.Sent)).toHaveLength(1);
  });

  it('ses error: a 4xx refusal is retried, never sent twice', async () => {
    const members = await scenario(3);
    pipeline.faults.arm({ target: 'ses', kind: 'error', times: 9 });
    const { deliveries, ids, events } = await run(members);
    expect(pipeline.faults.fired()['ses:error']).toBe(9);
    expectEachDeliveredOnceToItsMember(members, deliveries);
    // 9 refusals exhaust the dispatcher's 3 tries (each with a fresh claim) for at least one message: it went back to SQS.
    expect(ids.some((id) => events(id).some((e) => e.outcome.state === 'retry' && e.outcome.reason === 'ses-refused'))).toBe(true);
  });

  it('12.4: ses error-5xx and error-5xx-after-send both end in-doubt; only the accepted one is delivered and reconciled', async () => {
    const [lost, accepted] = await scenario(2);
    pipeline.faults.arm({ target: 'ses', kind: 'error-5xx', times: 1 });
    const first = await run([lost]);
    pipeline.faults.arm({ target: 'ses', kind: 'error-5xx-after-send', times: 1 });
    const second = await run([accepted]);
    expect(first.events(first.ids[0]).map((e) => e.outcome.state)).toEqual([DispatchState.InDoubt]);
    expect(second.events(second.ids[0]).map((e) => e.outcome.state)).toEqual([DispatchState.InDoubt]);
    expect(second.deliveries.get(lost.dispatchId)).toBeUndefined();
    expect(second.deliveries.get(accepted.dispatchId)).toEqual([accepted.email]);
    // SES's send event exists only for the accepted one: it reconciles that one to sent.
    expect((await ledgerRecord(pipeline, lost.dispatchId))?.state).toBe('in-doubt');
    expect((await ledgerRecord(pipeline, accepted.dispatchId))?.state).toBe('sent');
  });

  it('ses timeout-after-send: SES accepted it, the dispatcher reports in-doubt, the SES send event reconciles it', async () => {
    const [member] = await scenario(1);
    pipeline.faults.arm({ target: 'ses', kind: 'timeout-after-send', times: 1 });
    const { deliveries, ids, events } = await run([member]);
    expect(events(ids[0]).map((e) => e.outcome.state)).toEqual([DispatchState.InDoubt]);
    expect(deliveries.get(member.dispatchId)).toEqual([member.email]);
    expect((await ledgerRecord(pipeline, member.dispatchId))?.state).toBe('sent');
  });

  it('ses crash-after-send: the execution environment dies after SES accepted; the message is never sent again', async () => {
    const [member] = await scenario(1);
    const crashesBefore = pipeline.poller.stats.crashed;
    pipeline.faults.arm({ target: 'ses', kind: 'crash-after-send', times: 1 });
    const { deliveries, ids, events } = await run([member]);
    expect(pipeline.poller.stats.crashed).toBe(crashesBefore + 1);
    expect(deliveries.get(member.dispatchId)).toEqual([member.email]);
    const record = await ledgerRecord(pipeline, member.dispatchId);
    expect(record).toMatchObject({ state: 'sent', claimMessageId: ids[0] });
    // The crashed attempt reported nothing; the redelivery found the claim (reconciled or not): never a second send.
    expect(events(ids[0]).map((e) => e.outcome.state)).toEqual([expect.stringMatching(/^(duplicate|in-doubt)$/)]);
  });

  it('dynamodb throttle: throttled calls are retried by the SDK and SQS; nothing is sent without a claim', async () => {
    const members = await scenario(4);
    pipeline.faults.arm({ target: 'dynamodb', kind: 'throttle', times: 10 });
    const { deliveries } = await run(members);
    expect(pipeline.faults.fired()['dynamodb:throttle']).toBe(10);
    expectEachDeliveredOnceToItsMember(members, deliveries);
    for (const member of members) expect((await ledgerRecord(pipeline, member.dispatchId))?.state).toBe('sent');
  });

  it('sqs duplicate-delivery: each message is handled twice, concurrently, and sent once', async () => {
    const members = await scenario(8);
    pipeline.faults.arm({ target: 'sqs', kind: 'duplicate-delivery', times: 8 });
    const { deliveries, ids, events } = await run(members);
    expect(pipeline.faults.fired()['sqs:duplicate-delivery']).toBe(8);
    expectEachDeliveredOnceToItsMember(members, deliveries);
    for (const id of ids) expect(events(id).filter((e) => e.outcome.state !== 'retry').length).toBeGreaterThanOrEqual(1);
    expect(ids.reduce((n, id) => n + events(id).length, 0)).toBeGreaterThanOrEqual(16);
  });
});
