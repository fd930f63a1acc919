import type { OutcomeEvent } from '../../lambdas/ports';
import { CollectingReporter } from '../../local/in-memory-ports';

/** Keeps every reported outcome, for assertions. */
export class RecordingReporter extends CollectingReporter {
  /** The last outcome reported for one SQS message. */
  outcomeOf(sqsMessageId: string): OutcomeEvent['outcome'] | undefined {
    return [...this.events].reverse().find((e) => e.sqsMessageId === sqsMessageId)?.outcome;
  }
}
