import { METRIC_NAMESPACE, MetricName } from '../lambdas/core/outcomes';

/** The CloudWatch alarm notification body SNS carries to the breaker. */
export interface AlarmNotification {
  readonly AlarmName: string;
  readonly NewStateValue: 'ALARM' | 'OK';
  readonly OldStateValue: 'ALARM' | 'OK';
  readonly NewStateReason: string;
  readonly StateChangeTime: string;
  readonly Trigger: {
    readonly MetricName: string;
    readonly Namespace: string;
    readonly Statistic: 'SUM';
    readonly Period: number;
    readonly Threshold: number;
  };
}

/** The local fan-in alarm's name (the stack's is `<stack>-FanInSpike`). */
export const LOCAL_FAN_IN_ALARM_NAME = 'mail-dispatch-local-FanInSpike';

export interface MetricAlarmOptions {
  /** @default LOCAL_FAN_IN_ALARM_NAME */
  readonly alarmName?: string;
  /** @default 'MailDispatch' */
  readonly namespace?: string;
  /** @default 'FanInBlocked' */
  readonly metricName?: string;
  /** The metric's exact dimension set, as the alarm names it. @default { service: 'mail-dispatch' } */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Sum per period that trips the alarm (`>=`). @default 1 (the stack's default) */
  readonly threshold?: number;
  /** Period; 60 s in the stack, short locally. @default 1000 */
  readonly periodMs?: number;
  /**
   * `fast` (the demo's): every datapoint is evaluated the moment its log line arrives.
   * `realistic` (AWS's timing, on a scaled clock): a datapoint becomes visible only
   * `ingestionDelayMs` after its line was written (EMF → CloudWatch Logs → metric), and the alarm
   * is evaluated once per period, at period boundaries, over the last complete period it can see.
   * @default 'fast'
   */
  readonly mode?: 'fast' | 'realistic';
  /** Realistic mode: EMF ingestion delay (in AWS, tens of seconds to a few minutes). @default periodMs / 2 */
  readonly ingestionDelayMs?: number;
  /** The alarm action (SNS → breaker), called on each OK → ALARM transition. */
  readonly onAlarm: (notification: AlarmNotification) => Promise<void> | void;
  /** Receives the action's failure (the alarm stays in ALARM, as CloudWatch's would). */
  readonly onActionError?: (error: unknown) => void;
}

/**
 * The fan-in alarm, locally: reads the dispatcher's EMF lines (what CloudWatch Logs turns into
 * metrics), sums the metric over the last period with missing data not breaching, and calls the
 * alarm action when the state goes from OK to ALARM, as a CloudWatch metric alarm with one
 * evaluation period does.
 */
export class MetricAlarm {
  private readonly datapoints: { at: number; value: number }[] = [];
  private timer?: NodeJS.Timeout;
  private alarmState: 'OK' | 'ALARM' = 'OK';
  private readonly periodMs: number;
  private readonly threshold: number;
  private readonly namespace: string;
  private readonly metricName: string;
  private readonly dimensions: Readonly<Record<string, string>>;
  /** The name the alarm notification carries (and the breaker records on the pause flag). */
  readonly alarmName: string;
  private actionsRunning = 0;
  /** Every transition, oldest first (for tests and the local console). */
  readonly history: { readonly at: string; readonly state: 'OK' | 'ALARM'; readonly sum: number }[] = [];

  constructor(private readonly options: MetricAlarmOptions) {
    this.periodMs = options.periodMs ?? 1000;
    this.threshold = options.threshold ?? 1;
    this.alarmName = options.alarmName ?? LOCAL_FAN_IN_ALARM_NAME;
    this.namespace = options.namespace ?? METRIC_NAMESPACE;
    this.metricName = options.metricName ?? MetricName.FanInBlocked;
    this.dimensions = options.dimensions ?? { service: 'mail-dispatch' };
  }

  get state(): 'OK' | 'ALARM' {
    return this.alarmState;
  }

  /** When the alarm entered its state (ISO-8601); `undefined` while it has never left OK. */
  get since(): string | undefined {
    return this.history.at(-1)?.at;
  }

  /**
   * Alarm actions (breaker invocations) started and not yet finished. A pipeline is not quiet
   * while one runs: its pause lands later, and would undo a resume made in between.
   */
  get pendingActions(): number {
    return this.actionsRunning;
  }

