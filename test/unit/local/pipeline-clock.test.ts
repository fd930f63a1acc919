import { Worker } from 'node:worker_threads';
import { parseScenario } from '../../../local/scenario-file';
import { PipelineClock } from '../../../local/pipeline-clock';

describe('PipelineClock', () => {
  it('runs on from the instant it is set, and moves forward by advance', () => {
    const clock = PipelineClock.create();
    expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(50);
    clock.set(new Date('2000-08-02T23:59:50Z'));
    expect(Math.abs(clock.now().getTime() - Date.parse('2000-08-02T23:59:50Z'))).toBeLessThan(50);
    clock.advance(30);
    expect(Math.abs(clock.now().getTime() - Date.parse('2000-08-03T00:00:20Z'))).toBeLessThan(50);
  });

  it('is the same clock in another thread (what the dispatcher’s execution environments read)', async () => {
    const clock = PipelineClock.create();
    clock.set(new Date('2000-08-02T09:00:00Z'));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const offset = new BigInt64Array(workerData);
       parentPort.on('message', () => parentPort.postMessage(Date.now() + Number(Atomics.load(offset, 0))));`,
      { eval: true, workerData: clock.buffer },
    );
    const ask = () => new Promise<number>((resolve) => (worker.once('message', resolve), worker.postMessage('now')));
    try {
      // Real time runs on while the worker starts (seconds on a busy machine): compare loosely.
      const first = await ask();
      expect(Math.abs(first - Date.parse('2000-08-02T09:00:00Z'))).toBeLessThan(10_000);
      clock.advance(86_400);
      const second = await ask();
      expect(second - first).toBeGreaterThanOrEqual(86_400_000);
      expect(second - first).toBeLessThan(86_400_000 + 10_000);
    } finally {
      await worker.terminate();
    }
  });
});

describe('the clock step of a scenario', () => {
  const withStep = (clock: unknown) => ({ name: 'c', steps: [{ clock }] });
  it('accepts set (ISO-8601) and advanceSeconds, as scenarios/README.md writes them', () => {
    expect(parseScenario(withStep({ set: '2000-08-02T23:59:50Z' })).steps).toEqual([{ clock: { set: '2000-08-02T23:59:50Z' } }]);
    expect(parseScenario(withStep({ advanceSeconds: 30 })).steps).toEqual([{ clock: { advanceSeconds: 30 } }]);
  });

  it.each([[{ set: 'yesterday' }], [{ advanceSeconds: -5 }], [{ set: '2000-08-02T23:59:50Z', advanceSeconds: 1 }], [{}]])(
    'refuses %j with a clear error',
    (clock) => {
      expect(() => parseScenario(withStep(clock))).toThrow(/not a valid scenario: steps\.0/);
    },
  );
});
