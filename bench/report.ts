import Table from 'cli-table3';
import type { HandlerOverhead } from './handler-overhead';
import type { BundleFigures, InitFigures } from './cold-start';
import type { CostPerMillion } from './cost-model';
import { PRICES, priceRows } from './prices';
import type { CostSummary, SideSummary } from './summary';
import type { TargetCheck } from './targets';

export interface BenchReport {
  readonly messages: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly naive: SideSummary;
  readonly pipeline: SideSummary;
  readonly throughputRatio: number;
  readonly pairedRatios: number[];
  readonly overhead: HandlerOverhead;
  readonly bundle: BundleFigures;
  readonly init: InitFigures;
  readonly cost: CostSummary;
  readonly targets: TargetCheck[];
  /** Runs that sent fewer than they were given, and why (never a safety violation: those abort the run). */
  readonly shortfalls: string[];
}

const n = (x: number, digits = 2) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const usd = (x: number) => `$${n(x, 2)}`;
const orNone = (x: number | null, digits = 2) => (x === null ? 'not reported' : n(x, digits));

/** The whole run as one table: naive and pipeline side by side, then the targets. */
export function renderReport(r: BenchReport): string {
  const table = new Table({ head: ['', 'naive', 'pipeline', 'pipeline / naive · note'], style: { head: [], border: [] }, wordWrap: true, colWidths: [38, 20, 20, 52] });
  const section = (title: string) => table.push([{ colSpan: 4, content: title }]);
  const row = (label: string, naive: string, pipeline: string, note = '') => table.push([label, naive, pipeline, note]);
  const single = (label: string, value: string, note = '') => table.push([label, { colSpan: 2, content: value }, note]);

  section(`1. Throughput — ${r.messages} messages per run, batch ${r.batchSize}, ${r.concurrency} pollers, same local event source poller`);
  row('messages/s per run', r.naive.perSecondRuns.map((x) => n(x, 0)).join(' · '), r.pipeline.perSecondRuns.map((x) => n(x, 0)).join(' · '), `paired ratios ${r.pairedRatios.map((x) => n(x, 3)).join(' · ')}`);
  row('messages/s (median)', n(r.naive.medianPerSecond, 1), n(r.pipeline.medianPerSecond, 1), `throughputRatio ${n(r.throughputRatio, 3)}`);
  const latency = (s: SideSummary, key: string) => (s.calls[key] ? n(s.latencyMs[key] / s.calls[key], 1) : '—');
  for (const key of ['SESv2:SendEmailCommand', 'DynamoDB:TransactWriteItemsCommand', 'DynamoDB:UpdateItemCommand', 'DynamoDB:BatchGetItemCommand']) {
    row(`  mean ms per ${key.split(':')[1].replace('Command', '')}`, latency(r.naive, key), latency(r.pipeline, key), 'wall time at the SDK, queueing included');
  }
  if (r.shortfalls.length > 0) single('not sent (outcomes)', String(r.shortfalls.length), r.shortfalls.join('; '));
  row('handler ms per invocation (median)', n(r.naive.handlerMs.median), n(r.pipeline.handlerMs.median), `billed mean ${n(r.naive.handlerMs.billedMean)} / ${n(r.pipeline.handlerMs.billedMean)} ms`);

  section('2. Calls per sent message (counted at the SDK middleware)');
  row('DynamoDB calls', n(r.naive.perSent.dynamoDb, 3), n(r.pipeline.perSent.dynamoDb, 3));
  row('  of which writes', n(r.naive.perSent.dynamoDbWrites, 4), n(r.pipeline.perSent.dynamoDbWrites, 4), `claim + settle; per handled message (sent or in-doubt): ${n(r.pipeline.perSent.dynamoDbWritesPerHandled, 4)}`);
  row('  of which reads', n(r.naive.perSent.dynamoDbReads, 3), n(r.pipeline.perSent.dynamoDbReads, 3), 'BatchGetItem + pause flag GetItem, once per batch');
  row('SES calls', n(r.naive.perSent.ses, 3), n(r.pipeline.perSent.ses, 3));
  row('SQS calls (consumer)', n(r.naive.perSent.sqs, 3), n(r.pipeline.perSent.sqs, 3), 'receive + delete batch (+ DLQ sends)');
  row('SQS calls (publisher)', n(r.naive.perSent.sqsPublish, 3), n(r.pipeline.perSent.sqsPublish, 3), 'SendMessageBatch of 10');
  row('Lambda invocations', n(r.naive.perSent.lambdaInvocations, 3), n(r.pipeline.perSent.lambdaInvocations, 3));
  row('write units consumed', '0', orNone(r.pipeline.perSent.writeUnits), `DynamoDB Local, ReturnConsumedCapacity=INDEXES; on GSIs: ${orNone(r.pipeline.perSent.writeUnitsOnIndexes)}`);
  row('read units consumed', '0', orNone(r.pipeline.perSent.readUnits), 'strongly consistent');

  section(`3. Handler overhead — in-process fakes (local/in-memory-ports.ts), ${r.overhead.messagesPerSample} messages per sample`);
  single('CPU µs per message (median)', n(r.overhead.cpuMicrosPerMessage, 1), `samples ${r.overhead.samplesCpuMicros.map((x) => n(x, 1)).join(' · ')}; wall ${n(r.overhead.wallMicrosPerMessage, 1)} µs`);

  section('4. Bundle and cold start — esbuild node22 cjs minify, @aws-sdk/* external');
  single('bundle size', `${n(r.bundle.bytes / 1024, 1)} KB`, r.bundle.byPackage.slice(0, 4).map((p) => `${p.name} ${n(p.bytes / 1024, 0)} KB`).join(', '));
  single('module init (require), median', `${n(r.init.initMs, 1)} ms`, `${r.init.spawns} spawns; Node boot ${n(r.init.bootMs, 1)} ms; start → ready ${n(r.init.totalMs, 1)} ms`);
  single('  of which @aws-sdk/* (runtime-provided)', `${n(r.init.sdkMs, 1)} ms`, `bundle's own code ${n(r.init.bundleOwnMs, 1)} ms (separate spawns that preload the SDK)`);

  section(`5. Cost per 1M e-mails — ${PRICES.region}, ${PRICES.note}; Lambda arm64 ${r.cost.memoryMb} MB`);
  const costRow = (label: string, pick: (c: CostPerMillion) => number) => row(label, usd(pick(r.cost.naive)), usd(pick(r.cost.pipeline)));
  costRow('SES', (c) => c.ses);
  costRow('DynamoDB', (c) => c.dynamoDb);
  costRow('Lambda (requests + GB-s at measured duration)', (c) => c.lambda);
  costRow('SQS', (c) => c.sqs);
  row('total', usd(r.cost.naive.total), usd(r.cost.pipeline.total), `safety share ${n(r.cost.safetyShare * 100)} % (gated)`);
  row('+ SES feedback loop (on paper)', '—', usd(r.cost.feedbackLoop.total), `2 events → SNS + Lambda + 1 WRU each; total ${usd(r.cost.pipelineWithFeedback.total)}, share ${n(r.cost.safetyShareWithFeedback * 100)} %`);

  section('Prices used');
  for (const [label, price] of priceRows()) single(label, price);

  section('Targets');
  for (const t of r.targets) single(`${t.met ? 'met   ' : 'MISSED'} ${t.name}`, t.actual, `target ${t.target}`);
  return table.toString();
}
