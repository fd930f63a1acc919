import { GetEventSourceMappingCommand, LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import type { EventSourceSwitch } from '../ports';

export interface LambdaEventSourceSwitchOptions {
  readonly mappingId: string;
  /** @default a client built from the environment */
  readonly client?: LambdaClient;
}

/** Pauses the dispatcher by disabling its SQS event source mapping: messages wait in the queue. */
export class LambdaEventSourceSwitch implements EventSourceSwitch {
  private readonly client: LambdaClient;

  constructor(private readonly options: LambdaEventSourceSwitchOptions) {
    this.client = options.client ?? new LambdaClient({});
  }

  disable(): Promise<void> {
    return this.setEnabled(false);
  }

  enable(): Promise<void> {
    return this.setEnabled(true);
  }

  async isEnabled(): Promise<boolean> {
    const mapping = await this.call('read', () => this.client.send(new GetEventSourceMappingCommand({ UUID: this.options.mappingId })));
    return mapping.State === 'Enabled' || mapping.State === 'Enabling' || mapping.State === 'Updating';
  }

  private async setEnabled(enabled: boolean): Promise<void> {
    await this.call(enabled ? 'enable' : 'disable', () => this.client.send(new UpdateEventSourceMappingCommand({ UUID: this.options.mappingId, Enabled: enabled })));
  }

  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new Error(`Cannot ${what} the event source mapping (${(error as { name?: string })?.name ?? 'Error'})`, { cause: error });
    }
  }
}
