/**
 * The peer (issue 17.1): the sender a careful team builds with the well-known library, not the
 * 2000-era script. Powertools for AWS Lambda (TypeScript) as its docs show it for SQS:
 * `makeIdempotent` on the record handler with DynamoDB persistence, keyed on the message's
 * dispatchId, inside `processPartialResponse` with a `BatchProcessor(EventType.SQS)` for partial
 * batch responses; SES v2 SendEmail per record. No recipient check, no fan-in guard, no pause,
 * no pacing, no audit record: the library defaults (records of a batch in parallel, 1 h expiry).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../lambdas/core/dispatch-tag';
import { DISPATCH_REF_KEY } from '../lambdas/core/templates';
import type { BenchMessage } from './messages';

/** The peer's idempotency table: Powertools' default schema (partition key `id`, TTL `expiration`). */
export const PEER_IDEMPOTENCY_TABLE = { name: 'mail-dispatch-bench-idempotency', partitionKey: 'id', ttlAttribute: 'expiration' } as const;

export interface PeerSenderOptions {
  readonly dynamodb: DynamoDBClient;
  readonly ses: SESv2Client;
  readonly fromAddress: string | undefined;
  readonly configurationSet: string;
  /** @default PEER_IDEMPOTENCY_TABLE.name */
  readonly tableName?: string;
  /** Counts what happened to each record (`sent`, `retry`). */
  readonly outcomes: Record<string, number>;
}

export type PeerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createPeerSender(options: PeerSenderOptions): PeerHandler {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName ?? PEER_IDEMPOTENCY_TABLE.name,
    awsSdkV3Client: options.dynamodb,
  });
  // Keyed on the dispatchId, not the SQS messageId: a re-publish of the same dispatch is the duplicate that matters.
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'powertools_json(body).dispatchId' });
  const processor = new BatchProcessor(EventType.SQS);
  const { outcomes } = options;
  const sendRecord = makeIdempotent(
    async (record: SQSRecord) => {
      const m = JSON.parse(record.body) as BenchMessage;
      try {
        const { MessageId } = await options.ses.send(
          new SendEmailCommand({
            FromEmailAddress: options.fromAddress,
            Destination: { ToAddresses: [m.to] },
            // The same request as the other two sides: same template, data, configuration set and tag.
            Content: {
              Template: { TemplateName: m.template, TemplateData: JSON.stringify({ ...m.data, [DISPATCH_REF_KEY]: m.dispatchId }) },
            },
            ConfigurationSetName: options.configurationSet,
            EmailTags: [{ Name: DISPATCH_TAG_NAME, Value: encodeDispatchTag(m.dispatchId) }],
          }),
        );
        outcomes.sent = (outcomes.sent ?? 0) + 1;
        return { messageId: MessageId };
      } catch (error) {
        outcomes.retry = (outcomes.retry ?? 0) + 1;
        throw error;
      }
    },
    { persistenceStore, config },
  );
  return async (event, context) => {
    config.registerLambdaContext(context);
    return processPartialResponse(event, sendRecord, processor, { context });
  };
}
