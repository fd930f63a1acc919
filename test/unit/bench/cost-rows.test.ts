import { costPerMillion, type UsagePerEmail } from '../../../bench/cost-model';
import { outcomeFeedCost, SAFETY_LAYERS, safetyBudget, safetyCostRows } from '../../../bench/cost-rows';
import { PRICES } from '../../../bench/prices';

const none: UsagePerEmail = {
  sesSends: 0,
  sqsRequests: 0,
  dynamoDbWriteUnits: 0,
  dynamoDbReadUnits: 0,
  lambdaInvocations: 0,
  lambdaBilledMsPerInvocation: 0,
};

/** What the bench measured for the pipeline in a clean run: one 3-item claim, one settle, reads per batch. */
const unitsPerSent = {
  'TransactWriteItems:check': 2,
  'TransactWriteItems:record': 2,
  'TransactWriteItems:fan-in': 2,
  'TransactWriteItems:indexes': 6,
  UpdateItem: 1,
  BatchGetItem: 0.3,
  GetItem: 0.1,
};
const naive = costPerMillion({ ...none, sesSends: 1, sqsRequests: 0.3, lambdaInvocations: 0.1, lambdaBilledMsPerInvocation: 100 }, 512);
const pipeline = costPerMillion(
  {
    ...none,
    sesSends: 1,
    sqsRequests: 0.3,
    dynamoDbWriteUnits: 13,
    dynamoDbReadUnits: 0.4,
    lambdaInvocations: 0.1,
    lambdaBilledMsPerInvocation: 300,
  },
  512,
);

describe('safetyCostRows', () => {
  const rows = safetyCostRows({ unitsPerSent, pipeline, naive }, { memoryMb: 512 });
  const cost = (layer: string) => rows.find((r) => r.layer === layer)?.usdPerMillion;

  it('has one row per safety layer, in order', () => expect(rows.map((r) => r.layer)).toEqual([...SAFETY_LAYERS]));

  it.each([
    ['claim transaction', 4 * 0.625 + 0.3 * 0.125],
    ['fan-in counter', 2 * 0.625],
    ['audit indexes', 6 * 0.625],
    ['settle', 0.625],
    ['pause-flag reads', 0.1 * 0.125],
  ])('prices %s from its measured units at the on-demand list price', (layer, expected) => expect(cost(layer)).toBeCloseTo(expected, 9));

  it('makes the measured rows add up to the measured pipeline − naive difference', () => {
    const measured = rows.filter((r) => r.source === 'measured').reduce((s, r) => s + r.usdPerMillion, 0);
    expect(measured).toBeCloseTo(pipeline.total - naive.total, 9);
  });

  it('prices the outcome feed as EventBridge events, free stream reads by Lambda, and the publisher', () => {
    const feed = outcomeFeedCost({
      eventsPerEmail: 3,
      streamRecordsPerEmail: 3,
      recordsPerInvocation: 10,
      billedMsPerInvocation: 100,
      memoryMb: 256,
    });
    expect(feed.eventBridge).toBeCloseTo(3, 9);
    expect(feed.streams).toBe(0);
    // 300,000 invocations: $0.06 of requests + 300,000 × 0.1 s × 0.25 GB of compute.
    expect(feed.lambda).toBeCloseTo(0.06 + 7500 * PRICES.lambdaPerGbSecond, 9);
    expect(rows.find((r) => r.layer === 'outcome feed')).toMatchObject({ source: 'model', usdPerMillion: outcomeFeedCost().total });
  });
});

describe('safetyBudget', () => {
  const rows = safetyCostRows({ unitsPerSent, pipeline, naive }, { memoryMb: 512 });

  it('allows naive × 3 / 97 and asks to cut the rest', () => {
    const budget = safetyBudget(rows, 100, { dispatcherMemoryMb: 512 });
    const safety = rows.reduce((s, r) => s + r.usdPerMillion, 0);
    expect(budget.budgetUsdPerMillion).toBeCloseTo(300 / 97, 9);
    expect(budget.cutUsdPerMillion).toBeCloseTo(safety - 300 / 97, 9);
    expect(budget.share).toBeCloseTo(safety / (100 + safety), 9);
  });

  it('prices the levers from the rows: indexes whole, provisioned writes at the WCU-hour price', () => {
    const budget = safetyBudget(rows, 100, { dispatcherMemoryMb: 512, provisionedUtilisation: 0.5 });
    const [indexes, provisioned] = budget.levers;
    expect(indexes.savesUsdPerMillion).toBeCloseTo(6 * 0.625, 9);
    const factor = PRICES.dynamoDbPerWcuHour / 3600 / 0.5 / PRICES.dynamoDbPerWriteUnit;
    // Claim (with its snapshot read), fan-in and settle rows at the provisioned price.
    expect(provisioned.savesUsdPerMillion).toBeCloseTo((7 * 0.625 + 0.3 * 0.125) * (1 - factor), 9);
    const saved = budget.levers.reduce((s, l) => s + l.savesUsdPerMillion, 0);
    expect(budget.afterLeversUsdPerMillion).toBeCloseTo(budget.safetyUsdPerMillion - saved, 9);
  });

  it('needs no cut when the safety is within the budget', () => {
    expect(safetyBudget([], 100, { dispatcherMemoryMb: 512 }).cutUsdPerMillion).toBe(0);
  });
});
