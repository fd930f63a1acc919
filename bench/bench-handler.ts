/**
 * Entry of the benchmark's execution environments (bundled by esbuild, loaded in the local
 * event-source poller's worker threads, like `local/dispatcher-bootstrap.ts`). One of two
 * handlers, on clients that count their calls:
 * - `pipeline`: the real dispatcher (`createHandler` + `createDispatcherDeps`, real adapters and
 *   the Powertools reporter) — the code the stack ships;
 * - `naive`: SES `SendEmail` for every record, no checks: the 2000-era script, with the same
 *   request (template, data, configuration set, tag) so both sides ask SES for the same work.
 * After each invocation it emits the invocation's handler time, calls and outcome counts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PowertoolsOutcomeReporter } from '../lambdas/adapters/powertools-outcome-reporter';
import { DISPATCH_TAG_NAME, encodeDispatchTag } from '../lambdas/core/dispatch-tag';
import { DISPATCH_REF_KEY } from '../lambdas/core/templates';
import { createDispatcherDeps } from '../lambdas/dispatcher/dependencies';
import { createHandler } from '../lambdas/dispatcher/handler';
import type { OutcomeEvent, OutcomeReporter } from '../lambdas/ports';
import { Env, SES_CONFIGURATION_SET } from '../lambdas/tables';
import type { LocalHandlerFactory } from '../local/execution-environment';
import { countCalls, emptyTally, takeTally, type CallTally } from './call-counter';
import type { BenchMessage } from './messages';

export type BenchSide = 'naive' | 'pipeline';

export interface BenchWorkerInit {
  readonly side: BenchSide;
}

/** What an execution environment reports after each invocation. */
export interface BenchInvocationEmit {
  readonly type: 'bench-invocation';
  readonly side: BenchSide;
  /** Handler time only (what Lambda bills), not the poller's receive and delete. */
  readonly durationMs: number;
  readonly records: number;
  readonly tally: CallTally;
  readonly outcomes: Record<string, number>;
}

class CountingReporter implements OutcomeReporter {
  readonly outcomes: Record<string, number> = {};
  constructor(private readonly inner: OutcomeReporter) {}
  report(event: OutcomeEvent): void {
    this.outcomes[event.outcome.state] = (this.outcomes[event.outcome.state] ?? 0) + 1;
    this.inner.report(event);
  }
  flush(): void {
    this.inner.flush();
  }
}

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

function pipelineHandler(tally: CallTally, reporter: CountingReporter): Handler {
  const dynamodb = new DynamoDBClient({});
  const ses = new SESv2Client({ maxAttempts: 1 });
  const sqs = new SQSClient({});
  countCalls(dynamodb, 'DynamoDB', tally, { consumedCapacity: true });
  countCalls(ses, 'SESv2', tally);
  countCalls(sqs, 'SQS', tally);
  return createHandler(() => createDispatcherDeps({ clients: { dynamodb, ses, sqs }, reporter }));
}

function naiveHandler(tally: CallTally, outcomes: Record<string, number>): Handler {
  const ses = new SESv2Client({ maxAttempts: 1 });
  countCalls(ses, 'SESv2', tally);
  const from = process.env[Env.fromAddress];
  const configurationSet = process.env[Env.configurationSet] ?? SES_CONFIGURATION_SET;
  return async (event) => {
    const failed = await Promise.all(
      event.Records.map(async (record) => {
        try {
          const m = JSON.parse(record.body) as BenchMessage;
          await ses.send(
            new SendEmailCommand({
              FromEmailAddress: from,
              Destination: { ToAddresses: [m.to] },
              Content: { Template: { TemplateName: m.template, TemplateData: JSON.stringify({ ...m.data, [DISPATCH_REF_KEY]: m.dispatchId }) } },
              ConfigurationSetName: configurationSet,
              EmailTags: [{ Name: DISPATCH_TAG_NAME, Value: encodeDispatchTag(m.dispatchId) }],
            }),
          );
          outcomes.sent = (outcomes.sent ?? 0) + 1;
          return undefined;
        } catch {
          outcomes.retry = (outcomes.retry ?? 0) + 1;
          return { itemIdentifier: record.messageId };
        }
      }),
    );
    return { batchItemFailures: failed.filter((f): f is { itemIdentifier: string } => f !== undefined) };
  };
}

export const createLocalHandler: LocalHandlerFactory = async ({ workerData, emit }) => {
  const { side } = workerData as BenchWorkerInit;
  const tally = emptyTally();
  const reporter = new CountingReporter(new PowertoolsOutcomeReporter());
  const outcomes = side === 'pipeline' ? reporter.outcomes : {};
  const handler = side === 'pipeline' ? pipelineHandler(tally, reporter) : naiveHandler(tally, outcomes);
  return async (event) => {
    const started = performance.now();
    try {
      return await handler(event);
    } finally {
      const message: BenchInvocationEmit = {
        type: 'bench-invocation',
        side,
        durationMs: performance.now() - started,
        records: event.Records.length,
        tally: takeTally(tally),
        outcomes: { ...outcomes },
      };
      for (const key of Object.keys(outcomes)) delete outcomes[key];
      emit(message);
    }
  };
};
