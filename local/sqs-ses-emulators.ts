import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundleForWorker } from './bundle';
import { LocalPipelineError } from './errors';
import { packageEntry } from './package-paths';
import { onProcessExit } from './process-exit';

export interface SqsSesEmulatorOptions {
  readonly sqsPort?: number;
  readonly sesPort?: number;
  /**
   * Put the SES send quota gate (local/ses-quota.ts) in front of the SES emulator; a quota is set
   * at run time through its control path (`SES_QUOTA_PATH`). @default false
   */
  readonly sesQuota?: boolean;
}

export interface SqsSesEmulators {
  /** fauxqs (SQS) endpoint. */
  readonly sqsEndpoint: string;
  /** aws-ses-v2-local endpoint; `/` is its web viewer, `/store` its mail store. */
  readonly sesEndpoint: string;
  stop(): Promise<void>;
}

/**
 * Runs fauxqs (pinned 1.9.x: its `SqsStore` is used directly) and aws-ses-v2-local in one worker thread: fauxqs is ESM-only (a dynamic `import()`
 * is not available inside Jest's module sandbox, but is in a worker), and a thread of their own
 * keeps the emulators responsive while the runner's thread is busy.
 */
export async function startSqsSesEmulators(options: SqsSesEmulatorOptions = {}): Promise<SqsSesEmulators> {
  // Bundled only when asked for: every other start stays as fast as before.
  const sesQuotaBundle = options.sesQuota ? await bundleForWorker(join(__dirname, 'ses-quota.ts')) : undefined;
  const fauxqsEntry = packageEntry('fauxqs', 'import');
  const fauxqsUrl = pathToFileURL(fauxqsEntry).href;
  const sqsStoreUrl = pathToFileURL(join(dirname(fauxqsEntry), 'sqs', 'sqsStore.js')).href;
  const sesEntry = packageEntry('aws-ses-v2-local', 'require');
  const code = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const fauxqs = await import(workerData.fauxqsUrl);
  const { SqsStore } = await import(workerData.sqsStoreUrl);
  // An empty host makes queue URLs use the request's Host (http://127.0.0.1:<port>/...), which
  // resolves everywhere; fauxqs's default sqs.<region>.localhost does not resolve on every system,
  // and the SDK sends to the QueueUrl's host when the endpoint comes from AWS_ENDPOINT_URL_SQS.
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  const app = fauxqs.buildApp({ logger: false, stores: { sqsStore } });
  await app.listen({ port: workerData.sqsPort, host: '127.0.0.1' });
  const sqs = { port: app.server.address().port, stop: () => app.close() };
  const sesModule = require(workerData.sesEntry);
  const ses = await (sesModule.default ?? sesModule)({ port: workerData.sesPort, host: '127.0.0.1' });
  if (workerData.sesQuotaBundle) {
    // The quota answers before the emulator's own listener (an express app) sees the request.
    const [emulator] = ses.listeners('request');
    ses.removeAllListeners('request');
    ses.on('request', require(workerData.sesQuotaBundle).createSesQuotaGate(emulator));
  }
  parentPort.postMessage({ type: 'ready', sqs: 'http://127.0.0.1:' + sqs.port, ses: 'http://127.0.0.1:' + ses.address().port });
  parentPort.on('message', async (message) => {
    if (message !== 'stop') return;
    ses.closeAllConnections?.();
    await Promise.all([sqs.stop(), new Promise((resolve) => ses.close(resolve))]);
    parentPort.postMessage({ type: 'stopped' });
    process.exit(0);
  });
})().catch((error) => parentPort.postMessage({ type: 'failed', message: String(error && error.stack || error) }));
`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { fauxqsUrl, sqsStoreUrl, sesEntry, sesQuotaBundle, sqsPort: options.sqsPort ?? 0, sesPort: options.sesPort ?? 0 },
    // The SES emulator relays to SMTP when SMTP_TRANSPORT is set: never from here.
    env: { ...process.env, SMTP_TRANSPORT: '' },
  });
  const unregister = onProcessExit(() => void worker.terminate());
  const ready = await new Promise<{ sqs: string; ses: string }>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new LocalPipelineError(`SQS/SES emulator thread exited during startup (${code})`)));
    worker.on('message', (message: { type: string; sqs: string; ses: string; message?: string }) => {
      if (message.type === 'ready') resolve(message);
      if (message.type === 'failed') reject(new LocalPipelineError(`SQS/SES emulators failed to start: ${message.message}`));
    });
  });
  worker.removeAllListeners('exit');
  worker.removeAllListeners('error');
  worker.on('error', () => undefined);
  return {
    sqsEndpoint: ready.sqs,
    sesEndpoint: ready.ses,
    async stop() {
      unregister();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
