import type { SNSEvent } from 'aws-lambda';
import { DynamoDbPauseSwitch } from '../../../lambdas/adapters/dynamodb-pause-switch';
import { createBreakerHandler } from '../../../lambdas/breaker/handler';
import type { EventSourceSwitch, PauseCause, PauseSwitch } from '../../../lambdas/ports';
import { startEmbeddedAws, type EmbeddedAws } from '../../../local/embedded-aws';
import { resumePipeline } from '../../../cli/src/ops/resume';
import type { OpsTarget } from '../../../cli/src/ops/target';
import { opsTargetFor } from '../../support/ops-target';

jest.setTimeout(120_000);

/**
 * The event source mapping, as a controllable fake (no emulator offers the Lambda API): each
 * call can run a hook first, to land another actor's step at exactly that point.
 */
class ControllableMapping implements EventSourceSwitch {
  enabled = false;
  readonly calls: string[] = [];
  beforeEnable?: () => Promise<void>;
  beforeDisable?: () => Promise<void>;
  async enable() {
    const hook = this.beforeEnable;
    this.beforeEnable = undefined;
    await hook?.();
    this.calls.push('enable');
    this.enabled = true;
  }
  async disable() {
    const hook = this.beforeDisable;
    this.beforeDisable = undefined;
    await hook?.();
    this.calls.push('disable');
    this.enabled = false;
  }
  async isEnabled() {
    return this.enabled;
  }
}

/** The real pause switch, with a hook before its next resume (the clear). */
class HookedPauseSwitch implements PauseSwitch {
  beforeResume?: () => Promise<void>;
  constructor(private readonly inner: DynamoDbPauseSwitch) {}
  read() {
    return this.inner.read();
  }
  pause(cause: PauseCause) {
    return this.inner.pause(cause);
  }
  async resume(...args: Parameters<PauseSwitch['resume']>) {
    const hook = this.beforeResume;
    this.beforeResume = undefined;
    await hook?.();
    return this.inner.resume(...args);
  }
}

const alarm: SNSEvent = {
  Records: [
    {
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: 'arn',
      Sns: {
        Message: JSON.stringify({ AlarmName: 'MailDispatch-FanInSpike', NewStateValue: 'ALARM', NewStateReason: 'Threshold Crossed' }),
      } as SNSEvent['Records'][0]['Sns'],
    },
  ],
};

describe('resume against a concurrent pause (real pause flag on DynamoDB Local, controllable mapping)', () => {
  let aws: EmbeddedAws;
  let flag: DynamoDbPauseSwitch;
  let hooked: HookedPauseSwitch;
  let mapping: ControllableMapping;
  let target: OpsTarget;
  const quiet = { info: () => undefined, warn: () => undefined };
  const breaker = () => createBreakerHandler({ pauseSwitch: flag, eventSource: mapping, logger: quiet });

  beforeAll(async () => {
    aws = await startEmbeddedAws();
    flag = new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb });
  });
  afterAll(async () => aws?.stop());
  beforeEach(async () => {
    mapping = new ControllableMapping();
    hooked = new HookedPauseSwitch(flag);
    target = { ...opsTargetFor(aws, { eventSource: mapping }), pauseSwitch: hooked };
    // A pipeline paused by the breaker: flag set, mapping disabled.
    await breaker()(alarm);
  });

  it("12.9: a pause that lands between resume's checks and its clear is not erased", async () => {
    // The flag is already set (the breaker): a second pause (the dispatcher's fan-in block) lands
    // after resume read the flag, before it clears it.
    hooked.beforeResume = () => flag.pause({ reason: 'fan-in-limit', by: 'dispatcher', at: new Date().toISOString(), addressHash: 'h1' });
    const result = await resumePipeline(target, { operator: 'alice', force: true, now: new Date() });
    expect(result).toMatchObject({ outcome: 'new-pause', mapping: 'not-enabled' });
    expect((await flag.read()).paused).toBe(true);
    expect(mapping.enabled).toBe(false);
    expect(mapping.calls).not.toContain('enable');
  });

  it('12.9: a pause that lands after the clear, before the mapping is enabled, is undone: the mapping is disabled again', async () => {
    // The breaker fires again between resume's clear and its enable: its flag write and its
    // disable both land before resume's enable.
    mapping.beforeEnable = async () => {
      await breaker()(alarm);
    };
    const result = await resumePipeline(target, { operator: 'alice', force: true, now: new Date() });
    expect(result).toMatchObject({ outcome: 'new-pause', mapping: 'disabled-again', newCause: { by: 'breaker', reason: 'alarm' } });
    expect((await flag.read()).paused).toBe(true);
    expect(mapping.enabled).toBe(false);
  });

  it("12.9: a breaker disable racing resume's enable: whatever the order, flag set means mapping disabled", async () => {
    // The breaker's disable reaches the mapping first; resume's enable after it; the breaker's
    // flag write lands after resume's clear. The breaker writes the flag before it disables, so
    // its disable can never come before its own flag.
    mapping.beforeEnable = () => breaker()(alarm).then(() => undefined);
    await resumePipeline(target, { operator: 'alice', force: true, now: new Date() });
    expect((await flag.read()).paused).toBe(true);
    expect(mapping.enabled).toBe(false);
  });

  it('12.9: the breaker sets the flag before it disables the mapping', async () => {
    await resumePipeline(target, { operator: 'alice', force: true, now: new Date() });
    const order: string[] = [];
    mapping.beforeDisable = async () => void order.push(`disable (flag ${(await flag.read()).paused ? 'set' : 'clear'})`);
    await breaker()(alarm);
    expect(order).toEqual(['disable (flag set)']);
  });

  it('12.9: a resume with nothing in between clears the flag and enables the mapping', async () => {
    await expect(resumePipeline(target, { operator: 'alice', force: true, now: new Date() })).resolves.toMatchObject({
      outcome: 'resumed',
      mapping: 'enabled',
    });
    expect((await flag.read()).paused).toBe(false);
    expect(mapping.enabled).toBe(true);
  });
});
