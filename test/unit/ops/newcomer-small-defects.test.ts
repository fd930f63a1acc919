import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderResume, renderStatus } from '../../../cli/src/ops/render';
import type { StatusReport } from '../../../cli/src/ops/status';
import { quietSdkNodeWarning, SDK_NODE_WARNING_ENV } from '../../../cli/src/sdk-node-warning';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

/** Issue 19.13, the small ones. */
describe('19.13', () => {
  const status = (kind: 'local' | 'stack', name: string): StatusReport =>
    ({
      target: { kind, name },
      at: '2026-01-01T00:00:00.000Z',
      queue: { name: 'q', visible: 0, inFlight: 0, delayed: 0 },
      deadLetterQueue: { name: 'dlq', visible: 0, inFlight: 0, delayed: 0 },
      mapping: { enabled: true },
      pause: { paused: false },
      alarms: null,
      lastHour: { since: '2025-12-31T23:00:00.000Z', total: 0, byState: {} },
    }) as unknown as StatusReport;

  it('the status header names the local target once ("local", not "local local")', () => {
    expect(renderStatus(status('local', 'local')).split('\n')[0]).toBe('mail-dispatch status: local at 2026-01-01T00:00:00.000Z');
    expect(renderStatus(status('stack', 'Prod')).split('\n')[0]).toBe('mail-dispatch status: stack Prod at 2026-01-01T00:00:00.000Z');
  });

  it('resume says "paused by" once', () => {
    const text = renderResume({
      previousCause: { by: 'operator:root', reason: 'drill', at: '2026-01-01T00:00:00.000Z' },
      explanation: 'paused by root: drill',
      overridden: [],
      resumedBy: 'operator:root',
      outcome: 'resumed',
      mapping: 'enabled',
    });
    expect(text).toContain('It was paused by root: drill (at 2026-01-01T00:00:00.000Z).');
    expect(text.match(/paused by/g)).toHaveLength(1);
  });

  it('the SDK Node-version warning becomes one line, and nothing when the user chose', () => {
    const lines: string[] = [];
    const env: NodeJS.ProcessEnv = {};
    quietSdkNodeWarning(env, (line) => lines.push(line));
    quietSdkNodeWarning(env, (line) => lines.push(line));
    expect(env[SDK_NODE_WARNING_ENV]).toBe('true');
    expect(lines.length).toBe(Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0);
    const chose: string[] = [];
    quietSdkNodeWarning({ [SDK_NODE_WARNING_ENV]: 'false' }, (line) => chose.push(line));
    expect(chose).toEqual([]);
  });

  it("a command prints at most one line about the Node version, not the SDK's eight; --version works", async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };
    const failed = await run(process.execPath, [join(ROOT, 'bin', 'mail-dispatch-ops.cjs'), '--stack', 'X', 'status'], { env }).catch(
      (error: { stderr: string }) => error,
    );
    expect(failed.stderr).not.toMatch(/NodeVersionSupportWarning/);
    expect(failed.stderr.split('\n').filter((line) => /node/i.test(line)).length).toBeLessThanOrEqual(1);
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'mail-dispatch-ops.cjs'), '--version'], { env });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
