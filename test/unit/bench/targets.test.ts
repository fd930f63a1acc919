import { checkTargets, type MeasuredFigures } from '../../../bench/targets';

const passing: MeasuredFigures = {
  messages: 2000,
  runsPerSide: 3,
  throughputRatio: 0.8,
  dynamoDbWriteCallsPerMessage: 2,
  bundleBytes: 600 * 1024,
  initMs: 200,
  spawns: 10,
  safetyShare: 0.03,
};

describe('checkTargets', () => {
  it('meets every target exactly at its bound', () => {
    expect(checkTargets(passing).filter((t) => !t.met)).toEqual([]);
  });

  it.each([
    ['sample size', { messages: 1999 }],
    ['sample size', { runsPerSide: 1 }],
    ['throughput pipeline/naive', { throughputRatio: 0.799 }],
    ['DynamoDB write calls per message', { dynamoDbWriteCallsPerMessage: 2.01 }],
    ['bundle size', { bundleBytes: 600 * 1024 + 1 }],
    ['module init (median)', { initMs: 200.1 }],
    ['module init (median)', { spawns: 9 }],
    ['safety share of cost per 1M', { safetyShare: 0.0301 }],
  ] as const)('misses %s when %o', (name, change) => {
    const missed = checkTargets({ ...passing, ...change }).filter((t) => !t.met);
    expect(missed.map((t) => t.name)).toEqual([name]);
  });
});
