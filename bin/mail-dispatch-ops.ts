/**
 * The ops CLI (`mail-dispatch`, `npm run ops -- …`): parses arguments, calls cli/src/ops, prints.
 * Results go to stdout (tables, or JSON with --json); progress and errors go to stderr.
 * Exit codes (cli/src/ops/errors.ts, the same in smoke): 0 ok, 1 refused or failed, 2 usage, 3 the target
 * cannot be reached or read (region, credentials, stack, local variables).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { CommanderError, Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { auditDispatchIds, auditDispatches, type AuditSelector } from '../cli/src/ops/audit';
import { explainAwsFailure, isEnvironmentFailure } from '../cli/src/ops/aws-failure';
import { ExitCode, TargetUnavailableError, UsageError, exitCodeOf } from '../cli/src/ops/errors';
import { parseIsoInstant } from '../cli/src/ops/iso-instant';
import { listInDoubt, releaseInDoubt } from '../cli/src/ops/in-doubt';
import { clearReport, getMemberView, importMembers, parseMembersCsv, putMember, unsuppressMember } from '../cli/src/ops/members';
import { pausePipeline } from '../cli/src/ops/pause';
import { redriveDeadLetters } from '../cli/src/ops/redrive';
import { reindexMembers } from '../cli/src/ops/reindex';
import * as render from '../cli/src/ops/render';
import { resumePipeline } from '../cli/src/ops/resume';
import { readStatus } from '../cli/src/ops/status';
import { resolveTarget, type OpsTarget, type TargetOptions } from '../cli/src/ops/target';
import { quietSdkNodeWarning } from '../cli/src/sdk-node-warning';
import { version as PACKAGE_VERSION } from '../package.json';

interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
  readonly operator?: string;
}

const print = (text: string) => process.stdout.write(`${text}\n`);

function output<T>(program: Command, result: T, human: (result: T) => string): void {
  print((program.opts() as GlobalOptions).json ? JSON.stringify(result, null, 2) : human(result));
}

/** Runs one command against the resolved target and closes its clients. */
async function withTarget<T>(program: Command, run: (target: OpsTarget, options: GlobalOptions) => Promise<T>): Promise<T> {
  const options = program.opts() as GlobalOptions;
  const target = await resolveTarget(options);
  try {
    return await run(target, options);
  } finally {
    target.close();
  }
}

