/**
 * `npm run bench`: the cost of safety, measured side by side in one run (issue 8). Prints one
 * table, writes `bench/results/latest.json`, and exits 1 when a target is missed (2 on error).
 * Progress goes to stderr, the table to stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { bundleForWorker } from '../local/bundle';
import { startEmbeddedAws } from '../local/embedded-aws';
import { measureBundleAndInit } from './cold-start';
import { measureHandlerOverhead } from './handler-overhead';
import { renderReport, type BenchReport } from './report';
import { median } from './stats';
import { summariseCost, summariseSide } from './summary';
import { checkTargets } from './targets';
import { ThroughputBench, type SideRun } from './throughput';

/** The dispatcher's memory: `ServiceFunction`'s default (lib/constructs/service-function.ts), which the stack does not override. */
export const DISPATCHER_MEMORY_MB = 512;

const RESULTS_FILE = join(__dirname, 'results', 'latest.json');

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

interface Options {
  readonly messages: number;
  readonly runs: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly spawns: number;
  readonly primeMessages: number;
}

const program = new Command('bench')
  .description('Naive sender vs the pipeline on the embedded emulators: throughput, calls, CPU, bundle, cold start, cost per 1M')
  .option('--messages <n>', 'messages per measured run (same set on both sides)', positiveInt, 2000)
  .option('--runs <n>', 'measured runs per side, interleaved (median reported)', positiveInt, 3)
  .option('--batch-size <n>', 'messages per invocation (the event source batch size; the stack default)', positiveInt, 10)
  .option('--concurrency <n>', 'pollers / execution environments on each side (the local pipeline default)', positiveInt, 4)
  .option('--spawns <n>', 'fresh Node processes for the init time', positiveInt, 15)
  .option('--prime-messages <n>', 'messages of the untimed first run of each side', positiveInt, 500);

async function main(options: Options): Promise<number> {
  const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const started = Date.now();

  // CPU-only parts first, before the emulators (a JVM and two server threads) compete for the cores.
  progress(`bundle and init time (${options.spawns} spawns)`);
  const { bundle, init } = await measureBundleAndInit(options.spawns);
  progress('handler CPU on in-process fakes');
  const overhead = await measureHandlerOverhead({ batchSize: options.batchSize });

  progress('starting the embedded emulators');
  const [aws, bundlePath] = await Promise.all([
    startEmbeddedAws({ config: { batchSize: options.batchSize }, visibilityTimeoutSeconds: 30 }),
    bundleForWorker(join(__dirname, 'bench-handler.ts')),
  ]);
  const runs: SideRun[] = [];
  try {
    const bench = new ThroughputBench(aws, bundlePath, { ...options, progress });
    await bench.prepare();
    await bench.prime(options.primeMessages);
    // Interleaved, the order flipped every round: drift on a noisy machine falls on both sides.
    for (let round = 0; round < options.runs; round++) {
      const order = round % 2 === 0 ? (['naive', 'pipeline'] as const) : (['pipeline', 'naive'] as const);
      for (const side of order) runs.push(await bench.run(side));
    }
  } finally {
    await aws.stop();
  }
  const violations = runs.flatMap((run) => run.violations.map((v) => `run ${run.run} (${run.side}): ${v}`));
  if (violations.length > 0) throw new Error(`A run sent an e-mail to the wrong place or twice:\n${violations.join('\n')}`);
  const shortfalls = runs.flatMap((run) => (run.shortfall ? [`run ${run.run} (${run.side}): ${run.shortfall}`] : []));

  const naive = summariseSide(runs.filter((run) => run.side === 'naive'));
  const pipeline = summariseSide(runs.filter((run) => run.side === 'pipeline'));
  const throughputRatio = pipeline.medianPerSecond / naive.medianPerSecond;
  const pairedRatios = Array.from({ length: options.runs }, (_, i) => pipeline.perSecondRuns[i] / naive.perSecondRuns[i]);
  const cost = summariseCost(naive, pipeline, DISPATCHER_MEMORY_MB);
  const targets = checkTargets({
    messages: options.messages,
    runsPerSide: options.runs,
    throughputRatio,
    dynamoDbWriteCallsPerMessage: pipeline.perSent.dynamoDbWritesPerHandled,
    bundleBytes: bundle.bytes,
    initMs: init.initMs,
    spawns: init.spawns,
    safetyShare: cost.safetyShare,
  });
  const report: BenchReport = { ...options, naive, pipeline, throughputRatio, pairedRatios, overhead, bundle, init, cost, targets, shortfalls };
  process.stdout.write(`${renderReport(report)}\n`);

  const passed = targets.every((t) => t.met);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        throughputRatio,
        passed,
        generatedAt: new Date().toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, platform: process.platform },
        options,
        throughput: { naive: naive.perSecondRuns, pipeline: pipeline.perSecondRuns, pairedRatios, medianRatioOfPairs: median(pairedRatios) },
        naive,
        pipeline,
        runs: runs.map(({ handlerDurationsMs, ...run }) => ({ ...run, handlerMsMedian: handlerDurationsMs.length ? median(handlerDurationsMs) : 0 })),
        handlerOverhead: overhead,
        bundle,
        init,
        cost,
        targets,
        shortfalls,
      },
      null,
      2,
    )}\n`,
  );
  progress(`wrote ${RESULTS_FILE} in ${((Date.now() - started) / 1000).toFixed(0)} s; ${passed ? 'all targets met' : `missed: ${targets.filter((t) => !t.met).map((t) => t.name).join(', ')}`}`);
  return passed ? 0 : 1;
}

main(program.parse().opts<Options>()).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
