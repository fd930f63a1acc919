/**
 * The SQS event source mapping as the Lambda API shows it: `UpdateEventSourceMapping` starts a
 * transition (`Disabling`, `Enabling`) that completes later; a call during a transition answers
 * `ResourceInUseException`.
 */
import { awsError } from './dynamo-model';

export type MappingState = 'Enabled' | 'Disabling' | 'Disabled' | 'Enabling';

export class MappingModel {
  state: MappingState = 'Enabled';
  readonly uuid = 'esm-model-0001';

  /** @param instant transitions complete at once (no `Disabling` / `Enabling` step: fewer orderings) */
  constructor(private readonly instant = false) {}

  /** Whether the mapping still polls (AWS keeps polling for a while during `Disabling`). */
  get polling(): boolean {
    return this.state === 'Enabled' || this.state === 'Disabling';
  }

  get inTransition(): boolean {
    return this.state === 'Disabling' || this.state === 'Enabling';
  }

  /** The transition completes. */
  settle(): void {
    if (this.state === 'Disabling') this.state = 'Disabled';
    else if (this.state === 'Enabling') this.state = 'Enabled';
  }

  execute(command: string, input: Record<string, any>): unknown {
    if (input.UUID !== this.uuid) throw awsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
    switch (command) {
      case 'GetEventSourceMappingCommand':
        return { UUID: this.uuid, State: this.state };
      case 'UpdateEventSourceMappingCommand': {
        if (this.inTransition) {
          throw awsError('ResourceInUseException', `Cannot update the event source mapping because it is in use (${this.state})`, 400);
        }
        if (input.Enabled === false && this.state === 'Enabled') this.state = 'Disabling';
        if (input.Enabled === true && this.state === 'Disabled') this.state = 'Enabling';
        if (this.instant) this.settle();
        return { UUID: this.uuid, State: this.state };
      }
      default:
        throw awsError('UnsupportedOperation', `The mapping model does not implement ${command}`, 400);
    }
  }
}
