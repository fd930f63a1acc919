/**
 * The SQS event source mapping as the Lambda API shows it: `UpdateEventSourceMapping` starts a
 * transition (`Disabling`, `Enabling`) that completes later; a call during a transition answers
 * `ResourceInUseException`.
 */
import { awsError } from './dynamo-model';

export type MappingState = 'Enabled' | 'Disabling' | 'Disabled' | 'Enabling';

/**
 * The longest a transition may last in the model (ms). AWS documents no bound; transitions of an
 * SQS mapping take seconds. The model lets one take up to a minute (any step of the scheduler's
 * choosing within it), and no longer: model time passing beyond it means the transition completed.
 */
export const MAX_TRANSITION_MS = 60_000;

export class MappingModel {
  state: MappingState = 'Enabled';
  readonly uuid = 'esm-model-0001';
  /** Model time by which the transition under way has completed (MAX_TRANSITION_MS after it began). */
  transitionEndsBy?: number;

  /**
   * @param instant transitions complete at once (no `Disabling` / `Enabling` step: fewer orderings)
   * @param now the model clock
   */
  constructor(
    private readonly instant = false,
    private readonly now: () => number = () => 0,
  ) {}

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
    this.transitionEndsBy = undefined;
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
        if (this.inTransition) this.transitionEndsBy = this.now() + MAX_TRANSITION_MS;
        if (this.instant) this.settle();
        return { UUID: this.uuid, State: this.state };
      }
      default:
        throw awsError('UnsupportedOperation', `The mapping model does not implement ${command}`, 400);
    }
  }
}
