import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SDK_TIMEOUTS } from '../core/defaults';

/**
 * The HTTP handler settings of a Lambda's SDK client: a connection and a request timeout, and a
 * request timeout that fails the call (smithy only logs a warning on it unless told to throw).
 * The SDK builds its `NodeHttpHandler` (@smithy/node-http-handler) from these options.
 */
export function timeoutHandler(timeouts: { readonly connectionTimeoutMs: number; readonly requestTimeoutMs: number }) {
  return {
    connectionTimeout: timeouts.connectionTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    throwOnRequestTimeout: true,
  } as const;
}

/** The settings every non-DynamoDB client of a Lambda gets (SQS, Lambda, EventBridge, Secrets Manager). */
export const AWS_CLIENT_CONFIG = { requestHandler: timeoutHandler(SDK_TIMEOUTS.other) } as const;

/**
 * A DynamoDB client that gives up on a hung call in time (`SDK_TIMEOUTS.dynamodb`): one retry, so
 * a call that never answers costs at most the claim's share of the attempt budget.
 */
export function createDynamoDbClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: SDK_TIMEOUTS.dynamodb.maxAttempts,
    requestHandler: timeoutHandler(SDK_TIMEOUTS.dynamodb),
    ...config,
  });
}
