import {
  addCosts,
  billedMs,
  costPerMillion,
  feedbackLoopUsage,
  gbSeconds,
  safetyShare,
  type UsagePerEmail,
} from '../../../bench/cost-model';
import { PRICES } from '../../../bench/prices';

const none: UsagePerEmail = {
  sesSends: 0,
  sqsRequests: 0,
  dynamoDbWriteUnits: 0,
  dynamoDbReadUnits: 0,
  lambdaInvocations: 0,
  lambdaBilledMsPerInvocation: 0,
};

describe('costPerMillion', () => {
  it.each([
    ['one SES e-mail each', { sesSends: 1 }, 'ses', 100],
    ['16 write units each', { dynamoDbWriteUnits: 16 }, 'dynamoDb', 10],
    ['1.1 read units each', { dynamoDbReadUnits: 1.1 }, 'dynamoDb', 0.1375],
    ['0.31 SQS requests each', { sqsRequests: 0.31 }, 'sqs', 0.124],
    ['two SNS publishes each', { snsPublishes: 2 }, 'sns', 1],
  ] as const)('prices %s at the us-east-1 list price', (_name, usage, service, expected) => {
    const cost = costPerMillion({ ...none, ...usage }, 512);
    expect(cost[service]).toBeCloseTo(expected, 9);
    expect(cost.total).toBeCloseTo(expected, 9);
  });

  it('prices Lambda as requests plus GB-seconds at the function memory', () => {
    // 100,000 invocations of 100 ms at 512 MB: $0.02 of requests + 5,000 GB-s.
    const cost = costPerMillion({ ...none, lambdaInvocations: 0.1, lambdaBilledMsPerInvocation: 100 }, 512);
    expect(cost.lambda).toBeCloseTo(0.02 + 5000 * PRICES.lambdaPerGbSecond, 9);
  });

  it('doubles the compute share with the memory', () => {
    const usage = { ...none, lambdaInvocations: 0.1, lambdaBilledMsPerInvocation: 100 };
    const requests = 0.1 * PRICES.lambdaPerRequest * 1e6;
    expect(costPerMillion(usage, 1024).lambda - requests).toBeCloseTo(2 * (costPerMillion(usage, 512).lambda - requests), 9);
  });
});

describe('gbSeconds and billedMs', () => {
  it('counts 1 GB as 1,024 MB', () => expect(gbSeconds(1000, 512)).toBe(0.5));
  it('rounds every invocation up to the next millisecond before averaging', () =>
    expect(billedMs([1.2, 2.0, 0.1])).toBeCloseTo((2 + 2 + 1) / 3, 12));
  it('is 0 with no invocation', () => expect(billedMs([])).toBe(0));
});

describe('safetyShare', () => {
  it('is the share of the pipeline cost the naive sender does not pay', () => {
    const naive = costPerMillion({ ...none, sesSends: 1 }, 512);
    const pipeline = costPerMillion({ ...none, sesSends: 1, dynamoDbWriteUnits: 16 }, 512);
    expect(safetyShare(pipeline, naive)).toBeCloseTo(10 / 110, 12);
  });

  it('is 0 when the pipeline costs nothing', () => {
    const zero = costPerMillion(none, 512);
    expect(safetyShare(zero, zero)).toBe(0);
  });
});

describe('feedbackLoopUsage', () => {
  it('assumes Send and Delivery each cost a publish, an invocation and one write unit', () => {
    const cost = costPerMillion(feedbackLoopUsage(), 512);
    expect(cost.sns).toBeCloseTo(1, 9);
    expect(cost.dynamoDb).toBeCloseTo(1.25, 9);
    expect(cost.lambda).toBeCloseTo(0.4 + 2e6 * gbSeconds(20, 512) * PRICES.lambdaPerGbSecond, 9);
  });

  it('adds to the dispatch path service by service', () => {
    const a = costPerMillion({ ...none, sesSends: 1 }, 512);
    const b = costPerMillion(feedbackLoopUsage(), 512);
    const sum = addCosts(a, b);
    expect(sum.total).toBeCloseTo(a.total + b.total, 9);
    expect(sum.ses).toBe(100);
  });
});
