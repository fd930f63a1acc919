/**
 * Entry of the dispatcher's local execution environments (bundled by esbuild, loaded in a worker
 * thread): the real handler and adapters from `lambdas/dispatcher`, with SDK clients that carry
 * the local fault middleware, and a reporter that also forwards each outcome to the runner.
 * The Lambda bundle never includes this file.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PowertoolsOutcomeReporter } from '../lambdas/adapters/powertools-outcome-reporter';
import { createSesClient } from '../lambdas/adapters/sesv2-mail-sender';
import { createDispatcherDeps } from '../lambdas/dispatcher/dependencies';
import { createHandler } from '../lambdas/dispatcher/handler';
import type { OutcomeEvent, OutcomeReporter } from '../lambdas/ports';
import type { LocalHandlerFactory } from './execution-environment';
import { addDynamoDbFaults, addSesFaults, FaultPlan } from './faults';
import { PipelineClock } from './pipeline-clock';

/** What the pipeline passes to each dispatcher execution environment. */
export interface DispatcherWorkerInit {
  readonly faultPlan: SharedArrayBuffer;
  /** The pipeline's clock (`PipelineClock`): what the dispatcher takes as now. */
  readonly clock: SharedArrayBuffer;
}

/** A message from a dispatcher execution environment to the runner. */
export type DispatcherEmit = { readonly type: 'outcome'; readonly event: OutcomeEvent };

class ForwardingReporter implements OutcomeReporter {
  constructor(
    private readonly inner: OutcomeReporter,
    private readonly emit: (message: DispatcherEmit) => void,
  ) {}

  report(event: OutcomeEvent): void {
    this.inner.report(event);
    this.emit({ type: 'outcome', event });
  }

  flush(): void {
    this.inner.flush();
  }
}

export const createLocalHandler: LocalHandlerFactory = async ({ workerData, emit }) => {
  const init = workerData as DispatcherWorkerInit;
  const plan = FaultPlan.attach(init.faultPlan);
  const clock = PipelineClock.attach(init.clock);
  const dynamodb = new DynamoDBClient({});
  const ses = createSesClient();
  addDynamoDbFaults(dynamodb, plan);
  addSesFaults(ses, plan);
  const reporter = new ForwardingReporter(new PowertoolsOutcomeReporter(), emit);
  const handler = createHandler(() =>
    createDispatcherDeps({ clients: { dynamodb, ses, sqs: new SQSClient({}) }, reporter, now: clock.now }),
  );
  // The context too: the dispatcher checks the invocation's time left before each claim (issue 12.6).
  return (event, context) => handler(event, context);
};
