/**
 * AWS list prices, us-east-1, as known on 2026-11-23; verify against the pricing pages before
 * quoting a figure (this machine has no network). DynamoDB is on-demand after the November 2024
 * price cut; Lambda is arm64 (the stack's architecture); SQS is a standard queue.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2026-11-23',
  note: 'list prices as known on 2026-11-23; verify',
  /** SES outbound e-mail, per message (USD 0.10 per 1,000; data transfer for small text mail left out). */
  sesPerEmail: 0.1 / 1000,
  /** DynamoDB on-demand, per write request unit (1 KB; a transactional item costs 2). */
  dynamoDbPerWriteUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, per read request unit (4 KB strongly consistent; a transactional read costs 2). */
  dynamoDbPerReadUnit: 0.125 / 1_000_000,
  /** Lambda arm64 compute, per GB-second. */
  lambdaPerGbSecond: 0.0000133334,
  /** Lambda, per invocation. */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** SQS standard, per request (each 64 KB chunk of a payload is one request). */
  sqsPerRequest: 0.4 / 1_000_000,
  /** SNS standard topic, per publish (SES event destination → topic; SNS → Lambda delivery is free). */
  snsPerPublish: 0.5 / 1_000_000,
  /**
   * EventBridge custom events (PutEvents), per event; each 64 KB chunk of a payload is one event.
   * Source: https://aws.amazon.com/eventbridge/pricing/ ("Custom events: $1.00/million events").
   */
  eventBridgePerEvent: 1 / 1_000_000,
  /**
   * DynamoDB Streams reads made by a Lambda event source mapping (a DynamoDB trigger) are free;
   * other readers pay per streams read request unit. Source: https://aws.amazon.com/dynamodb/pricing/on-demand/
   * ("Change data capture": GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers are free).
   */
  dynamoDbStreamsPerReadByLambda: 0,
  /** DynamoDB Streams, per read request unit for readers other than Lambda ($0.02 per 100,000; same source). */
  dynamoDbStreamsPerReadRequest: 0.02 / 100_000,
  /**
   * DynamoDB provisioned capacity, per WCU-hour and per RCU-hour (us-east-1). Source:
   * https://aws.amazon.com/dynamodb/pricing/provisioned/ ($0.00065 per WCU-hour, $0.00013 per RCU-hour).
   */
  dynamoDbPerWcuHour: 0.00065,
  dynamoDbPerRcuHour: 0.00013,
} as const;

export type Prices = typeof PRICES;

/** The rows of the price table, for the report. */
export function priceRows(prices: Prices = PRICES): [string, string][] {
  return [
    ['SES e-mail', `$${(prices.sesPerEmail * 1000).toFixed(2)} per 1,000`],
    ['DynamoDB on-demand write', `$${(prices.dynamoDbPerWriteUnit * 1e6).toFixed(3)} per 1M WRU (transactional item: 2 WRU per KB)`],
    ['DynamoDB on-demand read', `$${(prices.dynamoDbPerReadUnit * 1e6).toFixed(3)} per 1M RRU (strongly consistent: 1 per 4 KB)`],
    ['Lambda arm64 compute', `$${prices.lambdaPerGbSecond} per GB-s`],
    ['Lambda requests', `$${(prices.lambdaPerRequest * 1e6).toFixed(2)} per 1M`],
    ['SQS standard', `$${(prices.sqsPerRequest * 1e6).toFixed(2)} per 1M requests (64 KB chunks)`],
    ['SNS publish', `$${(prices.snsPerPublish * 1e6).toFixed(2)} per 1M`],
    ['EventBridge custom events', `$${(prices.eventBridgePerEvent * 1e6).toFixed(2)} per 1M (64 KB chunks)`],
    [
      'DynamoDB Streams reads',
      `free for Lambda triggers; $${(prices.dynamoDbStreamsPerReadRequest * 1e5).toFixed(2)} per 100,000 otherwise`,
    ],
    ['DynamoDB provisioned', `$${prices.dynamoDbPerWcuHour} per WCU-hour, $${prices.dynamoDbPerRcuHour} per RCU-hour`],
  ];
}
