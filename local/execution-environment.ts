import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/**
 * What a bundle loaded into an execution environment exports: a factory run once per cold start
 * (the Lambda "init" phase) that returns the handler. `emit` posts a message to the poller's
 * thread (outcomes, fault-plan state), since a worker shares no memory with it but SharedArrayBuffers.
 */
export type LocalHandlerFactory = (init: {
  readonly workerData: unknown;
  readonly emit: (message: unknown) => void;
}) => Promise<(event: SQSEvent, context: LocalLambdaContext) => Promise<SQSBatchResponse | void>>;

/** The subset of the Lambda context the local runtime provides. */
export interface LocalLambdaContext {
  readonly functionName: string;
  readonly awsRequestId: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly functionVersion: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** How one invocation ended, as the event source mapping sees it. */
export type InvocationResult =
  | { readonly kind: 'response'; readonly response: SQSBatchResponse | null }
  /** The handler threw (or its init failed): Lambda reports a function error. */
  | { readonly kind: 'error'; readonly error: { readonly name: string; readonly message: string } }
  /** The process running the handler died: no response at all. */
  | { readonly kind: 'crashed'; readonly exitCode: number }
  | { readonly kind: 'timeout' };

export interface ExecutionEnvironmentOptions {
  /** A CommonJS bundle exporting `createLocalHandler: LocalHandlerFactory`. */
  readonly bundlePath: string;
  /** Passed to the factory (must be structured-cloneable; SharedArrayBuffers are shared). */
  readonly workerData?: unknown;
  /** The function's environment variables. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Receives what the factory `emit`s. */
  readonly onEmit?: (message: unknown) => void;
  /** Receives each stdout/stderr line of the handler (its logs and EMF metrics). */
  readonly onLogLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** @default 'mail-dispatch-dispatcher' */
  readonly functionName?: string;
}

/**
 * A line the worker writes to its stdout and stderr when asked, after everything it wrote before:
 * the parent reads up to it before it ends the worker, so no log line still in the pipe is lost.
 */
const FENCE = '\u0000mail-dispatch-local-fence';

const RUNTIME = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', (msg) => {
  if (msg.type !== 'fence') return;
  process.stdout.write(${JSON.stringify(FENCE)} + '\\n');
  process.stderr.write(${JSON.stringify(FENCE)} + '\\n');
});
const ready = Promise.resolve().then(() =>
  require(workerData.bundlePath).createLocalHandler({
    workerData: workerData.init,
    emit: (message) => parentPort.postMessage({ type: 'emit', message }),
  }),
);
ready.catch(() => undefined);
parentPort.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  const deadline = Date.now() + msg.timeoutMs;
  const context = {
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:' + workerData.functionName,
    memoryLimitInMB: '512',
    awsRequestId: msg.requestId,
    logGroupName: '/aws/lambda/' + workerData.functionName,
    logStreamName: 'local/' + require('node:worker_threads').threadId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const handler = await ready;
    const response = await handler(msg.event, context);
    parentPort.postMessage({ type: 'response', id: msg.id, response: response === undefined ? null : response });
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: msg.id, error: { name: String(error && error.name || 'Error'), message: String(error && error.message || error) } });
  }
});
`;

interface Pending {
  readonly id: string;
  readonly worker: Worker;
  readonly resolve: (result: InvocationResult) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * One Lambda "execution environment": a worker thread running the bundled handler, one
 * invocation at a time. When the handler's process dies (a crash fault calls `process.exit`,
 * which in a worker ends only the worker) the invocation ends without a response and the next
 * invocation gets a fresh worker (a cold start), as in Lambda.
 */
export class ExecutionEnvironment {
  private worker?: Worker;
  private pending?: Pending;
  /** Resolves when the fence line has come through on each of the worker's streams. */
  private fenceWaiters: { stdout: (() => void)[]; stderr: (() => void)[] } = { stdout: [], stderr: [] };
  private exiting?: Promise<void>;
  coldStarts = 0;

  constructor(private readonly options: ExecutionEnvironmentOptions) {}

  get busy(): boolean {
    return this.pending !== undefined;
  }

  invoke(event: SQSEvent, timeoutMs: number): Promise<InvocationResult> {
    if (this.pending) throw new Error('An execution environment runs one invocation at a time');
    const worker = this.ensureWorker();
    const id = randomUUID();
    return new Promise<InvocationResult>((resolve) => {
      const timer = setTimeout(() => {
        // Lambda stops a timed-out function: the environment is discarded.
        this.finish({ kind: 'timeout' });
        void this.discardWorker();
      }, timeoutMs);
      this.pending = { id, worker, resolve, timer };
      worker.postMessage({ type: 'invoke', id, requestId: randomUUID(), event, timeoutMs });
    });
  }

  /**
   * Ends the environment. An idle one (the poller's graceful stop: its invocations have answered)
   * first reads its worker's stdout and stderr up to a fence, so the last invocation's log lines
   * (its outcome lines, written before its answer) are not cut off by the terminate; a worker
   * still running an invocation is ended at once.
   */
  async stop(): Promise<void> {
    if (!this.pending && this.worker) await this.fence(this.worker, 2_000);
    this.finish({ kind: 'crashed', exitCode: -1 });
    await this.discardWorker();
  }

  private async fence(worker: Worker, timeoutMs: number): Promise<void> {
    const through = (['stdout', 'stderr'] as const).map(
      (stream) => new Promise<void>((resolve) => this.fenceWaiters[stream].push(resolve)),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    worker.postMessage({ type: 'fence' });
    await Promise.race([Promise.all(through), timeout]);
    clearTimeout(timer);
    this.fenceWaiters = { stdout: [], stderr: [] };
  }

  private finish(result: InvocationResult, match: { id?: string; worker?: Worker } = {}): void {
    const pending = this.pending;
    if (!pending || (match.id !== undefined && pending.id !== match.id) || (match.worker !== undefined && pending.worker !== match.worker))
      return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    pending.resolve(result);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    this.coldStarts++;
    const worker = new Worker(RUNTIME, {
      eval: true,
      workerData: {
        bundlePath: this.options.bundlePath,
        init: this.options.workerData,
        functionName: this.options.functionName ?? 'mail-dispatch-dispatcher',
      },
      env: { ...(this.options.env ?? process.env) },
      stdout: true,
      stderr: true,
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = createInterface({ input: worker[stream], crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (line === FENCE) for (const resolve of this.fenceWaiters[stream].splice(0)) resolve();
        else this.options.onLogLine?.(line, stream);
      });
    }
    worker.on(
      'message',
      (message: {
        type: string;
        id?: string;
        response?: SQSBatchResponse | null;
        error?: { name: string; message: string };
        message?: unknown;
      }) => {
        if (message.type === 'emit') this.options.onEmit?.(message.message);
        else if (message.type === 'response') this.finish({ kind: 'response', response: message.response ?? null }, { id: message.id });
        else if (message.type === 'error' && message.error) this.finish({ kind: 'error', error: message.error }, { id: message.id });
      },
    );
    worker.on('error', (error) => {
      this.options.onLogLine?.(`execution environment crashed: ${error.name}: ${error.message}`, 'stderr');
    });
    worker.on('exit', (exitCode) => {
      if (this.worker === worker) this.worker = undefined;
      this.finish({ kind: 'crashed', exitCode }, { worker });
    });
    this.worker = worker;
    return worker;
  }

  private async discardWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      this.exiting = worker.terminate().then(() => undefined);
    }
    await this.exiting;
  }
}
