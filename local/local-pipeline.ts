import { MailDispatchError } from '../lambdas/core/errors';
import { join } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SNSEvent } from 'aws-lambda';
import { loadAddressHashKey } from '../lambdas/adapters/address-hash-key';
import { DynamoDbFeedbackStore } from '../lambdas/adapters/dynamodb-feedback-store';
import { DynamoDbPauseSwitch } from '../lambdas/adapters/dynamodb-pause-switch';
import { LambdaEventSourceSwitch } from '../lambdas/adapters/lambda-event-source-switch';
import { createBreakerHandler } from '../lambdas/breaker/handler';
import { createFeedbackHandler } from '../lambdas/feedback/handler';
import { SqsOutcomeFeed } from '../lambdas/adapters/sqs-outcome-feed';
import { parseOutcomeEvent, type OutcomeEventEnvelope } from '../lambdas/core/outcome-event';
import { createOutcomePublisherHandler } from '../lambdas/outcome-publisher/handler';
import { DynamoDbRegistryIndex } from '../lambdas/adapters/dynamodb-registry-index';
import { createRegistryWatchHandler } from '../lambdas/registry-watch/handler';
import { createDlqWatchDeps } from '../lambdas/dlq-watch/dependencies';
import { createDlqWatchHandler } from '../lambdas/dlq-watch/handler';
import type { SweepSummary } from '../lambdas/dlq-watch/sweep-dead-letters';
import { METRIC_NAMESPACE, MetricName } from '../lambdas/core/outcomes';
import { REPUTATION_DEFAULTS, ReputationRate, type ReputationSettings } from '../lambdas/core/reputation';
import { BreakerTrippingPauseSwitch } from '../lambdas/adapters/breaker-tripping-pause-switch';
import { createNotForMeDeps } from '../lambdas/not-for-me/dependencies';
import { createNotForMeHandler } from '../lambdas/not-for-me/handler';
import type { EventSourceSwitch, OutcomeEvent, PauseSwitch } from '../lambdas/ports';
import { Env } from '../lambdas/tables';
import type { LocalAlarms } from '../cli/src/ops/local-control';
import type { OpsTarget } from '../cli/src/ops/target';
import { MetricAlarm } from './alarm-evaluator';
import { bundleForWorker } from './bundle';
import type { DispatcherEmit, DispatcherWorkerInit } from './dispatcher-bootstrap';
import { startEmbeddedAws, type EmbeddedAws, type EmbeddedAwsOptions } from './embedded-aws';
import { EventSourcePoller, type InvocationReport } from './event-source-poller';
import { FaultPlan } from './faults';
import { FeedbackPump } from './feedback-pump';
import { LOCAL_MAPPING_UUID, localMappingClient } from './local-event-source-mapping';
import { PipelineClock } from './pipeline-clock';
import { DynamoDbStreamPoller } from './dynamodb-stream-poller';
import { LocalPipelineError } from './errors';
import { startFunctionUrlServer, type FunctionUrlServer } from './function-url-server';
import { snsEvent } from './sns-notification';

export interface LocalPipelineOptions extends EmbeddedAwsOptions {
  /** Concurrent pollers / execution environments (the mapping's maximum concurrency). @default 4 */
  readonly concurrency?: number;
  /**
   * @default the deployed function's 30 s, or the visibility timeout if longer. The local
   * visibility timeout is short so retries come back quickly; an invocation that outlives it on a
   * busy machine is not killed for that (killing it would leave its claims in-doubt): the
   * redelivered copy finds a live claim and goes back to the queue (`claim-in-flight`) until it settles.
   */
  readonly functionTimeoutMs?: number;
  /** The fan-in alarm's period. @default 1000 */
  readonly alarmPeriodMs?: number;
  /** The alarm's timing: `fast` for the demo, `realistic` for AWS's (see `MetricAlarmOptions.mode`). @default 'fast' */
  readonly alarmMode?: 'fast' | 'realistic';
  /** Realistic mode's EMF ingestion delay. @default half the period */
  readonly alarmIngestionDelayMs?: number;
  /** How often SES `Send` events are published to the feedback handler. @default 500 */
  readonly feedbackIntervalMs?: number;
  /** How often the outcome publisher polls an idle ledger stream. @default 100 */
  readonly outcomePollIntervalMs?: number;
  /** How often the registry watch polls an idle members stream. @default 100 */
  readonly registryWatchPollIntervalMs?: number;
  /**
   * Run the registry watch (issue 12.2c). Off only in tests of the dispatcher's own fan-in guard
   * against a raw over-limit registry, the case where the watch is lagging or has failed: the
   * dispatcher must hold the limit without it. @default true
   */
  readonly registryWatch?: boolean;
  /**
   * Also sweep the DLQ on this interval, as the deployed schedule does (`npm run local`). Off in
   * tests and scenarios, where `drain` ends with a sweep: a sweep running at any other moment would
   * hide DLQ messages from a `redriveDlq` step for its duration. @default off
   */
  readonly dlqWatchIntervalMs?: number;
  /** Receives every log line of the Lambda functions (JSON logs, EMF). @default dropped */
  readonly onLog?: (line: string, source: LogSource) => void;
  /** Port of the "not for me" page (the function URL's stand-in). @default 0 (any free port) */
  readonly reportPagePort?: number;
  /**
   * The reputation guard's thresholds and window of sends (the feedback function's). Locally any
   * positive window is allowed, so a test can trip it with a few sends. @default REPUTATION_DEFAULTS
   */
  readonly reputation?: Partial<ReputationSettings>;
}

