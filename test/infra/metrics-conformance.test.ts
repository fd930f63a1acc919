import { Logger } from '@aws-lambda-powertools/logger';
import type { Template } from 'aws-cdk-lib/assertions';
import { PowertoolsOutcomeReporter } from '../../lambdas/adapters/powertools-outcome-reporter';
import {
  BlockReason,
  DispatchState,
  METRIC_NAMESPACE,
  MetricName,
  RejectReason,
  RetryReason,
  type DispatchOutcome,
} from '../../lambdas/core/outcomes';
import { powertoolsCounter } from '../../lambdas/not-for-me/dependencies';
import { registryFanInCounter } from '../../lambdas/registry-watch/dependencies';
import { powertoolsMetric } from '../../lambdas/feedback/handler';
import { ReputationRate } from '../../lambdas/core/reputation';
import { synthMailDispatch } from './support/stack-fixture';

/** One metric as CloudWatch keys it: namespace, name and the exact set of dimensions with their values. */
type MetricKey = string;
const keyOf = (namespace: string, name: string, dimensions: Record<string, string>): MetricKey =>
  `${namespace} ${name} {${Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

interface EmfLine {
  readonly _aws: { readonly CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  readonly [field: string]: unknown;
}

/** Every metric the real dispatcher reporter emits, read back from the EMF it prints, for every outcome it can report. */
function emittedMetrics(): Set<MetricKey> {
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    return true;
  });
  try {
    const reporter = new PowertoolsOutcomeReporter({ logger: new Logger({ logLevel: 'SILENT' }) });
    const outcomes: DispatchOutcome[] = [
      { state: DispatchState.Sent, sesMessageId: 'ses-1' },
      { state: DispatchState.Duplicate },
      { state: DispatchState.InDoubt },
      ...Object.values(BlockReason).map((reason) => ({ state: DispatchState.Blocked, reason }) as const),
      ...Object.values(RejectReason).map((reason) => ({ state: DispatchState.Rejected, reason }) as const),
      ...Object.values(RetryReason).flatMap((reason) => [
        { state: 'retry', reason } as const,
        { state: DispatchState.Failed, reason } as const,
      ]),
    ];
    outcomes.forEach((outcome, i) =>
      reporter.report({
        sqsMessageId: `m${i}`,
        receiveCount: 1,
        dispatchId: `d${i}`,
        memberId: 'M1',
        outcome,
        fanInCount: 2,
        pausedPipeline: true,
      }),
    );
    reporter.flush();
    // The "not for me" page's metric, as its deployed handler counts it.
    powertoolsCounter()(MetricName.NotForMeReported);
    // The registry watch's metric, as its deployed handler counts it (12.2c).
    registryFanInCounter()();
    // The feedback function's reputation guard, as its deployed handler counts a breach.
    const feedbackMetric = powertoolsMetric();
    for (const rate of Object.values(ReputationRate)) feedbackMetric(MetricName.ReputationBreached, ['Rate', rate]);
  } finally {
    write.mockRestore();
  }
  const keys = new Set<MetricKey>();
  for (const line of lines) {
    let emf: EmfLine;
    try {
      emf = JSON.parse(line) as EmfLine;
    } catch {
      continue;
    }
    for (const directive of emf._aws?.CloudWatchMetrics ?? []) {
      for (const dimensionSet of directive.Dimensions) {
        const dimensions = Object.fromEntries(dimensionSet.map((name) => [name, String(emf[name])]));
        for (const { Name } of directive.Metrics) keys.add(keyOf(directive.Namespace, Name, dimensions));
      }
    }
  }
  return keys;
}

/** The project's metrics every alarm reads. */
function alarmMetrics(template: Template): MetricKey[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm'))
    .map((alarm) => alarm.Properties)
    .filter((p) => p.Namespace === METRIC_NAMESPACE)
    .map((p) =>
      keyOf(
        p.Namespace,
        p.MetricName,
        Object.fromEntries((p.Dimensions ?? []).map((d: { Name: string; Value: string }) => [d.Name, d.Value])),
      ),
    );
}

/** The project's metrics every dashboard widget draws (the body is a Fn::Join around tokens). */
function dashboardMetrics(template: Template): MetricKey[] {
  const keys: MetricKey[] = [];
  for (const dashboard of Object.values(template.findResources('AWS::CloudWatch::Dashboard'))) {
    const body = dashboard.Properties.DashboardBody;
    const text =
      typeof body === 'string'
        ? body
        : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
    const widgets = (JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
    for (const metric of widgets.flatMap((w) => w.properties.metrics ?? [])) {
      const parts = metric.filter((part): part is string => typeof part === 'string');
      const [namespace, name, ...dimensions] = parts;
      if (namespace !== METRIC_NAMESPACE) continue;
      const pairs: Record<string, string> = {};
      for (let i = 0; i < dimensions.length; i += 2) pairs[dimensions[i]] = dimensions[i + 1];
      keys.push(keyOf(namespace, name, pairs));
    }
  }
  return keys;
}

describe('metrics conformance (18.3)', () => {
  let emitted: Set<MetricKey>;
  let template: Template;

  beforeAll(() => {
    emitted = emittedMetrics();
    template = synthMailDispatch().template;
  });

  it('reads the EMF the real reporter prints', () => {
    expect(emitted.size).toBeGreaterThan(10);
  });

  it('every alarm on a MailDispatch metric reads one the code emits, with exactly those dimensions', () => {
    const read = alarmMetrics(template);
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((key) => !emitted.has(key))).toEqual([]);
  });

  it('every dashboard line on a MailDispatch metric reads one the code emits, with exactly those dimensions', () => {
    const drawn = dashboardMetrics(template);
    expect(drawn.length).toBeGreaterThan(10);
    expect(drawn.filter((key) => !emitted.has(key))).toEqual([]);
  });
});
