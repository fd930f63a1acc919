import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How many earlier per-run log files of one kind are kept in the temp folder (the newest ones). */
export const KEPT_RUN_LOGS = 5;

/**
 * A fresh per-run log file path in the temp folder (`mail-dispatch-<kind>-<ms>.log`), after
 * removing all but the newest {@link KEPT_RUN_LOGS} earlier ones of that kind, so the demo and
 * the scenario runner do not pile up one file per run (issue 19.13). Only files this naming
 * pattern made are touched; one that cannot be removed is left alone.
 */
export function runLogFile(kind: 'demo' | 'scenario', dir = tmpdir(), now = Date.now()): string {
  const pattern = new RegExp(`^mail-dispatch-${kind}-\\d+\\.log$`);
  const earlier = readdirSync(dir)
    .filter((name) => pattern.test(name))
    .map((name) => {
      try {
        return { path: join(dir, name), at: statSync(join(dir, name)).mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((f): f is { path: string; at: number } => f !== undefined)
    .sort((a, b) => b.at - a.at);
  for (const old of earlier.slice(KEPT_RUN_LOGS - 1)) {
    try {
      unlinkSync(old.path);
    } catch {
      // Another run may have removed it, or it is not ours to remove: leave it.
    }
  }
  return join(dir, `mail-dispatch-${kind}-${now}.log`);
}
