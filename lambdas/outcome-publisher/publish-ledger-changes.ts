import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { OutcomeEventDetail } from '../core/outcome-event';
import type { OutcomeFeed } from '../ports';
import { mapLedgerChange, type LedgerImage } from './map-ledger-change';

export interface PublishCounts {
  readonly published: number;
  readonly unmapped: number;
}

export interface PublishContext {
  readonly feed: OutcomeFeed;
  readonly onCounts?: (counts: PublishCounts) => void;
}

/**
 * One batch of ledger stream records, in stream order: map every record to its events, deliver
 * them all, and report the first record with an event the bus still refused as the batch item
 * failure. The event source mapping then retries from that record (bisecting on error, then the
 * on-failure queue), so nothing after a refused event is skipped: events may arrive twice (the
 * consumer deduplicates by `outcomeId`), never not at all. A record that is not a dispatch change
 * has no event; an entry that cannot be published safely is counted, never thrown.
 */
export async function publishLedgerChanges(records: readonly DynamoDBRecord[], ctx: PublishContext): Promise<DynamoDBBatchResponse> {
  const events: OutcomeEventDetail[] = [];
  const recordOf: number[] = [];
  let unmapped = 0;
  records.forEach((record, index) => {
    const mapping = mapLedgerChange(image(record.dynamodb?.OldImage), image(record.dynamodb?.NewImage));
    unmapped += mapping.unmapped;
    for (const event of mapping.events) {
      events.push(event);
      recordOf.push(index);
    }
  });
  const refused = events.length === 0 ? [] : await ctx.feed.deliver(events);
  ctx.onCounts?.({ published: events.length - refused.length, unmapped });
  if (refused.length === 0) return { batchItemFailures: [] };
  const first = records[Math.min(...refused.map((index) => recordOf[index]))];
  return { batchItemFailures: [{ itemIdentifier: first.dynamodb?.SequenceNumber ?? '' }] };
}

function image(value: unknown): LedgerImage | undefined {
  return value ? unmarshall(value as Record<string, AttributeValue>) : undefined;
}
