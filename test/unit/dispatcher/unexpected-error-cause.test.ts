import { Logger } from '@aws-lambda-powertools/logger';
import { PowertoolsOutcomeReporter } from '../../../lambdas/adapters/powertools-outcome-reporter';
import { resolveConfig } from '../../../lambdas/core/config';
import { dispatchBatch, type BatchContext } from '../../../lambdas/dispatcher/dispatch-batch';
import type { ClaimRequest, ClaimResult, DispatchSnapshot, SnapshotKey } from '../../../lambdas/ports';
import { InMemoryDispatchLedger, InMemoryPauseSwitch, InMemoryRejectedSink, RecordingMailSender } from '../../../local/in-memory-ports';
import { sqsRecord } from '../../support/sqs-event';
import { testReportLinks } from '../../support/report-links';

/**
 * Finding (issue 19, item 3): `readBatchState` and `completeSafely` dropped the error behind
 * `retry unexpected-error`, while the runbook sends on-call to the logs. The outcome line must carry
 * the error's name, message and stack with the dispatchId, and never an address or message data,
 * even when the error's own message quotes them.
 */
const ADDRESS = 'zelda.q@example.org';
const SECRET_NAME = 'Quentin-Secretname';
const body = (dispatchId: string) =>
  JSON.stringify({ dispatchId, memberId: 'M1', to: ADDRESS, template: 'advice-nurse-reply', data: { firstName: SECRET_NAME } });

function capture(): { text: () => string; restore: () => void } {
  const lines: string[] = [];
  const originals = [process.stdout.write, process.stderr.write] as const;
  const grab = (chunk: unknown) => lines.push(String(chunk)) > 0;
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  return { text: () => lines.join('\n'), restore: () => ([process.stdout.write, process.stderr.write] = originals) };
}

function context(ledger: InMemoryDispatchLedger): BatchContext {
  ledger.members.set('M1', { memberId: 'M1', email: ADDRESS, status: 'active' });
  return {
    ledger,
    sender: new RecordingMailSender(),
    pauseSwitch: new InMemoryPauseSwitch(),
    rejectedSink: new InMemoryRejectedSink(),
    reporter: new PowertoolsOutcomeReporter({ logger: new Logger({ serviceName: 'mail-dispatch' }) }),
    config: resolveConfig({ fanInLimit: 3, handlerConcurrency: 1 }),
    hashKey: 'k',
    reportLinks: testReportLinks(),
    now: () => new Date('2000-08-02T09:00:00Z'),
  };
}

/** The outcome log lines, parsed. */
function outcomeLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.includes('"dispatch outcome"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the cause of unexpected-error', () => {
  const previous = process.env.POWERTOOLS_DEV;
  beforeAll(() => (process.env.POWERTOOLS_DEV = 'false'));
  afterAll(() => (process.env.POWERTOOLS_DEV = previous));

  it.each([
    [
      'reading the batch state (readBatchState)',
      class extends InMemoryDispatchLedger {
        async readSnapshots(_keys: readonly SnapshotKey[]): Promise<Map<string, DispatchSnapshot>> {
          throw new RangeError(`item for ${ADDRESS} has a malformed attribute (firstName=${SECRET_NAME})`);
        }
      },
      'RangeError',
    ],
    [
      'completing one message (completeSafely)',
      class extends InMemoryDispatchLedger {
        async claimAll(_requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
          throw new TypeError(`malformed attribute 'to' near "${ADDRESS.toUpperCase()}" ${SECRET_NAME}`);
        }
      },
      'TypeError',
    ],
  ])('is logged with the dispatchId when %s fails, without the address or data', async (_where, Ledger, errorName) => {
    const out = capture();
    try {
      await dispatchBatch([sqsRecord(body('d-unexpected'))], context(new Ledger()));
    } finally {
      out.restore();
    }
    const text = out.text();
    const [line] = outcomeLines(text);
    expect(line).toMatchObject({ dispatchId: 'd-unexpected', state: 'retry', reason: 'unexpected-error' });
    expect(line.error).toMatchObject({ name: errorName, message: expect.stringContaining('malformed attribute') });
    expect((line.error as { stack: string }).stack).toMatch(/\n\s+at /);
    expect(text.toLowerCase()).not.toContain(ADDRESS);
    expect(text).not.toContain(SECRET_NAME);
  });
});
