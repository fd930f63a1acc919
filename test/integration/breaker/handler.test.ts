import type { SNSEvent } from 'aws-lambda';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import type { EventSourceSwitch } from '../../../lambdas/ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';

jest.setTimeout(120_000);
let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => aws?.stop());

/** Stands in for the Lambda API's event source mapping, which no local emulator offers. */
class MappingSwitch implements EventSourceSwitch {
  enabled = true;
  calls = 0;
  async disable() {
    this.calls++;
    this.enabled = false;
  }
  async enable() {
    this.enabled = true;
  }
  async isEnabled() {
    return this.enabled;
  }
}

const alarm = (state: string): SNSEvent => ({
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn',
      Sns: {
        Message: JSON.stringify({ AlarmName: 'MailDispatch-FanInSpike', NewStateValue: state, NewStateReason: 'Threshold Crossed' }),
      } as SNSEvent['Records'][0]['Sns'],
    },
  ],
});

describe('breaker handler', () => {
  const quiet = { info: () => undefined, warn: () => undefined };

  it('pauses on ALARM: flag with the alarm name, mapping disabled; idempotent', async () => {
    const pauseSwitch = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
    const mapping = new MappingSwitch();
    const handler = createBreakerHandler({ pauseSwitch, eventSource: mapping, logger: quiet, now: () => new Date('2000-08-02T09:20:00Z') });
    await expect(handler(alarm('ALARM'))).resolves.toEqual({ paused: true });
    await expect(handler(alarm('ALARM'))).resolves.toEqual({ paused: true });
    expect(mapping.enabled).toBe(false);
    expect(await pauseSwitch.read()).toEqual({
      paused: true,
      cause: expect.objectContaining({
        reason: 'alarm',
        by: 'breaker',
        alarmName: 'MailDispatch-FanInSpike',
        at: '2000-08-02T09:20:00.000Z',
      }),
      version: expect.any(Number),
    });
  });

  it('does nothing on OK or INSUFFICIENT_DATA: resuming is an operator’s act', async () => {
    const mapping = new MappingSwitch();
    const pauseSwitch = { read: jest.fn(), pause: jest.fn(), resume: jest.fn() };
    const handler = createBreakerHandler({ pauseSwitch, eventSource: mapping, logger: quiet });
    await expect(handler(alarm('OK'))).resolves.toEqual({ paused: false });
    await expect(handler(alarm('INSUFFICIENT_DATA'))).resolves.toEqual({ paused: false });
    expect(mapping.calls).toBe(0);
    expect(pauseSwitch.pause).not.toHaveBeenCalled();
    expect(pauseSwitch.resume).not.toHaveBeenCalled();
  });

  it('still disables the mapping when the flag cannot be written, and fails so SNS retries', async () => {
    const mapping = new MappingSwitch();
    const pauseSwitch = { read: jest.fn(), pause: jest.fn().mockRejectedValue(new Error('throttled')), resume: jest.fn() };
    const handler = createBreakerHandler({ pauseSwitch, eventSource: mapping, logger: quiet });
    await expect(handler(alarm('ALARM'))).rejects.toThrow('could not fully pause');
    expect(mapping.enabled).toBe(false);
  });
});
