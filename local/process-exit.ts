/**
 * Cleanups that must run even when the process ends abruptly (an uncaught error, `process.exit`),
 * so no DynamoDB Local JVM outlives the run. Only synchronous work can run on `exit`.
 */
const cleanups = new Set<() => void>();
let installed = false;

export function onProcessExit(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', () => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // best effort: the process is ending
        }
      }
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
