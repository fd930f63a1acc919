import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../lambdas/core/config';
import type { BatchContext } from '../lambdas/dispatcher/dispatch-batch';
import { createHandler } from '../lambdas/dispatcher/handler';
import {
  CollectingReporter,
  InMemoryDispatchLedger,
  InMemoryPauseSwitch,
  InMemoryRejectedSink,
  RecordingMailSender,
} from '../local/in-memory-ports';
import { benchMessage, sqsRecordOf } from './messages';
import { median } from './stats';
import { deriveReportLinkKeys, ReportLinks } from '../lambdas/core/report-token';

export interface HandlerOverheadOptions {
  readonly batchSize: number;
  /** Batches before measuring (JIT warm-up). @default 500 */
  readonly warmupBatches?: number;
  /** Batches per measured sample. @default 1000 */
  readonly batchesPerSample?: number;
  /** @default 5 */
  readonly samples?: number;
}

export interface HandlerOverhead {
  /** Median over the samples of CPU time (user + system) per message, µs. */
  readonly cpuMicrosPerMessage: number;
  readonly wallMicrosPerMessage: number;
  readonly samplesCpuMicros: number[];
  readonly messagesPerSample: number;
}

/**
 * The handler's own cost: the real `createHandler` → `dispatchBatch` → core decision on the
 * in-process fakes of the ports (`local/in-memory-ports.ts`), no network, no emulator; CPU time
 * from `process.cpuUsage()` around whole batches, after a warm-up.
 */
export async function measureHandlerOverhead(options: HandlerOverheadOptions): Promise<HandlerOverhead> {
  const ledger = new InMemoryDispatchLedger();
  const sender = new RecordingMailSender();
  const reporter = new CollectingReporter();
  const ctx: BatchContext = {
    config: resolveConfig({ batchSize: options.batchSize, handlerConcurrency: Math.min(options.batchSize, 10) }),
    ledger,
    sender,
    pauseSwitch: new InMemoryPauseSwitch(),
    rejectedSink: new InMemoryRejectedSink(),
    reporter,
    hashKey: randomBytes(32).toString('hex'),
    reportLinks: new ReportLinks(deriveReportLinkKeys(randomBytes(32).toString('hex')), 'https://not-for-me.example.org'),
    now: () => new Date(),
  };
  const handler = createHandler(ctx);
  let next = 0;
  /** Builds batches outside the timed region: the body's JSON is the portal's work, not the handler's. */
  const makeBatches = (count: number) =>
    Array.from({ length: count }, () => ({
      Records: Array.from({ length: options.batchSize }, () => {
        const message = benchMessage('cpu', ++next);
        ledger.members.set(message.memberId, { memberId: message.memberId, email: message.to, status: 'active' });
        return sqsRecordOf(message, `cpu-${next}`);
      }),
    }));
  const runAll = async (batches: ReturnType<typeof makeBatches>) => {
    for (const event of batches) {
      const response = await handler(event);
      if (response.batchItemFailures.length > 0) throw new Error('The in-memory run retried a message: the benchmark messages are wrong');
    }
  };

  await runAll(makeBatches(options.warmupBatches ?? 500));
  const samples: { cpu: number; wall: number }[] = [];
  const perSample = options.batchesPerSample ?? 1000;
  for (let i = 0; i < (options.samples ?? 5); i++) {
    const batches = makeBatches(perSample);
    reporter.events.length = 0;
    sender.sent.length = 0;
    const wallStart = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    await runAll(batches);
    const cpu = process.cpuUsage(cpuStart);
    const wall = Number(process.hrtime.bigint() - wallStart) / 1000;
    const messages = perSample * options.batchSize;
    if (reporter.events.filter((e) => e.outcome.state === 'sent').length !== messages)
      throw new Error('The in-memory run did not send every message');
    samples.push({ cpu: (cpu.user + cpu.system) / messages, wall: wall / messages });
  }
  return {
    cpuMicrosPerMessage: median(samples.map((s) => s.cpu)),
    wallMicrosPerMessage: median(samples.map((s) => s.wall)),
    samplesCpuMicros: samples.map((s) => s.cpu),
    messagesPerSample: perSample * options.batchSize,
  };
}
