import { loadAddressHashKey } from '../../lambdas/adapters/address-hash-key';
import { DynamoDbPauseSwitch } from '../../lambdas/adapters/dynamodb-pause-switch';
import type { EventSourceSwitch } from '../../lambdas/ports';
import type { EmbeddedAws } from '../../local/embedded-aws';
import type { AlarmStatus, OpsTarget } from '../../cli/src/ops/target';

/**
 * The ops CLI's `--local` target over embedded emulators, in this process, with the real pause
 * switch and an injected event source (a controllable fake where Lambda would be).
 */
export function opsTargetFor(
  aws: EmbeddedAws,
  options: { readonly eventSource?: EventSourceSwitch; readonly alarms?: () => AlarmStatus[]; readonly fanInAlarmName?: string } = {},
): OpsTarget {
  return {
    kind: 'local',
    name: 'local',
    tables: aws.tables,
    queueUrl: aws.queueUrl,
    deadLetterQueueUrl: aws.dlqUrl,
    fanInLimit: aws.config.fanInLimit,
    clients: aws.clients,
    pauseSwitch: new DynamoDbPauseSwitch({ ledgerTable: aws.tables.ledger, client: aws.clients.dynamodb }),
    eventSource: options.eventSource,
    fanInAlarmName: options.fanInAlarmName,
    hashKey: () => loadAddressHashKey(aws.env),
    alarms: async () => options.alarms?.(),
    oldestMessageAgeSeconds: async () => undefined,
    close: () => undefined,
  };
}
