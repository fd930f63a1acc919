/**
 * The pipeline's clock, as the scenario runner's `clock` step drives it: an offset from the
 * machine's clock, in a SharedArrayBuffer so that every execution environment (worker thread)
 * reads the same now the runner set, at once. From the instant it is set it runs on with real
 * time. What takes it as now: the dispatcher (decisions, fan-in span, claim leases, ledger
 * timestamps), the registry, the breaker, the feedback handler and the ops steps of a scenario.
 * SQS's own timers (visibility, delays) are the emulator's and do not move.
 */
export class PipelineClock {
  /** Offset from the machine's clock in whole milliseconds; Atomics so no thread reads a torn value. */
  private readonly offset: BigInt64Array;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.offset = new BigInt64Array(buffer);
  }

  /** A clock that reads the machine's time until it is set. */
  static create(): PipelineClock {
    return new PipelineClock(new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT));
  }

  /** The same clock in another thread (from `buffer`). */
  static attach(buffer: SharedArrayBuffer): PipelineClock {
    return new PipelineClock(buffer);
  }

  /** Now, on the pipeline's clock (bound: pass it around as `now`). */
  readonly now = (): Date => new Date(Date.now() + this.offsetMs());

  /** Puts the clock at `instant`, from where it runs on. */
  set(instant: Date): void {
    Atomics.store(this.offset, 0, BigInt(Math.round(instant.getTime() - Date.now())));
  }

  /** Moves the clock forward (or back, for a negative value) by `seconds`. */
  advance(seconds: number): void {
    Atomics.add(this.offset, 0, BigInt(Math.round(seconds * 1000)));
  }

  offsetMs(): number {
    return Number(Atomics.load(this.offset, 0));
  }
}
