#!/usr/bin/env node
/**
 * `npm run smoke -- --target local|localstack|aws [--stack NAME] [--drill]`: publishes a good message, one to a
 * wrong address and a duplicate through the publisher client, and checks their outcomes in the
 * ledger (and the sent mail where the target shows it); `--drill` then runs the post-deploy drill
 * (cli/src/smoke/run-drill.ts). Exit codes as the ops CLI's (cli/src/ops/errors.ts): 0 = passed, 1 = a check
 * failed, 2 = usage, 3 = the target could not be reached or read. Progress on stderr, the report on stdout.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { MailDispatchError } from '../lambdas/core/errors';
import { explainAwsFailure, isEnvironmentFailure } from '../cli/src/ops/aws-failure';
import { ExitCode, UsageError, exitCodeOf } from '../cli/src/ops/errors';
import { resolveTarget } from '../cli/src/ops/target';
import { runDrill, type DrillReport } from '../cli/src/smoke/run-drill';
import { runSmoke, type SmokeReport } from '../cli/src/smoke/run-smoke';
import { DEFAULT_SMOKE_MEMBER, planSmoke } from '../cli/src/smoke/smoke-plan';
import { resolveSmokeTarget, SMOKE_TARGETS, type SmokeTargetKind } from '../cli/src/smoke/smoke-target';
import { quietSdkNodeWarning } from '../cli/src/sdk-node-warning';

const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
};

const program = new Command('smoke')
  .description('Smoke-test a mail-dispatch pipeline end to end: one good message, one to a wrong address, one duplicate')
  .addOption(new Option('--target <target>', 'where the pipeline runs').choices(SMOKE_TARGETS).makeOptionMandatory())
  .option('--stack <name>', 'stack name (localstack, aws); default: MAIL_DISPATCH_STACK or MailDispatch')
  .option('--region <region>', 'AWS region; default: AWS_REGION')
  .option('--endpoint <url>', 'LocalStack edge endpoint; default: LOCALSTACK_ENDPOINT or http://localhost:4566')
  .option('--member-id <id>', 'the smoke member', DEFAULT_SMOKE_MEMBER.memberId)
  .option(
    '--to <address>',
    "the smoke member's registered address (the SES mailbox simulator's success address reaches no one)",
    DEFAULT_SMOKE_MEMBER.email,
  )
  .option('--timeout <seconds>', 'how long to wait for each outcome (with --drill: for each link)', seconds, 120)
  .option(
    '--drill',
    'after the smoke test, the post-deploy drill: SES simulator bounce and complaint feedback, suppression, and the FanInSpike alarm action (local, aws)',
  )
  .option('--json', 'print the report as JSON')
  .exitOverride();

async function main(): Promise<number> {
  quietSdkNodeWarning();
  try {
    program.parse();
  } catch (error) {
    // Commander printed the message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    throw error;
  }
  const options = program.opts<{
    target: SmokeTargetKind;
    stack?: string;
    region?: string;
    endpoint?: string;
    memberId: string;
    to: string;
    timeout: number;
    drill?: boolean;
    json?: boolean;
  }>();
  if (options.drill && options.target === 'localstack')
    throw new UsageError('--drill runs on --target aws or --target local (LocalStack has no CloudWatch alarm actions to drive)');
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  let report: SmokeReport;
  let drill: DrillReport | undefined;
  const target = await resolveSmokeTarget({
    target: options.target,
    stack: options.stack,
    region: options.region,
    endpoint: options.endpoint,
  });
  try {
    report = await runSmoke(target, planSmoke({ memberId: options.memberId, email: options.to }), {
      timeoutMs: options.timeout * 1000,
      progress,
    });
    if (options.drill && report.passed) {
      const ops = await resolveTarget(
        options.target === 'local' ? { local: true, region: options.region } : { stack: target.name, region: options.region },
      );
      try {
        drill = await runDrill(target, ops, {
          runId: report.runId.replace(/^smoke-/, 'drill-'),
          deliveredDispatchId: report.dispatchIds.good,
          timeoutMs: options.timeout * 1000,
          progress,
        });
      } finally {
        ops.close();
      }
    }
  } finally {
    target.close();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(drill ? { ...report, drill } : report, null, 2)}\n`);
  else {
    const lines = report.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'}  ${c.name.padEnd(26)} ${c.detail}`);
    process.stdout.write(
      `${[`smoke ${report.runId} on ${report.target}`, ...lines, `${report.passed ? 'PASSED' : 'FAILED'} in ${(report.elapsedMs / 1000).toFixed(1)} s`].join('\n')}\n`,
    );
    if (drill) {
      const steps = drill.steps.map(
        (s) => `${s.ok ? 'PASS' : 'FAIL'}  ${s.name.padEnd(34)} ${`${(s.elapsedMs / 1000).toFixed(1)} s`.padStart(8)}  ${s.detail}`,
      );
      process.stdout.write(
        `${[`drill ${drill.runId} on ${drill.target}`, ...steps, `DRILL ${drill.passed ? 'PASSED' : 'FAILED'} in ${(drill.elapsedMs / 1000).toFixed(1)} s`].join('\n')}\n`,
      );
    }
  }
  return report.passed && (!options.drill || drill?.passed === true) ? ExitCode.Ok : ExitCode.Failed;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Our errors carry no addresses or message data; an SDK failure is explained by its kind, anything
    // else is reported by its name only.
    const failure = error instanceof MailDispatchError ? undefined : explainAwsFailure(error, { action: 'finish the smoke test' });
    const environment = failure !== undefined && isEnvironmentFailure(failure.kind);
    const text =
      error instanceof MailDispatchError
        ? error.message
        : environment
          ? failure.message
          : `${(error as Error)?.name ?? 'Error'} (unexpected)`;
    process.stderr.write(`smoke: ${text}\n`);
    process.exit(environment ? ExitCode.Environment : error instanceof MailDispatchError ? exitCodeOf(error) : ExitCode.Failed);
  },
);
