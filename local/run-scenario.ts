/**
 * `npm run -s scenario -- <file.json>`: runs one scenario on the local pipeline and prints its JSON
 * report, and only that, on stdout (`-s`: without npm's banner), or writes it to `--out <file>`.
 * Progress goes to stderr; the Lambdas' logs to a file.
 */
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { runLogFile } from './run-logs';
import { Command } from 'commander';
import { readScenarioFile } from './scenario-file';
import { runScenario } from './scenario-runner';
import { quietSdkNodeWarning } from '../cli/src/sdk-node-warning';

async function main(): Promise<void> {
  quietSdkNodeWarning();
  const program = new Command()
    .name('scenario')
    .description('Run a scenario (scenarios/README.md) through the real dispatcher on the embedded local AWS')
    .argument('<file>', 'scenario JSON file')
    .option('-c, --concurrency <n>', 'concurrent pollers / execution environments', (v) => Number.parseInt(v, 10), 4)
    .option(
      '--visibility-timeout <seconds>',
      "the dispatch queue's visibility timeout (the function timeout is 30 s, or this if longer)",
      (v) => Number.parseInt(v, 10),
      10,
    )
    .option('--out <file>', 'write the JSON report to this file instead of stdout (what `npm run` prints stays out of it)')
    .option('--logs <file>', "where the Lambda functions' logs go (default: a new file in the temp folder; the last 5 are kept)")
    .parse();
  const [file] = program.args;
  const opts = program.opts<{ concurrency: number; logs?: string; out?: string; visibilityTimeout: number }>();
  const options = { ...opts, logs: opts.logs ?? runLogFile('scenario') };
  const scenario = readScenarioFile(file);
  const logs = createWriteStream(options.logs);
  const log = (message: string) => process.stderr.write(`${message}\n`);
  log(`scenario ${scenario.name}: ${scenario.steps.length} step(s); function logs in ${options.logs}`);
  try {
    const run = await runScenario(scenario, {
      concurrency: options.concurrency,
      visibilityTimeoutSeconds: options.visibilityTimeout,
      log,
      onLog: (line, source) => logs.write(`${source} ${line}\n`),
    });
    const report = `${JSON.stringify(run.report, null, 2)}\n`;
    if (options.out) {
      await writeFile(options.out, report);
      log(`report written to ${options.out}`);
    } else process.stdout.write(report);
  } finally {
    await new Promise((resolve) => logs.end(resolve));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`scenario failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
