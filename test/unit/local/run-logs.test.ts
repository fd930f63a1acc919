import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEPT_RUN_LOGS, runLogFile } from '../../../local/run-logs';

describe('per-run log files (issue 19.13: they piled up in the temp folder)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'run-logs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps only the newest earlier logs of its kind, so with the new one there are at most KEPT_RUN_LOGS', () => {
    for (let i = 0; i < 9; i++) {
      const file = join(dir, `mail-dispatch-scenario-${1000 + i}.log`);
      writeFileSync(file, 'x');
      utimesSync(file, new Date(1_000_000 + i * 1000), new Date(1_000_000 + i * 1000));
    }
    writeFileSync(join(dir, 'mail-dispatch-demo-1.log'), 'other kind');
    writeFileSync(join(dir, 'unrelated.log'), 'not ours');
    const fresh = runLogFile('scenario', dir, 99_999);
    writeFileSync(fresh, 'new');
    const scenarioLogs = readdirSync(dir)
      .filter((n) => n.startsWith('mail-dispatch-scenario-'))
      .sort();
    expect(scenarioLogs).toHaveLength(KEPT_RUN_LOGS);
    // The newest four earlier ones survive, and the new one.
    expect(scenarioLogs).toEqual([
      'mail-dispatch-scenario-1005.log',
      'mail-dispatch-scenario-1006.log',
      'mail-dispatch-scenario-1007.log',
      'mail-dispatch-scenario-1008.log',
      'mail-dispatch-scenario-99999.log',
    ]);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['mail-dispatch-demo-1.log', 'unrelated.log']));
  });

  it('works in an empty folder', () => {
    expect(runLogFile('demo', dir, 5)).toBe(join(dir, 'mail-dispatch-demo-5.log'));
  });
});
