import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BreakerTrippingPauseSwitch } from '../adapters/breaker-tripping-pause-switch';
import { DynamoDbNotForMeStore } from '../adapters/dynamodb-not-for-me-store';
import { DynamoDbPauseSwitch } from '../adapters/dynamodb-pause-switch';
import { LambdaBreakerTrigger } from '../adapters/lambda-breaker-trigger';
import { loadReportLinkKeys } from '../adapters/report-link-key';
import { ConfigurationError } from '../core/errors';
import type { ReportLinkKeys } from '../core/report-token';
import { METRIC_NAMESPACE, MetricName } from '../core/outcomes';
import { requiredEnv } from '../handler-kit';
import type { NotForMeStore, PauseSwitch } from '../ports';
import { Env } from '../tables';
import { DEFAULT_NOT_FOR_ME_SETTINGS, type NotForMeSettings } from './settings';
import { createDynamoDbClient } from '../adapters/sdk-clients';

/** What a confirmed report tells metrics and logs: identifiers only, never an address. */
export interface ReportNotice {
  readonly dispatchId: string;
  readonly memberId: string;
  readonly toHash: string;
  readonly reportsInWindow: number;
  readonly pausedPipeline: boolean;
}

export interface NotForMeDeps {
  readonly store: NotForMeStore;
  readonly keys: ReportLinkKeys;
  /** Sets the pause flag (and, deployed, trips the breaker) when reports pass the threshold. */
  readonly pauseSwitch: PauseSwitch;
  readonly settings: NotForMeSettings;
  readonly now: () => Date;
  /** The `NotForMeReported` metric and a log line (pages on-call through the alarm). */
  readonly onReport: (notice: ReportNotice) => void;
  readonly onError: (message: string, error: unknown) => void;
}

export interface NotForMeDepsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly dynamodb?: DynamoDBClient;
  /** @default the pause flag, tripping the breaker when `BREAKER_FUNCTION_NAME` is set */
  readonly pauseSwitch?: PauseSwitch;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default Powertools Logger (service `mail-dispatch-not-for-me`) */
  readonly logger?: Pick<Logger, 'warn' | 'error'>;
  /**
   * Counts one metric. @default Powertools Metrics (EMF on stdout, service `mail-dispatch`, as the
   * alarm reads it); the local pipeline sends it to its log instead, stdout being the runner's report.
   */
  readonly countMetric?: (name: MetricName) => void;
}

/** Builds the page's adapters from the environment the stack (or the local pipeline) sets. */
export async function createNotForMeDeps(options: NotForMeDepsOptions = {}): Promise<NotForMeDeps> {
  const env = options.env ?? process.env;
  const required = (name: string) => requiredEnv(name, env);
  const ledgerTable = required(Env.ledgerTable);
  const dynamodb = options.dynamodb ?? createDynamoDbClient();
  const logger = options.logger ?? new Logger({ serviceName: 'mail-dispatch-not-for-me' });
  const countMetric = options.countMetric ?? powertoolsCounter();
  return {
    store: new DynamoDbNotForMeStore({ membersTable: required(Env.membersTable), ledgerTable, client: dynamodb }),
    keys: await loadReportLinkKeys(env),
    pauseSwitch: options.pauseSwitch ?? pauseSwitchFor(env, new DynamoDbPauseSwitch({ ledgerTable, client: dynamodb }), logger),
    settings: settingsFromEnv(env),
    now: options.now ?? (() => new Date()),
    onReport: (notice) => {
      // Identifiers only: the dispatchId, memberId and keyed address hash, never an address.
      logger.warn('recipient reported an e-mail as not theirs', { ...notice });
      countMetric(MetricName.NotForMeReported);
    },
    onError: (message, error) => logger.error(message, { errorName: (error as Error)?.name, errorMessage: (error as Error)?.message }),
  };
}

/** Counts a metric as the page does when deployed: Powertools EMF, service `mail-dispatch` (what the alarm reads). */
export function powertoolsCounter(): (name: MetricName) => void {
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch' });
  return (name) => {
    metrics.addMetric(name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  };
}

function pauseSwitchFor(env: NodeJS.ProcessEnv, flag: PauseSwitch, logger: Pick<Logger, 'warn'>): PauseSwitch {
  const breaker = env[Env.breakerFunctionName];
  if (!breaker) return flag;
  return new BreakerTrippingPauseSwitch(flag, new LambdaBreakerTrigger({ functionName: breaker }), (error) =>
    logger.warn('breaker trip failed: the pause flag is set and stops every claim', { errorName: (error as Error)?.name }),
  );
}

/** The page's limits from `Env`; unset keys take the defaults, bad ones are refused together. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): NotForMeSettings {
  const read = (name: string, fallback: number) => (env[name] === undefined || env[name] === '' ? fallback : Number(env[name]));
  const settings = {
    ...DEFAULT_NOT_FOR_ME_SETTINGS,
    pauseThreshold: read(Env.reportPauseThreshold, DEFAULT_NOT_FOR_ME_SETTINGS.pauseThreshold),
    windowSeconds: read(Env.reportWindowSeconds, DEFAULT_NOT_FOR_ME_SETTINGS.windowSeconds),
  };
  const bad = Object.entries(settings).filter(([, value]) => !Number.isInteger(value) || value < 1);
  if (bad.length > 0)
    throw new ConfigurationError(`Invalid "not for me" settings: ${bad.map(([key]) => `${key} must be a positive integer`).join('; ')}`);
  return settings;
}
