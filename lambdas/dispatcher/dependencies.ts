import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { resolveConfig, type DispatchConfig } from '../core/config';
import { ConfigurationError } from '../core/errors';
import { DynamoDbDispatchLedger } from '../adapters/dynamodb-dispatch-ledger';
import { CachedPauseSwitch } from '../adapters/cached-pause-switch';
import { DynamoDbPauseSwitch } from '../adapters/dynamodb-pause-switch';
import { loadAddressHashKey } from '../adapters/address-hash-key';
import { loadReportLinkKeys } from '../adapters/report-link-key';
import { DEFAULT_REPORT_LINK_TTL_SECONDS, ReportLinks } from '../core/report-token';
import { PowertoolsOutcomeReporter } from '../adapters/powertools-outcome-reporter';
import { SendRateLimiter } from '../adapters/send-rate-limiter';
import { createSesClient, SesV2MailSender } from '../adapters/sesv2-mail-sender';
import { SqsRejectedMessageSink } from '../adapters/sqs-rejected-message-sink';
import { requiredEnv } from '../handler-kit';
import { Env, SES_CONFIGURATION_SET } from '../tables';
import { BreakerTrippingPauseSwitch } from '../adapters/breaker-tripping-pause-switch';
import { LambdaBreakerTrigger } from '../adapters/lambda-breaker-trigger';
import type { OutcomeReporter, PauseSwitch } from '../ports';
import type { BatchContext } from './dispatch-batch';
import { AWS_CLIENT_CONFIG, createDynamoDbClient } from '../adapters/sdk-clients';

export interface DispatcherClients {
  readonly dynamodb?: DynamoDBClient;
  readonly ses?: SESv2Client;
  readonly sqs?: SQSClient;
}

export interface DispatcherDepsOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** SDK clients (the local pipeline passes clients with fault-injection middleware). */
  readonly clients?: DispatcherClients;
  /** @default a Powertools reporter (structured logs + EMF metrics) */
  readonly reporter?: OutcomeReporter;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Builds the dispatcher's adapters from the environment the stack (or the local runtime) sets. */
export async function createDispatcherDeps(options: DispatcherDepsOptions = {}): Promise<BatchContext> {
  const env = options.env ?? process.env;
  const config = configFromEnv(env);
  const membersTable = requiredEnv(Env.membersTable, env);
  const ledgerTable = requiredEnv(Env.ledgerTable, env);
  const dynamodb = options.clients?.dynamodb ?? createDynamoDbClient();
  const sendRate = Number(env[Env.maxSendsPerSecond] ?? 0);
  return {
    config,
    ledger: new DynamoDbDispatchLedger({ membersTable, ledgerTable, client: dynamodb }),
    // Read before each claim: cached for at most a second (issue 12.8).
    pauseSwitch: new CachedPauseSwitch(pauseSwitchFor(env, new DynamoDbPauseSwitch({ ledgerTable, client: dynamodb }))),
    sender: new SesV2MailSender({
      fromAddress: requiredEnv(Env.fromAddress, env),
      configurationSet: env[Env.configurationSet] ?? SES_CONFIGURATION_SET,
      templatePrefix: env[Env.templatePrefix] ?? '',
      client: options.clients?.ses ?? createSesClient(),
    }),
    pacer: new SendRateLimiter(Number.isFinite(sendRate) ? sendRate : 0),
    rejectedSink: new SqsRejectedMessageSink({
      deadLetterQueueUrl: requiredEnv(Env.deadLetterQueueUrl, env),
      client: options.clients?.sqs ?? new SQSClient(AWS_CLIENT_CONFIG),
    }),
    reporter: options.reporter ?? new PowertoolsOutcomeReporter(),
    hashKey: await loadAddressHashKey(env),
    reportLinks: await reportLinksFromEnv(env),
    now: options.now ?? (() => new Date()),
  };
}

/** Every e-mail carries a "not for me" link: the dispatcher does not start without its key and page URL. */
export async function reportLinksFromEnv(env: NodeJS.ProcessEnv): Promise<ReportLinks> {
  const ttl = env[Env.reportLinkTtlSeconds] ? Number(env[Env.reportLinkTtlSeconds]) : DEFAULT_REPORT_LINK_TTL_SECONDS;
  const [keys, baseUrl] = [await loadReportLinkKeys(env), requiredEnv(Env.reportPageUrl, env)];
  try {
    return new ReportLinks(keys, baseUrl, ttl);
  } catch (error) {
    throw new ConfigurationError(`Invalid "not for me" link settings: ${(error as Error).message}`, { cause: error });
  }
}

/** With a breaker function configured, a pause set by the dispatcher also trips the breaker at once. */
function pauseSwitchFor(env: NodeJS.ProcessEnv, flag: PauseSwitch): PauseSwitch {
  const breaker = env[Env.breakerFunctionName];
  if (!breaker) return flag;
  const logger = new Logger({ serviceName: 'mail-dispatch' });
  return new BreakerTrippingPauseSwitch(flag, new LambdaBreakerTrigger({ functionName: breaker }), (error) =>
    logger.warn('breaker trip failed: the pause flag is set and the alarm path still applies', { errorName: (error as Error)?.name }),
  );
}

/** Reads the dispatch settings from `Env`; unset keys take DEFAULT_CONFIG. */
export function configFromEnv(env: NodeJS.ProcessEnv): DispatchConfig {
  const number = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : Number(env[name]));
  return resolveConfig({
    fanInLimit: number(Env.fanInLimit),
    fanInWindowSeconds: number(Env.fanInWindowSeconds),
    maxReceiveCount: number(Env.maxReceiveCount),
    claimLeaseSeconds: number(Env.claimLeaseSeconds),
    handlerConcurrency: number(Env.handlerConcurrency),
  });
}
