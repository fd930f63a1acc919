import { CachedPauseSwitch } from '../../../lambdas/adapters/cached-pause-switch';
import type { PauseState } from '../../../lambdas/ports';
import { InMemoryPauseSwitch } from '../../../local/in-memory-ports';

/** The flag as DynamoDB holds it, counting reads, answering after `latencyMs` of the test's clock. */
class CountingFlag extends InMemoryPauseSwitch {
  reads = 0;
  constructor(private readonly onRead: () => void = () => undefined) {
    super();
  }
  async read(): Promise<PauseState> {
    this.reads++;
    const state = this.state;
    this.onRead();
    return state;
  }
}

describe('CachedPauseSwitch (12.8)', () => {
  it('answers from a read at most maxAgeMs old, then reads again', async () => {
    let now = 0;
    const flag = new CountingFlag();
    const cached = new CachedPauseSwitch(flag, { clock: () => now });
    await cached.read();
    now = 999;
    expect(await cached.read()).toEqual({ paused: false });
    expect(flag.reads).toBe(1);
    await flag.pause({ reason: 'alarm', by: 'breaker', at: 'x' });
    now = 1000;
    expect(await cached.read()).toMatchObject({ paused: true });
    expect(flag.reads).toBe(2);
  });

  it('counts a read’s age from when it was sent, so a slow answer is not fresh', async () => {
    let now = 0;
    const flag = new CountingFlag(() => (now += 800)); // the answer takes 800 ms
    const cached = new CachedPauseSwitch(flag, { clock: () => now });
    await cached.read();
    now += 250; // 1050 ms after the read was sent
    await cached.read();
    expect(flag.reads).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    const flag = new CountingFlag();
    const cached = new CachedPauseSwitch(flag);
    await Promise.all([cached.read(), cached.read(), cached.read()]);
    expect(flag.reads).toBe(1);
  });

  it('knows its own pause at once and forgets the cache on resume', async () => {
    const flag = new CountingFlag();
    const cached = new CachedPauseSwitch(flag);
    await cached.read();
    await cached.pause({ reason: 'fan-in-limit', by: 'dispatcher', at: 'x' });
    expect(await cached.read()).toMatchObject({ paused: true, cause: { reason: 'fan-in-limit' } });
    expect(flag.state.paused).toBe(true);
    await cached.resume('alice', new Date());
    expect(await cached.read()).toMatchObject({ paused: false });
    expect(flag.reads).toBe(2);
  });
});
