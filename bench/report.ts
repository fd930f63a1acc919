import Table from 'cli-table3';
import type { HandlerOverhead } from './handler-overhead';
import type { BundleFigures, InitFigures } from './cold-start';
import type { CostPerMillion } from './cost-model';
import { PRICES, priceRows } from './prices';
import type { LatencyFigures, QuotaFigures } from './quota-run';
import type { CostSummary, SideSummary } from './summary';
import type { TargetCheck } from './targets';

export interface BenchReport {
  readonly messages: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly naive: SideSummary;
  readonly peer: SideSummary;
  readonly pipeline: SideSummary;
  /** pipeline / naive: reported, not a target. */
  readonly throughputRatio: number;
  readonly pipelineToPeer: number;
  readonly pairedRatios: number[];
  readonly pairedPeerRatios: number[];
  readonly overhead: HandlerOverhead;
  readonly bundle: BundleFigures;
  readonly init: InitFigures;
  readonly cost: CostSummary;
  readonly quota: QuotaFigures;
  readonly latency: LatencyFigures;
  /** The quota drain run, summarised like a side. */
  readonly drain: SideSummary;
  /** What limits the pipeline against the peer (from the await profile). */
  readonly peerGap: string;
  /** Reported, not a target: one run of the pipeline with `handlerConcurrency` messages of a batch at once. */
  readonly pipelineWide?: { readonly handlerConcurrency: number; readonly perSecond: number; readonly toPeer: number };
  readonly targets: TargetCheck[];
  /** Runs that sent fewer than they were given, and why (never a safety violation: those abort the run). */
  readonly shortfalls: string[];
}

const n = (x: number, digits = 2) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const usd = (x: number) => `$${n(x, 2)}`;
const orNone = (x: number | null, digits = 2) => (x === null ? '—' : n(x, digits));