function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  // Not a terminal (a log, CI): one progress line every few seconds instead of nothing.
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total}`,
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 3000,
  });
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, 0);
      started = true;
      bar.setTotal(total);
      bar.update(done);
    },
    stop: () => started && bar.stop(),
  };
}

const operatorOf = (options: GlobalOptions) => options.operator ?? process.env.MAIL_DISPATCH_OPERATOR ?? userInfo().username;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** An option's time, read the same on every machine (see parseIsoInstant), or a usage error naming the option. */
function instantOption(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = parseIsoInstant(value);
  if (!parsed.ok) throw new UsageError(`${flag} ${value} ${parsed.why}`);
  return parsed.date;
}

let exitCode: number = ExitCode.Ok;

/** The worst outcome wins: a usage error over a refusal over success. */
function setExit(code: number): void {
  exitCode = Math.max(exitCode, code);
  process.exitCode = exitCode;
}

export function buildProgram(): Command {
  const program = new Command('mail-dispatch')
    .description('Operate the mail-dispatch pipeline: status, pause/resume, DLQ redrive, audit, member registry')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version')
    .addOption(new Option('--stack <name>', 'a deployed stack (outputs via CloudFormation)').env('MAIL_DISPATCH_STACK'))
    .option('--local', 'the local pipeline (`npm run local`), from the variables it prints')
    .option('--region <region>', 'AWS region of the stack')
    .option('--json', 'print the result as JSON')
    .option('--operator <name>', 'who acts (recorded on pause/resume) [default: $MAIL_DISPATCH_OPERATOR or the OS user]')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('status')
    .description('queue and DLQ depth, oldest message age, event source, pause flag, alarms, last hour by state')
    .action(async () => {
      const report = await withTarget(program, (target) => readStatus(target));
      output(program, report, render.renderStatus);
    });

  program
    .command('pause')
    .description('pause the pipeline: set the pause flag and disable the event source (messages wait in the queue)')
    .requiredOption('--reason <text>', 'why (recorded on the pause flag; no addresses or member data)')
    .action(async (opts: { reason: string }) => {
      const result = await withTarget(program, (target, options) =>
        pausePipeline(target, { reason: opts.reason, operator: operatorOf(options), now: new Date() }),
      );
      output(program, result, render.renderPause);
    });

  program
    .command('resume')
    .description('clear the pause flag and re-enable the event source; refuses while FanInSpike is in ALARM or the cause is not understood')
    .option('--force', 'resume despite the refusals (each is reported)')
    .action(async (opts: { force?: boolean }) => {
      const result = await withTarget(program, (target, options) =>
        resumePipeline(target, { operator: operatorOf(options), force: opts.force, now: new Date() }),
      );
      output(program, result, render.renderResume);
      if (result.outcome === 'new-pause') setExit(ExitCode.Failed);
    });

  program
    .command('redrive')
    .description('move DLQ messages back to the dispatch queue (rejected bodies stay unless --include-rejected)')
    .option('--dry-run', 'count what would move; move nothing')
    .option('--limit <n>', 'move at most n messages', positiveInt)
    .option('--include-rejected', 'also move rejected bodies (after their reason was fixed)')
    .option(
      '--wait-for-hidden <seconds>',
      'how long to wait for DLQ messages a DLQ sweep hides before giving up on them (default 150)',
      positiveInt,
    )
    .action(async (opts: { dryRun?: boolean; limit?: number; includeRejected?: boolean; waitForHidden?: number }) => {
      const bar = progressBar('redrive');
      try {
        const result = await withTarget(program, (target) =>
          redriveDeadLetters(target, {
            ...opts,
            waitForHiddenSeconds: opts.waitForHidden,
            onProgress: (done, total) => bar.update(done, total),
          }),
        );
        bar.stop();
        output(program, result, render.renderRedrive);
        if (result.failed > 0 || result.notDeleted.length > 0 || result.leftHidden > 0) setExit(ExitCode.Failed);
      } finally {
        bar.stop();
      }
    });

  program
    .command('audit')
    .description(
      'every dispatch for an address, a member or a time range: state, member, address hash, SES message id, time; or, by dispatchId, each record with its history and its fate',
    )
    .option(
      '--dispatch <dispatchId...>',
      'these dispatches: record, history (one line per version) and delivery fate; with --since, rejected bodies that carried them too',
    )
    .option('--address <address>', 'the address to look for (hashed with the pipeline key; never stored)')
    .option('--address-hash <hash>', 'the keyed address hash (as the pause flag, `status` and the logs show it)')
    .option('--member <memberId>', 'the member to look for')
    .option('--since <time>', 'from this time: ISO 8601, a date (00:00 UTC) or a date-time with Z or an offset')
    .option('--until <time>', 'up to this time, the same forms [default: now]')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--reveal', 'show addresses in clear: the one typed, or the member’s registered one whose hash matches')
    .option('--out <file>', 'write the result to this file (created owner-only) instead of stdout')
    .action(
      async (opts: {
        dispatch?: string[];
        address?: string;
        addressHash?: string;
        member?: string;
        since?: string;
        until?: string;
        format: 'table' | 'csv' | 'json';
        reveal?: boolean;
        out?: string;
      }) => {
        // With --out the result goes to the file, written only once complete: what `npm run` prints stays out of it.
        const emit = async (text: string): Promise<void> => {
          if (!opts.out) {
            print(text);
            return;
          }
          await writeOwnerOnly(opts.out, `${text}\n`);
          process.stderr.write(`written to ${opts.out}\n`);
        };
        const since = instantOption('--since', opts.since);
        const until = instantOption('--until', opts.until);
        if (opts.dispatch) {
          if (opts.address || opts.addressHash || opts.member)
            throw new UsageError('Give --dispatch alone, or one of --address, --address-hash, --member');
          if (opts.format === 'csv') throw new UsageError('--dispatch prints a record with its history: use the table or --format json');
          const dispatchIds = opts.dispatch;
          const report = await withTarget(program, (target) =>
            auditDispatchIds(target, { dispatchIds, since, until, reveal: opts.reveal, now: new Date() }),
          );
          const json = (program.opts() as GlobalOptions).json || opts.format === 'json';
          await emit(json ? JSON.stringify(report, null, 2) : render.renderDispatchAudit(report, opts.reveal ?? false));
          // As grep: found nothing for some of them is exit 1, so a script notices.
          if (report.summary.notFound.length > 0) setExit(ExitCode.Failed);
          return;
        }
        if ([opts.address, opts.addressHash, opts.member].filter(Boolean).length > 1)
          throw new UsageError('Give one of --address, --address-hash, --member');
        const selector: AuditSelector = opts.address
          ? { by: 'address', address: opts.address }
          : opts.addressHash
            ? { by: 'address-hash', addressHash: opts.addressHash }
            : opts.member
              ? { by: 'member', memberId: opts.member }
              : { by: 'time' };
        const report = await withTarget(program, (target) =>
          auditDispatches(target, { selector, since, until, reveal: opts.reveal, now: new Date() }),
        );
        // The CSV on stdout stays only the CSV; the window it covers goes beside it, on stderr.
        if (opts.format === 'csv') process.stderr.write(`${render.renderAuditWindow(report)}\n`);
        const json = (program.opts() as GlobalOptions).json || opts.format === 'json';
        await emit(
          json
            ? JSON.stringify(report, null, 2)
            : render.renderAudit(report, opts.format === 'csv' ? 'csv' : 'table', opts.reveal ?? false),
        );
      },
    );

  const inDoubt = program
    .command('in-doubt')
    .description('dispatches whose send may or may not have happened: list them, release those confirmed never sent');
  inDoubt
    .command('list')
    .description('in-doubt dispatches: age, member, address hash, whether an SES event arrived')
    .option(
      '--since <time>',
      'claimed from this time: ISO 8601, a date (00:00 UTC) or a date-time with Z or an offset [default: 30 days ago]',
    )
    .option('--until <time>', 'claimed up to this time (as --since) [default: now]')
    .option('--include-reconciled', 'also list records that were in doubt and an SES event reconciled to sent')
    .action(async (opts: { since?: string; until?: string; includeReconciled?: boolean }) => {
      const range = { since: instantOption('--since', opts.since), until: instantOption('--until', opts.until) };
      const list = await withTarget(program, (target) =>
        listInDoubt(target, { ...range, includeReconciled: opts.includeReconciled, now: new Date() }),
      );
      output(program, list, render.renderInDoubtList);
    });
  inDoubt
    .command('release')
    .description(
      'make in-doubt dispatchIds sendable again, once SES and the mailbox show they never went out (a release of a sent e-mail sends it twice)',
    )
    .argument('<dispatchId...>')
    .requiredOption('--reason <ticket>', 'the ticket that records the check (recorded on each record; no addresses or member data)')
    .action(async (dispatchIds: string[], opts: { reason: string }) => {
      const result = await withTarget(program, (target, options) =>
        releaseInDoubt(target, { dispatchIds, reason: opts.reason, operator: operatorOf(options), now: new Date() }),
      );
      output(program, result, render.renderRelease);
      if (result.refused.length > 0) setExit(ExitCode.Failed);
    });

  const members = program
    .command('members')
    .description('the member registry, through its guard (shared and over-limit addresses are refused)');
  members
    .command('put')
    .description('create or update one member')
    .requiredOption('--member-id <id>', 'memberId')
    .requiredOption('--email <address>', "the member's own address")
    .addOption(new Option('--status <status>', 'status').choices(['active', 'suspended', 'closed']).default('active'))
    .option('--proxy <address...>', 'an address the member authorised (guardian, caregiver); repeatable')
    .option('--proxy-for <memberId...>', 'wards this member consents to be the proxy of, at its own address (12.3); repeatable')
    .addOption(new Option('--suppressed <flag>', 'suppression (default: keep what is stored)').choices(['true', 'false']))
    .option('--allow-shared', "allow an address that is another member's own e-mail (never past the fan-in limit)")
    .action(
      async (opts: {
        memberId: string;
        email: string;
        status: string;
        proxy?: string[];
        proxyFor?: string[];
        suppressed?: string;
        allowShared?: boolean;
      }) => {
        const row = {
          memberId: opts.memberId,
          email: opts.email,
          status: opts.status,
          proxies: opts.proxy ?? [],
          proxyFor: opts.proxyFor ?? [],
          suppressed: opts.suppressed === undefined ? undefined : opts.suppressed === 'true',
        };
        const result = await withTarget(program, (target) => putMember(target, row, { allowShared: opts.allowShared }));
        const json = result.outcome === 'failed' ? { ...result, error: result.error.message } : result;
        output(program, json, () => render.renderMemberResult(result));
        if (result.outcome !== 'registered') setExit(ExitCode.Failed);
      },
    );
  members
    .command('get')
    .description('one member: status, addresses (hashed unless --reveal) and how many members use each')
    .argument('<memberId>')
    .option('--reveal', 'show the addresses in clear')
    .action(async (memberId: string, opts: { reveal?: boolean }) => {
      const view = await withTarget(program, (target) => getMemberView(target, memberId, opts));
      if (!view) {
        process.stderr.write(`No member ${memberId}.\n`);
        if ((program.opts() as GlobalOptions).json) print('null');
        setExit(ExitCode.Failed);
        return;
      }
      output(program, view, render.renderMember);
    });
  members
    .command('unsuppress')
    .description('lift suppressions of a member (per address hash, as `members get` shows them), once the address works again')
    .argument('<memberId>')
    .option('--address-hash <hash...>', 'an address hash whose suppression to lift; repeatable')
    .option('--all', 'lift every address suppression and the member-wide flag')
    .action(async (memberId: string, opts: { addressHash?: string[]; all?: boolean }) => {
      if (Boolean(opts.all) === Boolean(opts.addressHash?.length)) throw new UsageError('Give either --address-hash HASH… or --all');
      const result = await withTarget(program, (target) =>
        unsuppressMember(target, memberId, { addressHashes: opts.addressHash, all: opts.all }),
      );
      if (!result) {
        process.stderr.write(`No member ${memberId}.\n`);
        if ((program.opts() as GlobalOptions).json) print('null');
        setExit(ExitCode.Failed);
        return;
      }
      output(program, result, render.renderUnsuppress);
    });
  members
    .command('clear-report')
    .description(
      'lift the "not for me" block of a member\'s address once the address was checked with the member (kept on the member with the ticket)',
    )
    .argument('<memberId>')
    .requiredOption('--reason <ticket>', 'the ticket that records the check (no addresses or member data)')
    .option('--address-hash <hash>', 'only this address (as `members get` shows it) [default: every reported address of the member]')
    .action(async (memberId: string, opts: { reason: string; addressHash?: string }) => {
      const result = await withTarget(program, (target, options) =>
        clearReport(target, memberId, {
          ticket: opts.reason,
          operator: operatorOf(options),
          addressHash: opts.addressHash,
          now: new Date(),
        }),
      );
      output(program, result, render.renderClearReport);
    });
  members
    .command('reindex')
    .description(
      'place every member on the registry index through the registry watch (upgrade step: members written before it); ' +
        'idempotent; pauses the pipeline if a mailbox holds more than the fan-in limit (reported by hash only)',
    )
    .option('--start-after <memberId>', 'resume after this member (the lastMemberId an interrupted run printed)')
    .option('--page-size <n>', 'members per Scan page', positiveInt, 100)
    .action(async (opts: { startAfter?: string; pageSize: number }) => {
      const report = await withTarget(program, (target) =>
        reindexMembers(target, {
          startAfter: opts.startAfter,
          pageSize: opts.pageSize,
          onPage: (placed, last) => process.stderr.write(`reindex: ${placed} members placed (last ${last ?? '-'})\n`),
        }),
      );
      output(program, report, (r) =>
        [
          `Placed ${r.placed} members on the registry index${r.lastMemberId ? ` (last ${r.lastMemberId})` : ''}.`,
          r.overLimitMailboxHashes.length === 0
            ? 'No mailbox holds more members than the fan-in limit.'
            : `Mailboxes past the fan-in limit (hash): ${r.overLimitMailboxHashes.join(', ')}`,
          r.paused ? 'The pipeline is paused: fix the registry, then `mail-dispatch resume`.' : 'The pipeline is not paused.',
        ].join('\n'),
      );
      if (report.overLimitMailboxHashes.length > 0) setExit(ExitCode.Failed);
    });
  members
    .command('import')
    .description('register every row of a CSV (memberId,email,status[,proxies][,suppressed]); refused rows are reported, the rest imported')
    .argument('<csv>', 'file path, or - for standard input')
    .option('--allow-shared', "allow addresses that are another member's own e-mail (never past the fan-in limit)")
    .action(async (file: string, opts: { allowShared?: boolean }) => {
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`Cannot read ${file} (${(error as { code?: string }).code ?? 'error'})`, { cause: error });
      }
      const csv = parseMembersCsv(text);
      const bar = progressBar('import');
      try {
        const report = await withTarget(program, (target) =>
          importMembers(target, csv, { allowShared: opts.allowShared, onRow: (done, total) => bar.update(done, total) }),
        );
        bar.stop();
        output(program, report, render.renderImport);
        if (report.refused.length + report.failed.length > 0) setExit(ExitCode.Failed);
      } finally {
        bar.stop();
      }
    });
  return program;
}

/** An audit may hold addresses (`--reveal`): the file is readable by its owner only, even if it existed. */
async function writeOwnerOnly(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
  } catch (error) {
    throw new UsageError(`Cannot write ${path} (${(error as { code?: string }).code ?? 'error'})`, { cause: error });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the CLI; resolves to the exit code (also set on `process.exitCode`). */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  quietSdkNodeWarning();
  exitCode = ExitCode.Ok;
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (and the help) already.
      setExit(error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage);
    } else {
      // An SDK failure of the environment (region, credentials, access, network) anywhere in the command
      // is said as its cause and fix; our own errors already say theirs (adding the cause's name repeated it).
      const options = program.opts() as GlobalOptions;
      const failure = explainAwsFailure(error, { action: 'finish the command', stack: options.stack, region: options.region });
      if (!(error instanceof TargetUnavailableError) && isEnvironmentFailure(failure.kind)) {
        process.stderr.write(`error: ${failure.message}\n`);
        setExit(ExitCode.Environment);
      } else {
        const message = (error as Error).message ?? String(error);
        const cause = (error as { cause?: { name?: string } }).cause?.name;
        process.stderr.write(
          `error: ${message}${cause && !message.includes(cause) && !(error instanceof TargetUnavailableError) ? ` (${cause})` : ''}\n`,
        );
        setExit(exitCodeOf(error));
      }
    }
  }
  return exitCode;
}

if (require.main === module) void main();
