import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadAddressHashKey } from '../adapters/address-hash-key';
import { BreakerTrippingPauseSwitch } from '../adapters/breaker-tripping-pause-switch';
import { DynamoDbPauseSwitch } from '../adapters/dynamodb-pause-switch';
import { DynamoDbRegistryIndex } from '../adapters/dynamodb-registry-index';
import { LambdaBreakerTrigger } from '../adapters/lambda-breaker-trigger';
import { ConfigurationError } from '../core/errors';
import { requiredEnv } from '../handler-kit';
import { METRIC_NAMESPACE, MetricName } from '../core/outcomes';
import type { PauseSwitch, RegistryIndex } from '../ports';
import { Env } from '../tables';
import { createDynamoDbClient } from '../adapters/sdk-clients';

export interface RegistryWatchDeps {
  readonly index: RegistryIndex;
  /** The pause flag (tripping the breaker when deployed with one). */
  readonly pauseSwitch: PauseSwitch;
  readonly fanInLimit: number;
  /** Counts one `RegistryFanIn` (EMF, namespace MailDispatch, no address in any dimension). */
  readonly countFanIn: () => void;
  /** @default Powertools Logger (service `mail-dispatch-registry-watch`) */
  readonly logger?: Pick<Logger, 'warn' | 'error'>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface RegistryWatchDepsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly dynamodb?: DynamoDBClient;
  /** @default the pause flag, tripping the breaker when `BREAKER_FUNCTION_NAME` is set */
  readonly pauseSwitch?: PauseSwitch;
  readonly now?: () => Date;
  readonly logger?: Pick<Logger, 'warn' | 'error'>;
  /** @default Powertools Metrics (EMF on stdout, service `mail-dispatch`, as the alarm reads it) */
  readonly countFanIn?: () => void;
}

/** Builds the watch's adapters from the environment the stack (or the local pipeline) sets. */
export async function createRegistryWatchDeps(options: RegistryWatchDepsOptions = {}): Promise<RegistryWatchDeps> {
  const env = options.env ?? process.env;
  const required = (name: string) => requiredEnv(name, env);
  const fanInLimit = Number(required(Env.fanInLimit));
  if (!Number.isInteger(fanInLimit) || fanInLimit < 1) throw new ConfigurationError(`${Env.fanInLimit} must be a positive integer`);
  const ledgerTable = required(Env.ledgerTable);
  const dynamodb = options.dynamodb ?? createDynamoDbClient();
  const logger = options.logger ?? new Logger({ serviceName: 'mail-dispatch-registry-watch' });
  const hashKey = await loadAddressHashKey(env);
  return {
    index: new DynamoDbRegistryIndex({ membersTable: required(Env.membersTable), ledgerTable, hashKey, client: dynamodb }),
    pauseSwitch: options.pauseSwitch ?? pauseSwitchFor(env, new DynamoDbPauseSwitch({ ledgerTable, client: dynamodb }), logger),
    fanInLimit,
    countFanIn: options.countFanIn ?? registryFanInCounter(),
    logger,
    now: options.now,
  };
}

/** Counts one `RegistryFanIn` as the deployed watch does: Powertools EMF, service `mail-dispatch` (what the alarm reads). */
export function registryFanInCounter(): () => void {
  // Service `mail-dispatch`: the dimension every alarm of the stack names (lib/dispatch-metrics.ts).
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'mail-dispatch' });
  return () => {
    metrics.addMetric(MetricName.RegistryFanIn, MetricUnit.Count, 1);
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
