import { resolveConfig } from '../../lambdas/core/config';
import type { BatchContext } from '../../lambdas/dispatcher/dispatch-batch';
import {
  CollectingReporter,
  InMemoryDispatchLedger,
  InMemoryPauseSwitch,
  InMemoryRejectedSink,
  RecordingMailSender,
} from '../../local/in-memory-ports';
import { testReportLinks } from './report-links';

/**
 * A `dispatchBatch` context on the in-memory ports (fan-in limit 3, a fixed clock in August 2000),
 * and the last outcome reported for an SQS message.
 */
export function inMemoryBatchContext(ledger: InMemoryDispatchLedger = new InMemoryDispatchLedger(), sender = new RecordingMailSender()) {
  const reporter = new CollectingReporter();
  const ctx: BatchContext = {
    ledger,
    sender,
    pauseSwitch: new InMemoryPauseSwitch(),
    rejectedSink: new InMemoryRejectedSink(),
    reporter,
    config: resolveConfig({ fanInLimit: 3 }),
    hashKey: 'k',
    reportLinks: testReportLinks(),
    now: () => new Date('2000-08-02T09:00:00Z'),
  };
  const outcome = (messageId: string) => reporter.events.filter((e) => e.sqsMessageId === messageId).at(-1)?.outcome;
  return { ctx, reporter, outcome };
}