/** The local reputation alarms' names (the stack's are `<stack>-BounceRate`, `<stack>-ComplaintRate`). */
export const LOCAL_REPUTATION_ALARM_NAMES = {
  bounce: 'mail-dispatch-local-BounceRate',
  complaint: 'mail-dispatch-local-ComplaintRate',
} as const;

export type LogSource =
  | 'dispatcher'
  | 'breaker'
  | 'feedback'
  | 'outcome-publisher'
  | 'not-for-me'
  | 'registry-watch'
  | 'dlq-watch'
  | 'pipeline';

/** A small `(message, fields)` logger that sends the Lambdas' logs to `onLog`, never to stdout. */
function lineLogger(source: Exclude<LogSource, 'dispatcher' | 'pipeline'>, onLog: LocalPipelineOptions['onLog']) {
  const write =
    (level: string) =>
    (message: string, ...fields: unknown[]) =>
      onLog?.(JSON.stringify({ level, message, ...Object.assign({}, ...fields.filter((f) => typeof f === 'object')) }), source);
  return { info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

/**
 * The whole pipeline on one machine: the emulators, the event source mapping (poller and
 * execution environments running the real dispatcher), the fan-in alarm firing the real breaker,
 * and SES `Send` events feeding the real feedback handler.
 */
export class LocalPipeline {
  readonly pauseSwitch: PauseSwitch;
  /** The "event source mapping" as the breaker and `ops resume` see it. */
  readonly eventSource: EventSourceSwitch;
  readonly alarm: MetricAlarm;
  /**
   * The reputation alarms on the pipeline's own rates: the feedback function's `ReputationBreached`
   * EMF lines, by `Rate`, firing the real breaker as the stack's do. (SES's account-level
   * `Reputation.*` metrics have no local stand-in.)
   */
  readonly reputationAlarms: readonly MetricAlarm[];
  readonly feedback: FeedbackPump;
  /**
   * The outcome feed: the ledger's stream, read by the real publisher handler, delivered to the
   * SQS queue that stands for the EventBridge bus (`aws.outcomeQueueUrl`).
   */
  readonly outcomePublisher: DynamoDbStreamPoller;
  /**
   * The registry watch (issue 12.2c): the members table's stream, read by the real watch handler,
   * which keeps the per-mailbox address index and pauses (flag, then the breaker) past `fanInLimit`.
   */
  readonly registryWatch: DynamoDbStreamPoller;
  /** False when started with `registryWatch: false`. */
  readonly registryWatchEnabled: boolean;
  /**
   * The DLQ watch (issue 14): the real handler, one sweep per call, as its schedule invokes it in
   * AWS. `drain` ends with a sweep, so a message that reached the DLQ with no recorded end gets
   * its `failed` record (and outcome event) and stays in the DLQ for `redriveDlq`.
   */
  readonly watchDeadLetters: () => Promise<SweepSummary>;
  readonly breakerHandler: (event: SNSEvent) => Promise<{ paused: boolean }>;
  /** The real feedback handler, as the SES events topic invokes it (the pump and `sesFeedback` steps call it). */
  readonly feedbackHandler: (event: SNSEvent) => Promise<unknown>;
  /**
   * The pipeline as the ops CLI's `--local` target sees it, in this process: what the scenario
   * runner and tests hand to cli/src/ops (`resumePipeline`, `redriveDeadLetters`, …) so that a
   * scenario's `resume` or `redriveDlq` is literally `ops resume` or `ops redrive`.
   */
  readonly opsTarget: OpsTarget;
  private readonly outcomeListeners = new Set<(event: OutcomeEvent) => void>();
  private readonly onLog: LocalPipelineOptions['onLog'];
  private dlqTimer?: NodeJS.Timeout;
  private dlqSweep: Promise<void> = Promise.resolve();
  private readonly invocationListeners = new Set<(invocation: InvocationReport) => void>();

  private constructor(
    readonly aws: EmbeddedAws,
    readonly poller: EventSourcePoller,
    /** Armed faults, shared with every execution environment. */
    readonly faults: FaultPlan,
    /** The pipeline's clock, shared with every execution environment (the scenario's `clock` step). */
    readonly clock: PipelineClock,
    /** The "not for me" page, serving the real page handler; every local e-mail links to it. */
    readonly reportPage: FunctionUrlServer,
    options: LocalPipelineOptions,
  ) {
    const onLog = options.onLog;
    this.onLog = onLog;
    this.pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    // The real adapter, against a Lambda API answered in-process by the poller (faults included).
    this.eventSource = new LambdaEventSourceSwitch({
      mappingId: LOCAL_MAPPING_UUID,
      client: localMappingClient(poller, faults, aws.region),
      backoffMs: 100,
    });
    this.breakerHandler = createBreakerHandler({
      pauseSwitch: this.pauseSwitch,
      eventSource: this.eventSource,
      logger: lineLogger('breaker', onLog),
      now: clock.now,
    });
    // Every local alarm notifies the breaker as the alarm topic's subscription does in AWS.
    const fireBreaker = async (notification: { AlarmName: string; NewStateReason: string; StateChangeTime: string }) => {
      onLog?.(
        JSON.stringify({ level: 'WARN', message: 'alarm', alarmName: notification.AlarmName, reason: notification.NewStateReason }),
        'pipeline',
      );
      await this.breakerHandler(
        snsEvent({
          topic: 'mail-dispatch-alarms',
          subject: `ALARM: "${notification.AlarmName}"`,
          message: notification,
          timestamp: notification.StateChangeTime,
        }),
      );
    };
    this.alarm = new MetricAlarm({
      periodMs: options.alarmPeriodMs ?? 1000,
      mode: options.alarmMode,
      ingestionDelayMs: options.alarmIngestionDelayMs,
      onAlarm: fireBreaker,
      onActionError: (error) => onLog?.(JSON.stringify({ level: 'ERROR', message: 'breaker failed', error: String(error) }), 'pipeline'),
    });
    this.reputationAlarms = [ReputationRate.Bounce, ReputationRate.Complaint].map(
      (rate) =>
        new MetricAlarm({
          alarmName: LOCAL_REPUTATION_ALARM_NAMES[rate],
          metricName: MetricName.ReputationBreached,
          dimensions: { Rate: rate },
          threshold: 1,
          periodMs: options.alarmPeriodMs ?? 1000,
          mode: options.alarmMode,
          ingestionDelayMs: options.alarmIngestionDelayMs,
          onAlarm: fireBreaker,
          onActionError: (error) =>
            onLog?.(JSON.stringify({ level: 'ERROR', message: 'breaker failed', error: String(error) }), 'pipeline'),
        }),
    );
    const feedbackLine = (line: string) => {
      for (const alarm of this.reputationAlarms) alarm.ingestLogLine(line);
      onLog?.(line, 'feedback');
    };
    const feedbackHandler = createFeedbackHandler({
      store: new DynamoDbFeedbackStore({ membersTable: aws.tables.members, ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
      logger: lineLogger('feedback', onLog),
      now: clock.now,
      configurationSet: aws.env[Env.configurationSet],
      // EMF lines, as the Lambda writes them, go where the functions' logs go.
      metric: (name, [dimension, value]) =>
        feedbackLine(
          JSON.stringify({
            _aws: {
              CloudWatchMetrics: [{ Namespace: METRIC_NAMESPACE, Dimensions: [[dimension]], Metrics: [{ Name: name, Unit: 'Count' }] }],
            },
            [dimension]: value,
            [name]: 1,
          }),
        ),
      reputation: { ...REPUTATION_DEFAULTS, ...options.reputation },
    });
    this.feedbackHandler = feedbackHandler;
    this.opsTarget = {
      kind: 'local',
      name: 'local',
      tables: aws.tables,
      queueUrl: aws.queueUrl,
      deadLetterQueueUrl: aws.dlqUrl,
      fanInLimit: aws.config.fanInLimit,
      clients: aws.clients,
      pauseSwitch: this.pauseSwitch,
      eventSource: this.eventSource,
      fanInAlarmName: this.alarm.alarmName,
      hashKey: () => loadAddressHashKey(aws.env),
      alarms: async () => [...this.alarmStatus().alarms],
      setAlarmState: async (name, state, reason) => this.setAlarmState(name, state, reason),
      // Only `status` asks; fauxqs's inspection endpoint answers it for the CLI's own local target.
      oldestMessageAgeSeconds: async () => undefined,
      // The pipeline owns the clients: `stop()` closes them.
      close: () => undefined,
    };
    this.outcomePublisher = new DynamoDbStreamPoller({
      client: aws.clients.dynamodbStreams,
      streamArn: aws.ledgerStreamArn,
      region: aws.region,
      intervalMs: options.outcomePollIntervalMs ?? 100,
      handler: createOutcomePublisherHandler({
        feed: new SqsOutcomeFeed({ queueUrl: aws.outcomeQueueUrl, client: aws.clients.sqs, region: aws.region }),
        logger: lineLogger('outcome-publisher', onLog),
        onCounts: ({ published, unmapped }) =>
          onLog?.(JSON.stringify({ level: 'INFO', message: 'outcome events published', published, unmapped }), 'outcome-publisher'),
      }),
      onError: (error) =>
        onLog?.(
          JSON.stringify({ level: 'ERROR', message: 'outcome publisher invocation failed', error: String(error) }),
          'outcome-publisher',
        ),
    });
    this.registryWatchEnabled = options.registryWatch !== false;
    this.registryWatch = new DynamoDbStreamPoller({
      client: aws.clients.dynamodbStreams,
      streamArn: aws.membersStreamArn,
      region: aws.region,
      intervalMs: options.registryWatchPollIntervalMs ?? 100,
      handler: createRegistryWatchHandler({
        index: new DynamoDbRegistryIndex({
          membersTable: aws.tables.members,
          ledgerTable: aws.tables.ledger,
          hashKey: aws.env[Env.addressHashKey],
          client: aws.clients.dynamodb,
        }),
        // As deployed: the flag, then the breaker (here its handler, which disables the poller).
        pauseSwitch: new BreakerTrippingPauseSwitch(this.pauseSwitch, {
          trip: async (cause) => {
            const notification = {
              AlarmName: `${cause.by}:${cause.reason}`,
              NewStateValue: 'ALARM',
              NewStateReason: `paused by ${cause.by}`,
              StateChangeTime: cause.at,
            };
            await this.breakerHandler(snsEvent({ topic: 'mail-dispatch-breaker', message: notification, timestamp: cause.at }));
          },
        }),
        fanInLimit: aws.config.fanInLimit,
        countFanIn: () => {
          const line = JSON.stringify({
            _aws: {
              Timestamp: clock.now().getTime(),
              CloudWatchMetrics: [
                { Namespace: METRIC_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: MetricName.RegistryFanIn, Unit: 'Count' }] },
              ],
            },
            service: 'mail-dispatch',
            [MetricName.RegistryFanIn]: 1,
          });
          onLog?.(line, 'registry-watch');
        },
        logger: lineLogger('registry-watch', onLog),
        now: clock.now,
      }),
      onError: (error) =>
        onLog?.(JSON.stringify({ level: 'ERROR', message: 'registry watch invocation failed', error: String(error) }), 'registry-watch'),
    });
    this.watchDeadLetters = createDlqWatchHandler(
      createDlqWatchDeps({
        env: aws.env,
        dynamodb: aws.clients.dynamodb,
        sqs: aws.clients.sqs,
        now: clock.now,
        logger: lineLogger('dlq-watch', onLog),
        hideSeconds: 30,
        // EMF into the log, as the dispatcher's metrics: stdout is the runner's report.
        countMetric: (name, count, reason) =>
          onLog?.(
            JSON.stringify({
              _aws: {
                CloudWatchMetrics: [
                  {
                    Namespace: 'MailDispatch',
                    Dimensions: [reason ? ['service', 'Reason'] : ['service']],
                    Metrics: [{ Name: name, Unit: 'Count' }],
                  },
                ],
              },
              service: 'mail-dispatch',
              ...(reason ? { Reason: reason } : {}),
              [name]: count,
            }),
            'dlq-watch',
          ),
      }),
    );
    this.feedback = new FeedbackPump({
      sesStore: () => aws.sesStore(),
      handler: feedbackHandler,
      intervalMs: options.feedbackIntervalMs ?? 500,
      onError: (error) => onLog?.(JSON.stringify({ level: 'ERROR', message: 'feedback pump failed', error: String(error) }), 'pipeline'),
    });
  }

  /** Starts the emulators, then the mapping, the alarm and the feedback pump. */
  static async start(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
    const [aws, bundlePath] = await Promise.all([startEmbeddedAws(options), bundleForWorker(join(__dirname, 'dispatcher-bootstrap.ts'))]);
    let pipeline: LocalPipeline | undefined;
    // As deployed: past the threshold the page sets the pause flag and trips the breaker (here
    // the breaker handler itself, which disables the poller).
    const clock = PipelineClock.create();
    const reportPage = await startFunctionUrlServer({
      port: options.reportPagePort,
      handler: createNotForMeHandler(() =>
        createNotForMeDeps({
          env: aws.env,
          // The scenario's clock: links expire, and reports fall in windows, on the pipeline's time.
          now: clock.now,
          dynamodb: aws.clients.dynamodb,
          logger: lineLogger('not-for-me', options.onLog),
          countMetric: (name) =>
            options.onLog?.(
              JSON.stringify({
                _aws: { CloudWatchMetrics: [{ Namespace: 'MailDispatch', Metrics: [{ Name: name, Unit: 'Count' }] }] },
                [name]: 1,
              }),
              'not-for-me',
            ),
          pauseSwitch: new BreakerTrippingPauseSwitch(
            new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
            {
              trip: async (cause) => {
                const notification = {
                  AlarmName: `${cause.by}:${cause.reason}`,
                  NewStateValue: 'ALARM',
                  NewStateReason: `paused by ${cause.by}`,
                  StateChangeTime: cause.at,
                };
                await pipeline?.breakerHandler(snsEvent({ topic: 'mail-dispatch-breaker', message: notification, timestamp: cause.at }));
              },
            },
          ),
        }),
      ),
    }).catch(async (error: unknown) => {
      await aws.stop();
      throw error;
    });
    const faults = FaultPlan.create();
    const workerData: DispatcherWorkerInit = { faultPlan: faults.buffer, clock: clock.buffer };
    const poller = new EventSourcePoller({
      sqs: aws.clients.sqs,
      queueUrl: aws.queueUrl,
      queueArn: aws.queueArn,
      batchSize: aws.config.batchSize,
      concurrency: options.concurrency ?? 4,
      functionTimeoutMs: options.functionTimeoutMs ?? Math.max(30_000, aws.visibilityTimeoutSeconds * 1000),
      duplicateDelivery: () => faults.take('sqs', 'duplicate-delivery'),
      onInvocation: (invocation) => pipeline?.invocationListeners.forEach((listener) => listener(invocation)),
      environment: {
        bundlePath,
        workerData,
        // The runner's process already shows the SDK's Node version warning once.
        env: { ...process.env, ...aws.env, [Env.reportPageUrl]: reportPage.url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        onEmit: (message) => {
          const emitted = message as DispatcherEmit;
          if (emitted?.type === 'outcome') pipeline?.outcomeListeners.forEach((listener) => listener(emitted.event));
        },
        onLogLine: (line) => {
          pipeline?.alarm.ingestLogLine(line);
          options.onLog?.(line, 'dispatcher');
        },
      },
    });
    pipeline = new LocalPipeline(aws, poller, faults, clock, reportPage, options);
    pipeline.alarm.start();
    for (const alarm of pipeline.reputationAlarms) alarm.start();
    pipeline.feedback.start();
    pipeline.outcomePublisher.start();
    if (pipeline.registryWatchEnabled) pipeline.registryWatch.start();
    if (options.dlqWatchIntervalMs) {
      const every = options.dlqWatchIntervalMs;
      const tick = () => {
        pipeline!.dlqSweep = pipeline!.sweepDeadLetters().finally(() => {
          if (pipeline!.dlqTimer) pipeline!.dlqTimer = setTimeout(tick, every);
        });
      };
      pipeline.dlqTimer = setTimeout(tick, every);
    }
    poller.start();
    return pipeline;
  }

  /** Subscribes to every outcome the dispatcher reports (per SQS message delivery). */
  onOutcome(listener: (event: OutcomeEvent) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  onInvocation(listener: (invocation: InvocationReport) => void): () => void {
    this.invocationListeners.add(listener);
    return () => this.invocationListeners.delete(listener);
  }

  /** CloudWatch's `SetAlarmState`, locally: the post-deploy drill's way to fire the alarm action. */
  setAlarmState(name: string, state: 'ALARM' | 'OK', reason: string): void {
    if (name !== this.alarm.alarmName)
      throw new MailDispatchError(`No local alarm named ${name} (the local fan-in alarm is ${this.alarm.alarmName})`);
    this.alarm.setState(state, reason);
  }

  /** The local alarms as the ops CLI sees them (`/alarms` of the control endpoint, `status`, `resume`). */
  alarmStatus(): LocalAlarms {
    const { alarmName } = this.alarm;
    return {
      fanInAlarmName: alarmName,
      alarms: [this.alarm, ...this.reputationAlarms].map(({ alarmName: name, state, since }) => ({ name, state, since })),
    };
  }

  /** Paused: the pause flag is set or the mapping is disabled. */
  async paused(): Promise<boolean> {
    return !this.poller.enabled || (await this.pauseSwitch.read()).paused;
  }

  /**
   * After a pause (the breaker disabling the mapping): waits until alarm actions have run and the
   * disabled mapping has nothing in flight, so a message published after it is not taken by a
   * receive that began before the pause. An enabled mapping has nothing to settle. Returns false
   * when `maxMs` passes first.
   */
  async settlePause(maxMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline) {
      const busy = this.poller.busy;
      if (this.alarm.pendingActions === 0 && (this.poller.enabled || (busy.receiving === 0 && busy.processing === 0))) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  /**
   * Lets the pipeline work until the queue is empty with no invocation running, or it is paused
   * (mapping disabled) with nothing in flight, or the time is up. Then publishes the last SES events.
   */
  async drain(maxSeconds: number, onTick?: () => void): Promise<'empty' | 'paused' | 'timeout'> {
    const deadline = Date.now() + maxSeconds * 1000;
    let result: 'empty' | 'paused' | 'timeout' = 'timeout';
    while (Date.now() < deadline) {
      onTick?.();
      const busy = this.poller.busy;
      // An alarm action still running is work in flight: the breaker it invokes pauses (disables
      // the mapping) when it finishes, so a `resume` made before then would be undone by it.
      if (this.alarm.pendingActions > 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (!this.poller.enabled && busy.processing === 0 && busy.receiving === 0) {
        result = 'paused';
        break;
      }
      if (busy.processing === 0 && (await this.aws.queueDepth()).total === 0 && this.poller.busy.processing === 0) {
        // Both ends at once (the last message tripped the pause while the mapping is still
        // disabling): the pause is what the run must report.
        result = (await this.pauseSwitch.read()).paused ? 'paused' : 'empty';
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.feedback.pumpOnce();
    await this.sweepDeadLetters();
    return result;
  }

  /** One DLQ sweep; a failed one is logged (the deployed watch's alarm), never fatal to the run. */
  private async sweepDeadLetters(): Promise<void> {
    try {
      await this.watchDeadLetters();
    } catch (error) {
      this.onLog?.(JSON.stringify({ level: 'ERROR', message: 'dlq watch failed', error: String(error) }), 'dlq-watch');
    }
  }

  /**
   * Every outcome event the feed holds, in the order received, taken off the queue that stands for
   * the bus (as the portal's consumer would), once the publisher has caught up with the ledger.
   */
  async receiveOutcomeEvents(): Promise<OutcomeEventEnvelope[]> {
    await this.outcomePublisher.catchUp();
    const received: OutcomeEventEnvelope[] = [];
    for (;;) {
      const { Messages = [] } = await this.aws.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.aws.outcomeQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return received;
      for (const message of Messages) {
        const parsed = parseOutcomeEvent(message.Body ?? '');
        if (!parsed.ok) throw new LocalPipelineError(`The outcome feed holds an event that does not parse: ${parsed.problems.join('; ')}`);
        received.push(JSON.parse(message.Body ?? '') as OutcomeEventEnvelope);
      }
      await this.aws.clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.aws.outcomeQueueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.dlqTimer);
    this.dlqTimer = undefined;
    await this.dlqSweep;
    this.alarm.stop();
    for (const alarm of this.reputationAlarms) alarm.stop();
    this.feedback.stop();
    await this.outcomePublisher.stop();
    await this.registryWatch.stop();
    await this.poller.stop();
    await this.reportPage.stop();
    await this.aws.stop();
  }
}
