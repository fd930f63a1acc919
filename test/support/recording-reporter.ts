import type { OutcomeEvent, OutcomeReporter } from '../../lambdas/ports';

/** Keeps every reported outcome, for assertions. */
export class RecordingReporter implements OutcomeReporter {
  readonly events: OutcomeEvent[] = [];
  report(event: OutcomeEvent): void {
    this.events.push(event);
  }
  flush(): void {}
  /** The last outcome reported for one SQS message. */
  outcomeOf(sqsMessageId: string): OutcomeEvent['outcome'] | undefined {
    return [...this.events].reverse().find((e) => e.sqsMessageId === sqsMessageId)?.outcome;
  }
}
