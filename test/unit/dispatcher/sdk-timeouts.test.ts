import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../../lambdas/adapters/sdk-clients';
import { SDK_TIMEOUTS } from '../../../lambdas/core/defaults';
import { ATTEMPT_BUDGET, DISPATCHER_TIMEOUT_SECONDS } from '../../../lambdas/dispatcher/time-budget';

describe('SDK client timeouts fit the 12.6 attempt budget', () => {
  it('a DynamoDB call that never answers costs at most the claim share of the attempt budget', () => {
    const { connectionTimeoutMs, requestTimeoutMs, maxAttempts, firstRetryDelayMaxMs } = SDK_TIMEOUTS.dynamodb;
    const worst = maxAttempts * (connectionTimeoutMs + requestTimeoutMs) + (maxAttempts - 1) * firstRetryDelayMaxMs;
    expect(worst).toBeLessThanOrEqual(ATTEMPT_BUDGET.claimMs);
    expect(SDK_TIMEOUTS.other.connectionTimeoutMs + SDK_TIMEOUTS.other.requestTimeoutMs).toBeLessThan(DISPATCHER_TIMEOUT_SECONDS * 1000);
  });

  it('the DynamoDB client of the Lambdas carries those timeouts and one retry', async () => {
    const client = createDynamoDbClient({ region: 'eu-west-1' });
    expect(client).toBeInstanceOf(DynamoDBClient);
    expect(await client.config.maxAttempts()).toBe(SDK_TIMEOUTS.dynamodb.maxAttempts);
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    await expect(handler.configProvider).resolves.toMatchObject({
      connectionTimeout: SDK_TIMEOUTS.dynamodb.connectionTimeoutMs,
      requestTimeout: SDK_TIMEOUTS.dynamodb.requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
  });
});
