import type { PauseCause, PauseState, PauseSwitch } from '../ports';

/** How old the dispatcher's read of the pause flag may be (issue 12.8): a pause holds everywhere this long after it is set. */
export const PAUSE_READ_MAX_AGE_MS = 1000;

export interface CachedPauseSwitchOptions {
  /** How old a read may be when it is answered again. @default PAUSE_READ_MAX_AGE_MS */
  readonly maxAgeMs?: number;
  /** @default Date.now (real time: a cache age, not the pipeline's clock) */
  readonly clock?: () => number;
}

/**
 * The pause flag as the dispatcher reads it before each claim (issue 12.8): a read no older than
 * `maxAgeMs`, so a pause stops every invocation within about a second, while the flag item is
 * read at most once a second per execution environment instead of once per message (and never
 * joins the claim transaction, where it would be one hot item capping the deployment's rate).
 * The age counts from when the read was *sent*, so a slow answer is not taken for a fresh one.
 */
export class CachedPauseSwitch implements PauseSwitch {
  private cached?: { readonly state: PauseState; readonly sentAt: number };
  private reading?: Promise<PauseState>;
  private readonly maxAgeMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly inner: PauseSwitch,
    options: CachedPauseSwitchOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? PAUSE_READ_MAX_AGE_MS;
    this.clock = options.clock ?? Date.now;
  }

  async read(): Promise<PauseState> {
    if (this.cached && this.clock() - this.cached.sentAt < this.maxAgeMs) return this.cached.state;
    // Concurrent messages of one invocation share one read.
    this.reading ??= this.readThrough().finally(() => (this.reading = undefined));
    return this.reading;
  }

  async pause(cause: PauseCause): Promise<void> {
    await this.inner.pause(cause);
    // This environment knows at once; the others within maxAgeMs.
    this.cached = { state: { paused: true, cause }, sentAt: this.clock() };
  }

  resume(...args: Parameters<PauseSwitch['resume']>): ReturnType<PauseSwitch['resume']> {
    this.cached = undefined;
    return this.inner.resume(...args);
  }

  private async readThrough(): Promise<PauseState> {
    const sentAt = this.clock();
    const state = await this.inner.read();
    this.cached = { state, sentAt };
    return state;
  }
}
