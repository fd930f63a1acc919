import { checkTargets, TARGET_NAMES, type MeasuredFigures } from '../../../bench/targets';

const passing: MeasuredFigures = {
  messages: 2000,
  runsPerSide: 3,
  pipelineToPeer: 1.0,
  dynamoDbWriteCallsPerMessage: 2,
  bundleBytes: 600 * 1024,
  initMs: 200,
  spawns: 10,
  safetyShare: 0.03,
  quotaUtilisation: 0.95,
  throttledShare: 0.01,
  drainSeconds: 105,
  drained: true,
  quotaRunSeconds: 105,
  idealDrainSeconds: 100,
  backlog: 10_000,
  latencyMs: { p50: 1000, p95: 2000, p99: 3000 },
  benchSeconds: 600,
};

describe('checkTargets', () => {
  it('meets every target exactly at its bound', () => {
    expect(checkTargets(passing).filter((t) => !t.met)).toEqual([]);
  });

  it.each([
    [TARGET_NAMES.sampleSize, { messages: 1999 }],
    [TARGET_NAMES.sampleSize, { runsPerSide: 1 }],
    [TARGET_NAMES.pipelineToPeer, { pipelineToPeer: 0.999 }],
    [TARGET_NAMES.writeCalls, { dynamoDbWriteCallsPerMessage: 2.01 }],
    [TARGET_NAMES.bundle, { bundleBytes: 600 * 1024 + 1 }],
    [TARGET_NAMES.init, { initMs: 200.1 }],
    [TARGET_NAMES.init, { spawns: 9 }],
    [TARGET_NAMES.safetyShare, { safetyShare: 0.0301 }],
    [TARGET_NAMES.quotaUtilisation, { quotaUtilisation: 0.949 }],
    [TARGET_NAMES.throttledShare, { throttledShare: 0.0101 }],
    [TARGET_NAMES.drain, { drainSeconds: 105.1 }],
    [TARGET_NAMES.drain, { drainSeconds: 94.9 }],
    [TARGET_NAMES.drain, { backlog: 9999 }],
    [TARGET_NAMES.drain, { drained: false }],
    [TARGET_NAMES.latency, { latencyUnmeasured: 1 }],
    [TARGET_NAMES.latency, { latencyMs: { p50: 1001, p95: 2000, p99: 3000 } }],
    [TARGET_NAMES.latency, { latencyMs: { p50: 1000, p95: 2001, p99: 3000 } }],
    [TARGET_NAMES.latency, { latencyMs: { p50: 1000, p95: 2000, p99: 3001 } }],
    [TARGET_NAMES.benchTime, { benchSeconds: 600.5 }],
  ] as const)('misses %s when %o', (name, change) => {
    const missed = checkTargets({ ...passing, ...change }).filter((t) => !t.met);
    expect(missed.map((t) => t.name)).toEqual([name]);
  });

  it('misses the quota utilisation over a run shorter than 60 s, however full', () => {
    const missed = checkTargets({ ...passing, quotaUtilisation: 1, quotaRunSeconds: 59, drainSeconds: 59, idealDrainSeconds: 59 }).filter(
      (t) => !t.met,
    );
    expect(missed.map((t) => t.name)).toEqual([TARGET_NAMES.quotaUtilisation]);
  });

  it('has no target on the naive ratio: it is reported, not gated', () => {
    expect(checkTargets(passing).map((t) => t.name)).not.toContain('throughput pipeline/naive');
  });

  it('gives a missed target its measured reason, and a met one none', () => {
    const limitedBy = { [TARGET_NAMES.pipelineToPeer]: 'claim → send → settle in sequence', [TARGET_NAMES.latency]: 'never shown: met' };
    const checks = checkTargets({ ...passing, pipelineToPeer: 0.5, limitedBy });
    expect(checks.find((t) => t.name === TARGET_NAMES.pipelineToPeer)).toMatchObject({
      met: false,
      reason: 'claim → send → settle in sequence',
    });
    expect(checks.find((t) => t.name === TARGET_NAMES.latency)?.reason).toBeUndefined();
  });
});
