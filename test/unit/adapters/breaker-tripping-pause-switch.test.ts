import type { SNSEvent } from 'aws-lambda';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { BreakerTrippingPauseSwitch } from '../../../lambdas/adapters/breaker-tripping-pause-switch';
import { LambdaBreakerTrigger } from '../../../lambdas/adapters/lambda-breaker-trigger';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import type { PauseCause } from '../../../lambdas/ports';
import { InMemoryPauseSwitch } from '../../../local/in-memory-ports';

const cause: PauseCause = { reason: 'fan-in-limit', by: 'dispatcher', at: '2000-08-02T09:00:05.000Z', addressHash: 'ab12' };
const quiet = { info: () => undefined, warn: () => undefined };

/** Captures what the trigger sends instead of calling AWS. */
function capturingClient(fail = false) {
  const sent: { FunctionName?: string; InvocationType?: string; Payload?: Uint8Array }[] = [];
  const client = {
    send: async (command: { input: (typeof sent)[number] }) => {
      if (fail) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      sent.push(command.input);
      return {};
    },
  } as unknown as LambdaClient;
  return { client, sent };
}

describe('BreakerTrippingPauseSwitch', () => {
  it('sets the flag, then invokes the breaker asynchronously with a notification the breaker acts on', async () => {
    const flag = new InMemoryPauseSwitch();
    const { client, sent } = capturingClient();
    await new BreakerTrippingPauseSwitch(flag, new LambdaBreakerTrigger({ functionName: 'breaker-fn', client })).pause(cause);
    expect(await flag.read()).toEqual({ paused: true, cause, version: 1 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ FunctionName: 'breaker-fn', InvocationType: 'Event' });

    // The payload is what the breaker handler reads from SNS: it must pause on it.
    const event = JSON.parse(Buffer.from(sent[0].Payload!).toString()) as SNSEvent;
    let disabled = false;
    const breaker = createBreakerHandler({
      pauseSwitch: flag,
      eventSource: { disable: async () => void (disabled = true), enable: async () => undefined, isEnabled: async () => !disabled },
      logger: quiet,
    });
    await expect(breaker(event)).resolves.toEqual({ paused: true });
    expect(disabled).toBe(true);
    expect((await flag.read()).cause).toEqual(cause); // the dispatcher's cause stays the first one
  });

  it('keeps the flag set and reports, without failing the caller, when the breaker cannot be invoked', async () => {
    const flag = new InMemoryPauseSwitch();
    const errors: unknown[] = [];
    const { client } = capturingClient(true);
    await new BreakerTrippingPauseSwitch(flag, new LambdaBreakerTrigger({ functionName: 'breaker-fn', client }), (e) =>
      errors.push(e),
    ).pause(cause);
    expect((await flag.read()).paused).toBe(true);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('AccessDeniedException');
  });
});
