/**
 * `npm run demo`: replays the 2 Aug 2000 incident (test/scenarios/kaiser-2000-replay.json) through
 * the real dispatcher on the embedded local AWS, with a progress bar, then prints one table per
 * phase and the time it took. Exits non-zero if any promise of the design did not hold.
 */
import { createWriteStream } from 'node:fs';
import { runLogFile } from './run-logs';
import { SingleBar, Presets } from 'cli-progress';
import Table from 'cli-table3';
import { DEMO_SCENARIO } from './demo-scenario';
import { summariseReplay, type PhaseSummary } from './replay-summary';
import { readScenarioFile } from './scenario-file';
import { runScenario } from './scenario-runner';
import { tableStyle } from './table-style';
import { quietSdkNodeWarning } from '../cli/src/sdk-node-warning';

function phaseTable(phase: PhaseSummary): string {
  const table = new Table({ head: [phase.title, ''], colWidths: [58, 24], wordWrap: true, ...tableStyle(process.stdout) });
  table.push(
    ['expected', phase.expectation],
    ['messages published', phase.published],
    ['addressed to (distinct addresses)', phase.addressedTo],
    ...Object.entries(phase.counts).map(([state, n]) => [`outcome: ${state}`, n]),
    ['e-mails SES accepted in this phase', phase.delivered],
    ["  to the member's own address", phase.deliveredToOwnAddress],
    ['  to any other address', phase.deliveredElsewhere],
    ['time', `${(phase.durationMs / 1000).toFixed(1)} s`],
    ['verdict', phase.problems.length === 0 ? 'OK' : `FAILED: ${phase.problems.join('; ')}`],
  );
  return table.toString();
}

async function main(): Promise<void> {
  quietSdkNodeWarning();
  const scenario = readScenarioFile(DEMO_SCENARIO);
  const total = scenario.steps.reduce(
    (n, step) => n + ('publish' in step ? step.publish.length : 'publishRaw' in step ? step.publishRaw.length : 0),
    0,
  );
  const logFile = runLogFile('demo');
  const logs = createWriteStream(logFile);
  process.stderr.write(
    `Replaying the 2 Aug 2000 incident: ${total} portal messages through the real dispatcher on the embedded local AWS\n`,
  );
  process.stderr.write(`(function logs: ${logFile})\n`);
  const bar = new SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} messages settled | step {step}: {kind} | {duration}s',
      hideCursor: true,
      stream: process.stderr,
      noTTYOutput: false,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0, { step: '-', kind: 'starting the emulators' });
  let run: Awaited<ReturnType<typeof runScenario>>;
  try {
    run = await runScenario(scenario, {
      // The replay retries nothing: a long visibility (= function) timeout keeps a batch slowed by a
      // busy machine from timing out, which would leave its claims in doubt.
      visibilityTimeoutSeconds: 60,
      onLog: (line, source) => logs.write(`${source} ${line}\n`),
      onProgress: (progress) =>
        bar.update(Math.min(total, progress.settled), { step: `${progress.step}/${progress.steps}`, kind: progress.kind }),
    });
  } finally {
    bar.stop();
    await new Promise((resolve) => logs.end(resolve));
  }
  const summary = summariseReplay(scenario, run);
  const out = (text = '') => process.stdout.write(`${text}\n`);
  out();
  for (const phase of summary.phases) out(phaseTable(phase));
  const seconds = run.report.elapsedMs / 1000;
  const totals = new Table({ head: ['run', ''], ...tableStyle(process.stdout) });
  totals.push(
    ['messages', run.report.published],
    ['e-mails delivered (SES emulator store)', run.report.deliveries.length],
    ['emulators started in', `${(run.startupMs / 1000).toFixed(1)} s`],
    ['scenario time', `${seconds.toFixed(1)} s`],
    ['throughput', `${(run.report.published / seconds).toFixed(0)} messages/s`],
    ['wall time (start to stop)', `${(run.wallMs / 1000).toFixed(1)} s`],
  );
  out(totals.toString());
  if (summary.problems.length > 0) {
    out(`\nFAILED:\n${summary.problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exitCode = 1;
    return;
  }
  out("\nEvery promise held: no message reached an address that is not its member's, and nothing was sent twice.");
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
