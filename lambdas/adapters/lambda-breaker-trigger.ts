import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { BreakerTrigger, PauseCause } from '../ports';
import { AWS_CLIENT_CONFIG } from './sdk-clients';

export interface LambdaBreakerTriggerOptions {
  readonly functionName: string;
  /** @default a client built from the environment */
  readonly client?: LambdaClient;
}

/**
 * Invokes the breaker Lambda asynchronously with the notification shape it gets from SNS, so a
 * dispatcher-side pause disables the event source within seconds (Lambda's asynchronous queue,
 * then the breaker's own run) instead of waiting for the alarm, which in AWS follows minutes
 * later (EMF ingestion, then one evaluation per 60 s period) as the backstop, and which never
 * notifies again while it is already in ALARM (after a forced resume).
 */
export class LambdaBreakerTrigger implements BreakerTrigger {
  private readonly client: LambdaClient;

  constructor(private readonly options: LambdaBreakerTriggerOptions) {
    this.client = options.client ?? new LambdaClient(AWS_CLIENT_CONFIG);
  }

  async trip(cause: PauseCause): Promise<void> {
    const notification = {
      AlarmName: `${cause.by}:${cause.reason}`,
      NewStateValue: 'ALARM',
      NewStateReason: `paused by ${cause.by}: ${cause.reason}`,
      StateChangeTime: cause.at,
    };
    const event = {
      Records: [{ EventSource: 'mail-dispatch:dispatcher', Sns: { Message: JSON.stringify(notification), Timestamp: cause.at } }],
    };
    try {
      await this.client.send(
        new InvokeCommand({
          FunctionName: this.options.functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
    } catch (error) {
      throw new Error(`Cannot invoke the breaker (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
    }
  }
}
