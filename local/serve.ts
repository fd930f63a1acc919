/**
 * `npm run local`: the embedded AWS, the event source poller running the real dispatcher, the
 * fan-in alarm and breaker, and the SES feedback pump, kept running until Ctrl-C. Prints the
 * environment to point the ops CLI or a portal at it, including the control endpoint through
 * which `ops pause/resume/status` reach the poller and the local alarm.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { LOCAL_CONTROL_URL_ENV, startLocalControlServer } from '../cli/src/ops/local-control';
import { Env } from '../lambdas/tables';
import { LocalPipeline } from './local-pipeline';
import { assertPortsFree } from './port-check';
import { quietSdkNodeWarning } from '../cli/src/sdk-node-warning';

function parsePort(value: string): number {
  const port = Number.parseInt(value, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a port: ${value}`);
  return port;
}

async function main(): Promise<void> {
  quietSdkNodeWarning();
  const options = new Command()
    .name('local')
    .description('Run the mail-dispatch pipeline on embedded local emulators until Ctrl-C')
    .option('--dynamodb-port <port>', 'DynamoDB Local port (0: any free port)', parsePort, 8000)
    .option('--sqs-port <port>', 'SQS emulator port (0: any free port)', parsePort, 9324)
    .option('--ses-port <port>', 'SES v2 emulator port and mail viewer (0: any free port)', parsePort, 8005)
    .option('--control-port <port>', 'control endpoint for the ops CLI (0: any free port)', parsePort, 0)
    .option('-c, --concurrency <n>', 'concurrent pollers / execution environments', (v) => Number.parseInt(v, 10), 2)
    .option('--visibility-timeout <seconds>', "the dispatch queue's visibility timeout", (v) => Number.parseInt(v, 10), 30)
    .option('--emf', 'also print the EMF metric lines of the functions')
    .option('--data <dir>', 'keep the member registry, the ledger and the address hash key in <dir> across restarts (not the queues)')
    .parse()
    .opts<{
      dynamodbPort: number;
      sqsPort: number;
      sesPort: number;
      controlPort: number;
      concurrency: number;
      visibilityTimeout: number;
      emf?: boolean;
      data?: string;
    }>();

  const err = (text: string) => process.stderr.write(`${text}\n`);
  // Before anything starts: a busy fixed port is named with its holder and the flag that moves it.
  await assertPortsFree({ dynamodb: options.dynamodbPort, sqs: options.sqsPort, ses: options.sesPort, control: options.controlPort });
  err('starting DynamoDB Local, SQS and SES v2 emulators...');
  const pipeline = await LocalPipeline.start({
    ports: { dynamodb: options.dynamodbPort, sqs: options.sqsPort, ses: options.sesPort },
    concurrency: options.concurrency,
    visibilityTimeoutSeconds: options.visibilityTimeout,
    dataDir: options.data ? resolve(options.data) : undefined,
    // As the deployed schedule (every 5 minutes), sooner: a dead-lettered message's `failed` event appears within a minute.
    dlqWatchIntervalMs: 60_000,
    onLog: (line, source) => {
      if (!options.emf && line.includes('"_aws"')) return;
      err(`[${source}] ${line}`);
    },
  });
  const control = await startLocalControlServer({
    eventSource: pipeline.eventSource,
    alarms: () => pipeline.alarmStatus(),
    setAlarmState: (name, state, reason) => pipeline.setAlarmState(name, state, reason),
    port: options.controlPort,
  }).catch(async (error: unknown) => {
    await pipeline.stop();
    throw error;
  });
  // The handlers before the banner: whoever reads "Ctrl-C stops everything." may press it at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      err('forced exit');
      process.exit(130);
    }
    stopping = true;
    err(`${signal}: stopping (in-flight invocations finish first)...`);
    control
      .stop()
      .then(() => pipeline.stop())
      .then(() => {
        err('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        err(`stop failed: ${String(error)}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const { aws } = pipeline;
  const variables = { ...aws.env, [Env.reportPageUrl]: pipeline.reportPage.url, [LOCAL_CONTROL_URL_ENV]: control.url };
  const exports = Object.entries(variables).map(([name, value]) => `export ${name}=${JSON.stringify(value)}`);
  process.stdout.write(
    [
      '',
      'mail-dispatch is running locally:',
      `  DynamoDB Local   ${aws.endpoints.dynamodb}   tables ${aws.tables.members}, ${aws.tables.ledger}`,
      `  SQS (fauxqs)     ${aws.endpoints.sqs}   queue ${aws.queueUrl}`,
      `                   dead-letter queue ${aws.dlqUrl}`,
      `  SES v2           ${aws.endpoints.ses}   sent mail: open ${aws.endpoints.ses}/ in a browser`,
      `  outcome feed     ${aws.outcomeQueueUrl}   (stands for the EventBridge bus: one event per ledger change, as the portal gets it)`,
      `                   aws sqs receive-message --endpoint-url ${aws.endpoints.sqs} --region ${aws.region} --queue-url ${aws.outcomeQueueUrl} --max-number-of-messages 10`,
      `  dispatcher       ${options.concurrency} concurrent poller(s), batch size ${aws.config.batchSize}, maxReceiveCount ${aws.config.maxReceiveCount}`,
      `  not-for-me page  ${pipeline.reportPage.url}/r/<token>   every e-mail's "Tell us" link opens it`,
      `  control          ${control.url}   the poller and the alarm ${pipeline.alarm.alarmName}, for ops pause/resume/status`,
      '',
      'Point the ops CLI or a portal at it (bash):',
      ...exports,
      '',
      options.data
        ? `Data: kept in ${resolve(options.data)}: the member registry, the ledger and the address hash key. ` +
          'Not kept: the queues (messages waiting in the queue or the DLQ are gone at stop) and the SES mail store.'
        : 'Data: Nothing is kept: the members, the ledger, the queues and the address hash key are gone at stop. ' +
          'Keep the registry, ledger and hash key with: npm run local -- --data <dir>',
      '',
      'On Ctrl-C polling stops, in-flight invocations finish, then the emulators stop.',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`local failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