/** The whole run as one table: the three sides side by side, the quota run, the cost rows, then the targets. */
export function renderReport(r: BenchReport): string {
  const table = new Table({
    head: ['', 'naive', 'peer', 'pipeline', 'note'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [36, 16, 16, 16, 48],
  });
  const section = (title: string) => table.push([{ colSpan: 5, content: title }]);
  const sides = [r.naive, r.peer, r.pipeline] as const;
  const row = (label: string, pick: (s: SideSummary) => string, note = '') => table.push([label, ...sides.map(pick), note]);
  const single = (label: string, value: string, note = '') => table.push([label, { colSpan: 3, content: value }, note]);

  section(
    `1. Throughput — ${r.messages} messages per run, batch ${r.batchSize}, ${r.concurrency} pollers, the same local event source poller and emulators`,
  );
  row(
    'messages/s per run',
    (s) => s.perSecondRuns.map((x) => n(x, 0)).join(' · '),
    `pipeline/peer per run ${r.pairedPeerRatios.map((x) => n(x, 3)).join(' · ')}`,
  );
  row(
    'messages/s (median)',
    (s) => n(s.medianPerSecond, 1),
    `pipeline/peer ${n(r.pipelineToPeer, 3)} (target); pipeline/naive ${n(r.throughputRatio, 3)} (reported)`,
  );
  const latency = (s: SideSummary, key: string) => (s.calls[key] ? n(s.latencyMs[key] / s.calls[key], 1) : '—');
  for (const key of [
    'SESv2:SendEmailCommand',
    'DynamoDB:TransactWriteItemsCommand',
    'DynamoDB:PutItemCommand',
    'DynamoDB:UpdateItemCommand',
    'DynamoDB:GetItemCommand',
    'DynamoDB:BatchGetItemCommand',
  ]) {
    row(`  mean ms per ${key.split(':')[1].replace('Command', '')}`, (s) => latency(s, key), 'wall time at the SDK, queueing included');
  }
  row(
    'handler ms per invocation (median)',
    (s) => n(s.handlerMs.median),
    'billed mean: ' + sides.map((s) => n(s.handlerMs.billedMean, 0)).join(' / '),
  );
  if (r.pipelineWide) {
    const w = r.pipelineWide;
    single(
      `pipeline at handlerConcurrency ${w.handlerConcurrency}`,
      `${n(w.perSecond, 1)} messages/s, ${n(w.toPeer, 3)} of the peer's median`,
      'one run, reported, not a target: the deployed default works on 1 message at a time (docs/decisions.md)',
    );
  }
  row('handler ms per e-mail', (s) => n(s.handlerMs.perMessage, 1), 'invocation time × invocations / sent');
  row('awaited call ms per e-mail', (s) => n(awaited(s), 1), 'sum of every call the handler awaited / sent (overlaps in parallel)');
  single('what limits pipeline/peer', r.pipelineToPeer >= 1 ? 'not limited: ≥ 1.0' : 'from the await profile', r.peerGap);
  if (r.shortfalls.length > 0) single('not sent (outcomes)', String(r.shortfalls.length), r.shortfalls.join('; '));

  section('2. Calls per sent message (counted at the SDK middleware)');
  row('DynamoDB calls', (s) => n(s.perSent.dynamoDb, 3));
  row('  of which writes', (s) => n(s.perSent.dynamoDbWrites, 3), 'pipeline: claim + settle; peer: idempotency PutItem + UpdateItem');
  row('  of which reads', (s) => n(s.perSent.dynamoDbReads, 3), 'pipeline: BatchGetItem per batch + cached pause flag');
  row('DynamoDB write units', (s) => orNone(s.perSent.writeUnits), 'ReturnConsumedCapacity=INDEXES; transactions at 2 WRU per item');
  row('  of which on indexes', (s) => orNone(s.perSent.writeUnitsOnIndexes));
  row('DynamoDB read units', (s) => orNone(s.perSent.readUnits, 3), 'strongly consistent');
  row('SES calls', (s) => n(s.perSent.ses, 3));
  row('SQS calls (consumer)', (s) => n(s.perSent.sqs, 3), 'receive + delete batch (+ DLQ sends)');
  row('SQS calls (publisher)', (s) => n(s.perSent.sqsPublish, 3), 'SendMessageBatch of 10');
  row('Lambda invocations', (s) => n(s.perSent.lambdaInvocations, 3));

  const q = r.quota;
  section(
    `3. SES quota run — Q ${q.quota}/s (burst ${n(q.burst, 0)}), ${q.concurrency} pollers each paced to ${q.perEnvironmentRate}/s (Q / maxConcurrency), pipeline`,
  );
  single(
    q.drained ? 'backlog drained' : 'backlog NOT drained within the cap',
    q.drained ? `${q.backlog} in ${n(q.drainSeconds, 1)} s` : `${q.accepted} of ${q.backlog} in ${n(q.runSeconds, 1)} s`,
    `ideal ${n(q.idealDrainSeconds, 1)} s (backlog / Q); ${q.drained ? '' : `projected ${n(q.drainSeconds, 1)} s, `}${q.drainOverIdeal >= 0 ? '+' : ''}${n(q.drainOverIdeal * 100, 1)} %`,
  );
  single('accepted/s ÷ Q (quotaUtilisation)', n(q.quotaUtilisation, 3), `${n(q.acceptedPerSecond, 1)} accepted/s, ${q.accepted} e-mails`);
  single(
    'throttled share of SES calls',
    `${n(q.throttledShare * 100, 2)} %`,
    `${q.throttled} of ${q.accepted + q.throttled} SendEmail calls answered 429`,
  );
  single('handler ms per e-mail in the drain', n(r.drain.handlerMs.perMessage, 1), `awaited: ${awaitedList(r.drain)}`);
  const l = r.latency;
  single(
    `latency publish → SES acceptance at Q/2`,
    `p50 ${n(l.p50, 0)} · p95 ${n(l.p95, 0)} · p99 ${n(l.p99, 0)} ms`,
    `${l.measured} of ${l.messages} e-mails published at ${l.publishPerSecond}/s accepted; max ${n(l.max, 0)} ms; ${l.throttled} throttled`,
  );

  section(`4. Cost per 1M e-mails — ${PRICES.region}, ${PRICES.note}; Lambda arm64 ${r.cost.memoryMb} MB`);
  const costs = [r.cost.naive, r.cost.peer, r.cost.pipeline] as const;
  const costRow = (label: string, pick: (c: CostPerMillion) => number, note = '') =>
    table.push([label, ...costs.map((c) => usd(pick(c))), note]);
  costRow('SES', (c) => c.ses);
  costRow('DynamoDB', (c) => c.dynamoDb);
  costRow('Lambda (requests + GB-s at measured duration)', (c) => c.lambda);
  costRow('SQS', (c) => c.sqs);
  costRow(
    'total (dispatch path, measured)',
    (c) => c.total,
    `safety share ${n(r.cost.safetyShare * 100)} % (gated); peer − naive ${usd(r.cost.peerOverNaive)}`,
  );
  section('  each safety layer over the naive sender (pipeline; feed and feedback on paper)');
  for (const c of r.cost.rows) single(`  ${c.layer}${c.source === 'model' ? ' (model)' : ''}`, usd(c.usdPerMillion), c.basis);
  const b = r.cost.budget;
  single('  every layer', usd(r.cost.safetyUsdPerMillion), `share ${n(r.cost.safetyShareAllLayers * 100)} % of naive + safety`);
  single(`  ≤ ${n(b.maxShare * 100, 0)} % would allow`, usd(b.budgetUsdPerMillion), `cut needed ${usd(b.cutUsdPerMillion)}`);
  for (const lever of b.levers) single('    lever', `−${usd(lever.savesUsdPerMillion)}`, lever.change);
  single('  with every lever', usd(b.afterLeversUsdPerMillion), `share ${n(b.afterLeversShare * 100)} %`);

  section(`5. Handler overhead — in-process fakes (local/in-memory-ports.ts), ${r.overhead.messagesPerSample} messages per sample`);
  single(
    'CPU µs per message (median)',
    n(r.overhead.cpuMicrosPerMessage, 1),
    `samples ${r.overhead.samplesCpuMicros.map((x) => n(x, 1)).join(' · ')}; wall ${n(r.overhead.wallMicrosPerMessage, 1)} µs`,
  );

  section('6. Bundle and cold start — esbuild node22 cjs minify, @aws-sdk/* external');
  single(
    'bundle size',
    `${n(r.bundle.bytes / 1024, 1)} KB`,
    r.bundle.byPackage
      .slice(0, 4)
      .map((p) => `${p.name} ${n(p.bytes / 1024, 0)} KB`)
      .join(', '),
  );
  single(
    'module init (require), median',
    `${n(r.init.initMs, 1)} ms`,
    `${r.init.spawns} spawns; Node boot ${n(r.init.bootMs, 1)} ms; start → ready ${n(r.init.totalMs, 1)} ms`,
  );
  single(
    '  of which @aws-sdk/* (runtime-provided)',
    `${n(r.init.sdkMs, 1)} ms`,
    `bundle's own code ${n(r.init.bundleOwnMs, 1)} ms (separate spawns that preload the SDK)`,
  );

  section('Prices used');
  for (const [label, price] of priceRows()) single(label, price);

  section('Targets');
  for (const t of r.targets)
    single(`${t.met ? 'met   ' : 'MISSED'} ${t.name}`, t.actual, `target ${t.target}${t.reason ? ` — limited by: ${t.reason}` : ''}`);
  return table.toString();
}

const handlerCalls = (s: SideSummary) =>
  Object.entries(s.callMsPerSent).filter(([key]) => !key.startsWith('SQS:ReceiveMessage') && !key.startsWith('SQS:DeleteMessageBatch'));

function awaited(s: SideSummary): number {
  return handlerCalls(s).reduce((sum, [, ms]) => sum + ms, 0);
}

function awaitedList(s: SideSummary): string {
  return handlerCalls(s)
    .sort((a, b) => b[1] - a[1])
    .map(([key, ms]) => `${key.split(':')[1].replace('Command', '')} ${n(ms, 1)}`)
    .join(' + ');
}
