import { explainLatency, explainPeerGap, explainQuota } from '../../../bench/limits';
import { latencyFigures, perEnvironmentSendRate, quotaFigures } from '../../../bench/quota-run';

describe('perEnvironmentSendRate', () => {
  it.each([
    [14, 10, 1.4],
    [100, 10, 10],
    [100, 3, 33.333],
    [1, 10, 0.1],
  ])('gives each of %d/s over %d environments %d/s, rounded down to 1/1000 as the stack does', (rate, concurrency, expected) =>
    expect(perEnvironmentSendRate(rate, concurrency)).toBe(expected),
  );
});

describe('quotaFigures', () => {
  const stats = { perSecond: 100, burst: 10, accepted: 10_050, throttled: 50 };

  it('reduces a drain to utilisation, throttled share and the drain against backlog / Q', () => {
    const q = quotaFigures({ stats, concurrency: 10, backlog: 10_000, accepted: 10_000, runSeconds: 104, drained: true });
    expect(q.idealDrainSeconds).toBe(100);
    expect(q.drainOverIdeal).toBeCloseTo(0.04, 12);
    expect(q.acceptedPerSecond).toBeCloseTo(10_000 / 104, 12);
    expect(q.quotaUtilisation).toBeCloseTo(10_000 / 104 / 100, 12);
    // 50 of the 10,100 SendEmail calls the quota saw.
    expect(q.throttledShare).toBeCloseTo(50 / 10_100, 12);
    expect(q.perEnvironmentRate).toBe(10);
    expect(q.drainSeconds).toBe(104);
  });

  it('projects the drain from the rate achieved when the run hit its cap', () => {
    const q = quotaFigures({ stats, concurrency: 10, backlog: 10_000, accepted: 3000, runSeconds: 150, drained: false });
    expect(q.acceptedPerSecond).toBe(20);
    expect(q.drainSeconds).toBe(500);
    expect(q.quotaUtilisation).toBeCloseTo(0.2, 12);
  });

  it('has no throttled share when SES saw no call', () => {
    expect(
      quotaFigures({
        stats: { ...stats, accepted: 0, throttled: 0 },
        concurrency: 4,
        backlog: 1,
        accepted: 0,
        runSeconds: 0,
        drained: true,
      }).throttledShare,
    ).toBe(0);
  });
});

describe('latencyFigures', () => {
  it('takes nearest-rank percentiles of publish → acceptance', () => {
    const l = latencyFigures(
      Array.from({ length: 200 }, (_, i) => i + 1),
      50,
      200,
      0,
    );
    expect([l.p50, l.p95, l.p99, l.max]).toEqual([100, 190, 198, 200]);
  });

  it('refuses a run that measured nothing', () => expect(() => latencyFigures([], 50, 100, 0)).toThrow(RangeError));
});

describe('explainPeerGap', () => {
  it('names each awaited call, the e-mails in flight and each side per-environment rate', () => {
    const pipeline = {
      medianPerSecond: 30,
      callMsPerSent: {
        'DynamoDB:TransactWriteItemsCommand': 40,
        'SESv2:SendEmailCommand': 20,
        'DynamoDB:UpdateItemCommand': 30,
        'SQS:ReceiveMessageCommand': 99,
      },
      handlerMs: { median: 1000, perMessage: 100 },
      invocationsPerSent: 0.1,
    };
    const peer = {
      medianPerSecond: 90,
      callMsPerSent: { 'DynamoDB:PutItemCommand': 30, 'SESv2:SendEmailCommand': 20, 'DynamoDB:UpdateItemCommand': 30 },
      handlerMs: { median: 250, perMessage: 25 },
      invocationsPerSent: 0.1,
    };
    const text = explainPeerGap(pipeline, peer, { handlerConcurrency: 1, batchSize: 10 });
    expect(text).toContain('awaits 90.0 ms of calls per e-mail (TransactWriteItems 40.0 ms + UpdateItem 30.0 ms + SendEmail 20.0 ms)');
    expect(text).toContain('≤ 10.0 e-mails/s');
    expect(text).toContain('10.0 records per batch in parallel');
    expect(text).toContain('≤ 40.0 e-mails/s per environment');
    expect(text).not.toContain('ReceiveMessage');
  });
});

describe('explainQuota', () => {
  const q = quotaFigures({
    stats: { perSecond: 100, burst: 10, accepted: 9000, throttled: 10 },
    concurrency: 10,
    backlog: 9000,
    accepted: 9000,
    runSeconds: 120,
    drained: true,
  });

  it('says the handler is below its share of Q when it cannot do the pacing rate', () =>
    expect(explainQuota(q, 150).utilisation).toMatch(
      /needed 10\/s but its handler took 150.0 ms per e-mail \(≤ 6.7\/s, achieved 7.50\/s\)/,
    ));

  it('says the pacing and the gaps lose it when the handler could keep up', () =>
    expect(explainQuota(q, 50).utilisation).toMatch(/paced to 10\/s and achieved 7.50\/s/));
});

describe('explainLatency', () => {
  const q = quotaFigures({
    stats: { perSecond: 100, burst: 10, accepted: 100, throttled: 0 },
    concurrency: 10,
    backlog: 100,
    accepted: 100,
    runSeconds: 1,
    drained: true,
  });

  it('blames the queue when the pipeline sent less than was published', () => {
    const l = latencyFigures([100, 200], 50, 10, 0);
    expect(explainLatency(l, q, { batchSize: 10, achievedPerSecond: 20, handlerMsPerMessage: 400 })).toMatch(
      /sent 20.0\/s of the 50\/s published .* 8 of 10 were not accepted within the cap/,
    );
  });

  it('names the pacing of one batch when the pipeline kept up', () => {
    const l = latencyFigures([100, 200], 50, 2, 0);
    expect(explainLatency(l, q, { batchSize: 10, achievedPerSecond: 50, handlerMsPerMessage: 20 })).toMatch(/waits 1.00 s for its slot/);
  });
});
