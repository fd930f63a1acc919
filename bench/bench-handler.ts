/**
 * Entry of the benchmark's execution environments (bundled by esbuild, loaded in the local
 * event-source poller's worker threads, like `local/dispatcher-bootstrap.ts`). One of two
 * handlers, on clients that count their calls:
 * - `pipeline`: the real dispatcher (`createHandler` + `createDispatcherDeps`, real adapters and
 *   the Powertools reporter) — the code the stack ships;
 * - `naive`: SES `SendEmail` for every record, no checks: the 2000-era script, with the same
 *   request (template, data, configuration set, tag) so both sides ask SES for the same work;
 * - `peer`: what a careful team builds with Powertools (bench/peer-sender.ts): idempotent on the
 *   dispatchId in DynamoDB, partial batch responses, the same SES request.
 * After each invocation it emits the invocation's handler time, calls and outcome counts (and,
 * when asked, when SES accepted each dispatchId: the latency run's end point).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PowertoolsOutcomeReporter } from '../lambdas/adapters/powertools-outcome-reporter';
import { decodeDispatchTag, DISPATCH_TAG_NAME, encodeDispatchTag } from '../lambdas/core/dispatch-tag';
import { DISPATCH_REF_KEY } from '../lambdas/core/templates';
import { createDispatcherDeps } from '../lambdas/dispatcher/dependencies';
import { createHandler } from '../lambdas/dispatcher/handler';
import type { OutcomeEvent, OutcomeReporter } from '../lambdas/ports';
import { Env, SES_CONFIGURATION_SET } from '../lambdas/tables';
import type { LocalHandlerFactory } from '../local/execution-environment';
import { countCalls, emptyTally, takeTally, type CallTally } from './call-counter';
import type { BenchMessage } from './messages';
import { createPeerSender } from './peer-sender';

export const BENCH_SIDES = ['naive', 'peer', 'pipeline'] as const;
export type BenchSide = (typeof BENCH_SIDES)[number];

export interface BenchWorkerInit {
  readonly side: BenchSide;
  /** Emit `[dispatchId, epoch ms]` for every SendEmail SES accepted. @default false */
  readonly recordAcceptance?: boolean;
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
  /** When SES answered each accepted SendEmail (only with `recordAcceptance`). */
  readonly accepted?: [string, number][];
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

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Records the instant SES accepted each SendEmail, by the dispatchId in its tag. */
function recordAcceptance(ses: SESv2Client, accepted: [string, number][]): void {
  ses.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const tag = (args.input as { EmailTags?: { Name?: string; Value?: string }[] }).EmailTags?.find((t) => t.Name === DISPATCH_TAG_NAME);
      const dispatchId = tag?.Value ? decodeDispatchTag(tag.Value) : undefined;
      if (dispatchId) accepted.push([dispatchId, Date.now()]);
      return result;
    },
    { step: 'initialize', name: 'benchAcceptanceClock', priority: 'low' },
  );
}

function pipelineHandler(tally: CallTally, reporter: CountingReporter, ses: SESv2Client): Handler {
  const dynamodb = new DynamoDBClient({});
  const sqs = new SQSClient({});
  countCalls(dynamodb, 'DynamoDB', tally, { consumedCapacity: true });
  countCalls(sqs, 'SQS', tally);
  return createHandler(() => createDispatcherDeps({ clients: { dynamodb, ses, sqs }, reporter }));
}

function peerHandler(tally: CallTally, outcomes: Record<string, number>, ses: SESv2Client): Handler {
  const dynamodb = new DynamoDBClient({});
  countCalls(dynamodb, 'DynamoDB', tally, { consumedCapacity: true });
  return createPeerSender({
    dynamodb,
    ses,
    fromAddress: process.env[Env.fromAddress],
    configurationSet: process.env[Env.configurationSet] ?? SES_CONFIGURATION_SET,
    outcomes,
  });
}

function naiveHandler(outcomes: Record<string, number>, ses: SESv2Client): Handler {
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
              Content: {
                Template: { TemplateName: m.template, TemplateData: JSON.stringify({ ...m.data, [DISPATCH_REF_KEY]: m.dispatchId }) },
              },
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
  const init = workerData as BenchWorkerInit;
  const { side } = init;
  const tally = emptyTally();
  const reporter = new CountingReporter(new PowertoolsOutcomeReporter());
  const outcomes = side === 'pipeline' ? reporter.outcomes : {};
  // One SES client setup for all three sides: no SDK retries (a 429 is the handler's to act on), counted.
  const ses = new SESv2Client({ maxAttempts: 1 });
  countCalls(ses, 'SESv2', tally);
  const accepted: [string, number][] = [];
  if (init.recordAcceptance) recordAcceptance(ses, accepted);
  const handler =
    side === 'pipeline'
      ? pipelineHandler(tally, reporter, ses)
      : side === 'peer'
        ? peerHandler(tally, outcomes, ses)
        : naiveHandler(outcomes, ses);
  return async (event, context) => {
    const started = performance.now();
    try {
      return await handler(event, context as unknown as Context);
    } finally {
      const message: BenchInvocationEmit = {
        type: 'bench-invocation',
        side,
        durationMs: performance.now() - started,
        records: event.Records.length,
        tally: takeTally(tally),
        outcomes: { ...outcomes },
        ...(init.recordAcceptance ? { accepted: accepted.splice(0) } : {}),
      };
      for (const key of Object.keys(outcomes)) delete outcomes[key];
      emit(message);
    }
  };
};
