import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { OUTCOME_EVENT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE, type OutcomeEventDetail } from '../core/outcome-event';
import { deliverWithRetries, type RetryOptions } from '../outcome-publisher/deliver-with-retries';
import type { OutcomeFeed } from '../ports';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

export interface EventBridgeOutcomeFeedOptions extends RetryOptions {
  /** Name or ARN of the custom bus. */
  readonly eventBusName: string;
  /** @default a client built from the environment */
  readonly client?: EventBridgeClient;
}

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

/** The outcome feed on an EventBridge custom bus: `source` `mail-dispatch`, `detail-type` `Dispatch Outcome`. */
export class EventBridgeOutcomeFeed implements OutcomeFeed {
  private readonly client: EventBridgeClient;

  constructor(private readonly options: EventBridgeOutcomeFeedOptions) {
    this.client = options.client ?? new EventBridgeClient(AWS_CLIENT_CONFIG);
  }

  deliver(events: readonly OutcomeEventDetail[]): Promise<readonly number[]> {
    return deliverWithRetries(
      events,
      MAX_ENTRIES,
      async (chunk) => {
        const result = await this.client.send(
          new PutEventsCommand({
            Entries: chunk.map((detail) => ({
              EventBusName: this.options.eventBusName,
              Source: OUTCOME_EVENT_SOURCE,
              DetailType: OUTCOME_EVENT_DETAIL_TYPE,
              Detail: JSON.stringify(detail),
              Time: new Date(detail.at),
            })),
          }),
        );
        if (!result.FailedEntryCount) return [];
        // Entries answer in request order; a failed one carries an ErrorCode.
        return (result.Entries ?? []).flatMap((entry, position) => (entry.ErrorCode ? [position] : []));
      },
      this.options,
    );
  }
}
