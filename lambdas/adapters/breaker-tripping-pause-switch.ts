import type { BreakerTrigger, PauseCause, PauseState, PauseSwitch } from '../ports';

/**
 * A pause switch that, after setting the flag, also trips the breaker. The flag alone stops
 * claims; the breaker stops the event source, so waiting messages stop using up their receives.
 * A failed trip is not the caller's failure: the flag is set and the alarm path still follows.
 */
export class BreakerTrippingPauseSwitch implements PauseSwitch {
  constructor(
    private readonly inner: PauseSwitch,
    private readonly breaker: BreakerTrigger,
    private readonly onTripError: (error: unknown) => void = () => undefined,
  ) {}

  read(): Promise<PauseState> {
    return this.inner.read();
  }

  async pause(cause: PauseCause): Promise<void> {
    await this.inner.pause(cause);
    try {
      await this.breaker.trip(cause);
    } catch (error) {
      this.onTripError(error);
    }
  }

  resume(by: string, at: Date, expected?: { readonly version?: number }): Promise<'cleared' | 'changed'> {
    return this.inner.resume(by, at, expected);
  }
}