  get mode(): 'fast' | 'realistic' {
    return this.options.mode ?? 'fast';
  }

  start(): void {
    if (this.timer) return;
    if (this.mode === 'fast') {
      this.timer = setInterval(() => this.evaluate(), this.periodMs);
      this.timer.unref();
      return;
    }
    // CloudWatch evaluates on period boundaries (whole minutes for a 60 s period): so does this.
    const untilBoundary = this.periodMs - (Date.now() % this.periodMs);
    this.timer = setTimeout(() => {
      this.evaluate();
      this.timer = setInterval(() => this.evaluate(), this.periodMs);
      this.timer.unref();
    }, untilBoundary);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Feeds one log line; lines that are not EMF for this metric are ignored. */
  ingestLogLine(line: string): void {
    if (!line.includes('"_aws"') || !line.includes(this.metricName)) return;
    let emf: Record<string, unknown> & {
      _aws?: { CloudWatchMetrics?: { Namespace?: string; Dimensions?: string[][]; Metrics?: { Name?: string }[] }[] };
    };
    try {
      emf = JSON.parse(line);
    } catch {
      return;
    }
    const directives = emf._aws?.CloudWatchMetrics ?? [];
    const matches = directives.some(
      (directive) =>
        directive.Namespace === this.namespace &&
        (directive.Metrics ?? []).some((metric) => metric.Name === this.metricName) &&
        (directive.Dimensions ?? []).some((set) => this.sameDimensions(set, emf)),
    );
    if (!matches) return;
    const raw = emf[this.metricName];
    const values = (Array.isArray(raw) ? raw : [raw]).map(Number).filter(Number.isFinite);
    this.record(values.reduce((sum, value) => sum + value, 0));
  }

  /** Records one datapoint now; the fast mode evaluates at once, the realistic one at the next boundary. */
  record(value: number, at: number = Date.now()): void {
    this.datapoints.push({ at, value });
    if (this.mode === 'fast') this.evaluate(at);
  }

  /**
   * What CloudWatch's `SetAlarmState` does (the post-deploy drill uses it): puts the alarm in `state`
   * at once, running the alarm action on a move into ALARM; the next evaluation sets it back from
   * the data, as CloudWatch's next period does.
   */
  setState(state: 'OK' | 'ALARM', reason: string, now: number = Date.now()): void {
    this.transition(state, reason, 0, now);
  }

  private sameDimensions(set: readonly string[], emf: Record<string, unknown>): boolean {
    const wanted = Object.entries(this.dimensions);
    return set.length === wanted.length && wanted.every(([name, value]) => set.includes(name) && emf[name] === value);
  }

  private evaluate(now: number = Date.now()): void {
    // Realistic: only what ingestion has made visible by now, over the period that ends there.
    const delay = this.mode === 'realistic' ? (this.options.ingestionDelayMs ?? this.periodMs / 2) : 0;
    const visibleUntil = now - delay;
    const since = visibleUntil - this.periodMs;
    while (this.datapoints.length > 0 && this.datapoints[0].at < since) this.datapoints.shift();
    const sum = this.datapoints.filter((point) => point.at <= visibleUntil).reduce((total, point) => total + point.value, 0);
    const next = sum >= this.threshold ? 'ALARM' : 'OK';
    this.transition(next, `Threshold Crossed: ${this.metricName} sum ${sum} >= ${this.threshold} over ${this.periodMs} ms`, sum, now);
  }

  private transition(next: 'OK' | 'ALARM', reason: string, sum: number, now: number): void {
    if (next === this.alarmState) return;
    const previous = this.alarmState;
    this.alarmState = next;
    const at = new Date(now).toISOString();
    this.history.push({ at, state: next, sum });
    if (next !== 'ALARM') return;
    const notification: AlarmNotification = {
      AlarmName: this.alarmName,
      NewStateValue: next,
      OldStateValue: previous,
      NewStateReason: reason,
      StateChangeTime: at,
      Trigger: {
        MetricName: this.metricName,
        Namespace: this.namespace,
        Statistic: 'SUM',
        Period: this.periodMs / 1000,
        Threshold: this.threshold,
      },
    };
    this.actionsRunning++;
    void Promise.resolve()
      .then(() => this.options.onAlarm(notification))
      .catch((error: unknown) => this.options.onActionError?.(error))
      .finally(() => this.actionsRunning--);
  }
}
