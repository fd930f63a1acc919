import { App } from 'aws-cdk-lib';
import { DispatchQueue } from '../../lib/constructs/dispatch-queue';
import { Dispatcher } from '../../lib/constructs/dispatcher';
import { MailIdentity } from '../../lib/constructs/mail-identity';
import { RegistryTables } from '../../lib/constructs/registry-tables';
import { DEFAULT_SETTINGS, readSettings } from '../../lib/settings';
import { DEFAULT_CONFIG, resolveConfig } from '../../lambdas/core/config';
import { DEFAULTS, FUNCTION_RANGES, RANGES } from '../../lambdas/core/defaults';
import { bareStack } from './support/stack-fixture';

/** A dispatcher with `props`, in a bare stack: the props are checked before anything is bundled. */
function buildDispatcher(props: Record<string, number>) {
  const { stack, key: encryptionKey } = bareStack();
  const queue = new DispatchQueue(stack, 'Queue', { encryptionKey });
  const tables = new RegistryTables(stack, 'Tables', { encryptionKey, enableBackupPlan: false });
  const mail = new MailIdentity(stack, 'Mail', { encryptionKey, fromAddress: DEFAULTS.fromAddress });
  return () =>
    new Dispatcher(stack, 'Dispatcher', {
      encryptionKey,
      queue: queue.queue,
      deadLetterQueue: queue.deadLetterQueue,
      maxReceiveCount: queue.maxReceiveCount,
      members: tables.members,
      ledger: tables.ledger,
      fromAddress: mail.fromAddress,
      configurationSetName: mail.configurationSet.configurationSetName,
      templatePrefix: mail.templatePrefix,
      ...props,
    });
}

const settingsWith = (context: Record<string, unknown>) => () => readSettings(new App({ context }).node);

describe('one home for every default and range (lambdas/core/defaults.ts)', () => {
  it('gives the CDK settings and the function config the same defaults', () => {
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) expect([key, value]).toEqual([key, DEFAULTS[key as keyof typeof DEFAULTS]]);
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      if (key in DEFAULTS) expect([key, value]).toEqual([key, DEFAULTS[key as keyof typeof DEFAULTS]]);
    }
  });

  // Before: settings refused fanInLimit 1001 and batchSize 10001, the function config and the
  // Dispatcher construct took any positive integer.
  it.each([
    ['fanInLimit', RANGES.fanInLimit.max + 1],
    ['batchSize', RANGES.batchSize.max + 1],
    ['maxReceiveCount', RANGES.maxReceiveCount.max + 1],
    ['fanInLimit', 0],
  ])('the context, the function config and the Dispatcher construct all refuse %s %d', (key, value) => {
    const message = new RegExp(`${key} must be an integer from \\d+ to \\d+ \\(got ${value}\\)`);
    expect(settingsWith({ [key]: value })).toThrow(message);
    expect(() => resolveConfig({ [key]: value })).toThrow(message);
    if (key !== 'maxReceiveCount') expect(buildDispatcher({ [key]: value })).toThrow(message);
  });

  it('the context and the Dispatcher construct refuse the same send rate and fan-in window', () => {
    const tooFast = RANGES.maxSendRatePerSecond.max + 1;
    const tooLong = RANGES.fanInWindowSeconds.max + 1;
    expect(settingsWith({ maxSendRatePerSecond: tooFast, fanInWindowSeconds: tooLong })).toThrow(
      /maxSendRatePerSecond.*fanInWindowSeconds|fanInWindowSeconds.*maxSendRatePerSecond/,
    );
    expect(buildDispatcher({ maxSendRatePerSecond: tooFast, fanInWindowSeconds: tooLong })).toThrow(
      /fanInWindowSeconds must be an integer from 60 .*maxSendRatePerSecond must be an integer from 1 to 100000/,
    );
  });

  it('the function alone accepts a fan-in window of seconds (the local runtime drives it with its clock)', () => {
    expect(resolveConfig({ fanInWindowSeconds: 4 }).fanInWindowSeconds).toBe(4);
    expect(FUNCTION_RANGES.fanInWindowSeconds.max).toBe(RANGES.fanInWindowSeconds.max);
    expect(settingsWith({ fanInWindowSeconds: 4 })).toThrow(/fanInWindowSeconds must be an integer from 60/);
  });

  it('the rules between settings are the same in the context and in the Dispatcher construct', () => {
    expect(settingsWith({ batchSize: 20, maxBatchingWindowSeconds: 0 })).toThrow(/batchSize above 10 needs maxBatchingWindowSeconds/);
    expect(settingsWith({ maxConcurrency: 10, dispatcherReservedConcurrency: 5 })).toThrow(/dispatcherReservedConcurrency must be 0/);
    expect(buildDispatcher({ maxConcurrency: 10, reservedConcurrentExecutions: 5 })).toThrow(/dispatcherReservedConcurrency must be 0/);
  });
});
