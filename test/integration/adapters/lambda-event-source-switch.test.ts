import type { SNSEvent } from 'aws-lambda';
import { LambdaEventSourceSwitch } from '../../../lambdas/adapters/lambda-event-source-switch';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import type { PauseSwitch } from '../../../lambdas/ports';
import { FaultPlan } from '../../../local/faults';
import { LOCAL_MAPPING_UUID, localMappingClient, type LocalMappingTarget } from '../../../local/local-event-source-mapping';

/**
 * Issue 20.3: `UpdateEventSourceMapping` during a transition answers `ResourceInUseException`.
 * The adapter runs against the local mapping (the Lambda API answered in-process, deserialised by
 * the real SDK), whose `lambda mapping-in-use` fault gives that answer.
 */
class Pollers implements LocalMappingTarget {
  enabled = true;
  busy = { receiving: 0, processing: 0 };
  updates = 0;
  enable() {
    this.updates++;
    this.enabled = true;
  }
  disable() {
    this.updates++;
    this.enabled = false;
  }
}

function setup() {
  const pollers = new Pollers();
  const faults = FaultPlan.create();
  const calls: string[] = [];
  const client = localMappingClient(pollers, faults);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize' },
  );
  const mapping = new LambdaEventSourceSwitch({ mappingId: LOCAL_MAPPING_UUID, client, backoffMs: 5 });
  return { pollers, faults, calls, mapping };
}

describe('LambdaEventSourceSwitch against a mapping in transition', () => {
  it('disables a mapping whose update first answers ResourceInUseException', async () => {
    const { pollers, faults, calls, mapping } = setup();
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 2 });
    await expect(mapping.disable()).resolves.toBeUndefined();
    expect(pollers.enabled).toBe(false);
    expect(calls.filter((c) => c === 'UpdateEventSourceMappingCommand')).toHaveLength(3);
  });

  it('treats a mapping already Disabling (its own disable in progress) as paused, without an update', async () => {
    const { pollers, faults, calls, mapping } = setup();
    pollers.enabled = false;
    pollers.busy = { receiving: 0, processing: 1 };
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 100 });
    await expect(mapping.disable()).resolves.toBeUndefined();
    await expect(mapping.isEnabled()).resolves.toBe(false);
    expect(calls).not.toContain('UpdateEventSourceMappingCommand');
  });

  it('enables a mapping in use the same way, and does nothing to one already enabled', async () => {
    const { pollers, faults, mapping } = setup();
    await mapping.enable();
    expect(pollers.updates).toBe(0);
    pollers.enabled = false;
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 1 });
    await mapping.enable();
    expect(pollers.enabled).toBe(true);
  });

  it('gives up with the in-use answer as the cause when the transition never ends', async () => {
    const { faults, mapping } = setup();
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 100 });
    await expect(mapping.disable()).rejects.toMatchObject({ message: expect.stringContaining('ResourceInUseException') });
  });

  it('with patienceMs, waits out a transition longer than its usual tries (resume disabling again, issue 13 finding)', async () => {
    const { pollers, faults, calls, mapping } = setup();
    // 12 in-use answers: more than the 7 usual tries. The back-off doubles from 5 ms up to its 2 s cap
    // with jitter (0.5-1x), so 12 waits take 4.3-8.5 s: a 15 s patience holds them all (5 s did not, by luck).
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 12 });
    await expect(mapping.disable({ patienceMs: 15_000 })).resolves.toBeUndefined();
    expect(pollers.enabled).toBe(false);
    expect(calls.filter((c) => c === 'UpdateEventSourceMappingCommand')).toHaveLength(13);
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 1_000 });
    await expect(mapping.enable({ patienceMs: 200 })).rejects.toMatchObject({ message: expect.stringContaining('ResourceInUseException') });
  });
});

describe('breaker meeting its own disable in progress', () => {
  it('the dispatcher’s trip and the alarm’s notification both end paused, neither throws', async () => {
    const { pollers, faults, mapping } = setup();
    faults.arm({ target: 'lambda', kind: 'mapping-in-use', times: 1 });
    const paused: PauseSwitch = {
      read: async () => ({ paused: true }),
      pause: async () => undefined,
      resume: async () => 'cleared' as const,
    };
    const handler = createBreakerHandler({
      pauseSwitch: paused,
      eventSource: mapping,
      logger: { info: () => undefined, warn: () => undefined },
    });
    const alarm = (name: string): SNSEvent =>
      ({ Records: [{ Sns: { Message: JSON.stringify({ AlarmName: name, NewStateValue: 'ALARM' }) } }] }) as unknown as SNSEvent;
    // In flight after the first disable, the mapping stays Disabling while its pollers finish.
    pollers.busy = { receiving: 1, processing: 1 };
    await expect(Promise.all([handler(alarm('dispatcher:fan-in-limit')), handler(alarm('MailDispatch-FanInSpike'))])).resolves.toEqual([
      { paused: true },
      { paused: true },
    ]);
    expect(pollers.enabled).toBe(false);
  });
});

describe('the local mapping reads the SDK request body from its bytes (issue 19.13)', () => {
  it('enabling and disabling print no SDK warning about a string method on a Uint8Array body', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const { pollers, mapping } = setup();
      await mapping.disable();
      expect(pollers.enabled).toBe(false);
      await mapping.enable();
      expect(pollers.enabled).toBe(true);
      expect(warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('Uint8Array'))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });
});
