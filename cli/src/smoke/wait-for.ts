/**
 * Polls `probe` until `done` holds or `timeoutMs` passes; returns the last value and whether it
 * held. A probe that throws is tried again until the deadline (an emulator still starting).
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { readonly timeoutMs: number; readonly intervalMs?: number },
): Promise<{ readonly value: T | undefined; readonly met: boolean }> {
  const deadline = Date.now() + options.timeoutMs;
  let value: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      value = await probe();
      lastError = undefined;
      if (done(value)) return { value, met: true };
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      if (lastError !== undefined && value === undefined) throw lastError;
      return { value, met: false };
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}
